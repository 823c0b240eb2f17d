"""Building blocks shared by every trained encoder: node input embedding, pooling, heads."""

from __future__ import annotations

import torch
from torch import nn

from nar_data import vocab

from ..data import HASH_BUCKETS, NUM_FEATURES

__all__ = ["Heads", "NodeInput", "pool"]


class NodeInput(nn.Module):
    """Node features -> ``hidden``: vocab-id embedding + op-name-hash embedding + linear(shape attrs).

    Shapes:
        op, oph: (N,) long; xn: (N, NUM_FEATURES) -> (N, hidden)
    """

    def __init__(self, hidden: int, vocab_size: int | None = None) -> None:
        super().__init__()
        self.vocab_size = vocab_size or vocab.vocab_size()
        self.op = nn.Embedding(self.vocab_size, hidden)
        self.oph = nn.Embedding(HASH_BUCKETS, hidden)
        self.num = nn.Linear(NUM_FEATURES, hidden)

    def forward(self, op: torch.Tensor, oph: torch.Tensor, xn: torch.Tensor) -> torch.Tensor:
        op = op.clamp(max=self.vocab_size - 1)  # a newer vocabulary than the checkpoint's: unknown ids
        return self.op(op) + self.oph(oph) + self.num(xn)


def pool(h: torch.Tensor, batch: torch.Tensor, size: int) -> torch.Tensor:
    """Mean and max pooling concatenated: (N, H) -> (size, 2H)."""
    from torch_geometric.nn import global_max_pool, global_mean_pool

    return torch.cat([global_mean_pool(h, batch, size), global_max_pool(h, batch, size)], dim=-1)


class Heads(nn.Module):
    """Projection head (for SupCon; retrieval uses the embedding before it) and coarse classifier."""

    def __init__(self, dim: int, num_coarse: int) -> None:
        super().__init__()
        self.project = nn.Sequential(nn.Linear(dim, dim), nn.ReLU(), nn.Linear(dim, dim))
        self.classify = nn.Linear(dim, max(num_coarse, 1))
