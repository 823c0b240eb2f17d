"""Flat-graph baselines: GCN, GAT (PyG ``GATConv``) and GIN on the whole operator graph.

They share with ``nar`` the node features (`NodeInput`), embedding size, hidden width, depth,
pooling, loss (SupCon on family + coarse CE) and training budget (docs/method.md §7.14); only the
message passing differs. Edges are used in both directions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from nar_data.schema import Graph

from ..data import GraphSet, to_data
from ..train import fit_graph_level, seed_everything
from . import register_encoder
from ._base import Encoder, LabelMap, l2_normalize
from .layers import Heads, NodeInput, pool

__all__ = ["FlatGNN", "FlatEncoder", "GCNEncoder", "GATEncoder", "GINEncoder"]


class FlatGNN(nn.Module):
    """``layers`` convolutions of ``kind`` over the undirected op graph, mean+max pool, linear to ``dim``.

    Shapes:
        batch of N nodes, B graphs -> (B, dim)
    """

    def __init__(self, kind: str, hidden: int, dim: int, layers: int, num_coarse: int, heads: int = 4,
                 dropout: float = 0.0, vocab_size: int | None = None) -> None:
        super().__init__()
        from torch_geometric.nn import GATConv, GCNConv, GINConv

        self.kind = kind
        self.input = NodeInput(hidden, vocab_size)
        convs = []
        for _ in range(layers):
            if kind == "gcn":
                convs.append(GCNConv(hidden, hidden))
            elif kind == "gat":
                convs.append(GATConv(hidden, hidden // heads, heads=heads, concat=True))
            elif kind == "gin":
                convs.append(GINConv(nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, hidden)),
                                     train_eps=True))
            else:
                raise ValueError(f"Unknown flat GNN {kind!r}; valid kinds: gcn, gat, gin")
        self.convs = nn.ModuleList(convs)
        self.norms = nn.ModuleList(nn.LayerNorm(hidden) for _ in range(layers))
        self.dropout = dropout
        self.out = nn.Linear(2 * hidden * (layers + 1), dim)
        self.heads = Heads(dim, num_coarse)

    def forward(self, batch: Any) -> torch.Tensor:
        ei = batch.edge_index
        ei = torch.cat([ei, ei.flip(0)], dim=1)  # both directions
        h = self.input(batch.op, batch.oph, batch.xn)  # (N, hidden)
        size = int(batch.num_graphs)
        pooled = [pool(h, batch.batch, size)]
        for conv, norm in zip(self.convs, self.norms):
            h = h + torch.relu(norm(conv(h, ei)))  # residual keeps deep stacks of tiny graphs stable
            h = nn.functional.dropout(h, self.dropout, self.training)
            pooled.append(pool(h, batch.batch, size))
        return self.out(torch.cat(pooled, dim=-1))  # (B, dim), jumping-knowledge readout


def _collate(items: list[Any]) -> Any:
    from torch_geometric.data import Batch

    return Batch.from_data_list(items)


class FlatEncoder(Encoder):
    """A `FlatGNN` of kind ``self.name`` trained with the shared loop."""

    def _build(self, num_coarse: int) -> FlatGNN:
        c = self.config
        return FlatGNN(self.name, c.hidden, c.dim, c.layers, num_coarse, c.heads, c.dropout)

    def fit(self, graphs: GraphSet, progress: bool = False) -> "FlatEncoder":
        seed_everything(self.config.seed)
        self.families, self.coarse_map = LabelMap(graphs.families), LabelMap(graphs.coarse)
        self.model = self._build(len(self.coarse_map))
        items = [to_data(g, x=False) for g in graphs.graphs]
        self.history = fit_graph_level(self.model, items, self.families(graphs.families),
                                       self.coarse_map(graphs.coarse), self.config, _collate, self.model,
                                       progress)
        return self

    @torch.no_grad()
    def embed(self, graphs: Sequence[Graph], batch_size: int = 256) -> np.ndarray:
        self.model.eval()
        out = []
        for i in range(0, len(graphs), batch_size):
            out.append(self.model(_collate([to_data(g, x=False) for g in graphs[i:i + batch_size]])).numpy())
        return l2_normalize(np.concatenate(out) if out else np.zeros((0, self.config.dim)))

    def state(self) -> dict[str, Any]:
        return {"weights": self.model.state_dict(), "coarse": self.coarse_map.names,
                "families": self.families.names, "vocab_size": self.model.input.vocab_size}

    def load_state(self, state: dict[str, Any]) -> "FlatEncoder":
        self.coarse_map, self.families = LabelMap(state["coarse"]), LabelMap(state["families"])
        c = self.config
        self.model = FlatGNN(self.name, c.hidden, c.dim, c.layers, len(self.coarse_map), c.heads, c.dropout,
                             vocab_size=state["vocab_size"])
        self.model.load_state_dict(state["weights"])
        return self


@register_encoder("gcn")
class GCNEncoder(FlatEncoder):
    """GCN (Kipf & Welling) on the flat op graph."""


@register_encoder("gat")
class GATEncoder(FlatEncoder):
    """GAT (``GATConv``, ``heads`` heads concatenated) on the flat op graph."""


@register_encoder("gin")
class GINEncoder(FlatEncoder):
    """GIN (sum aggregation, 2-layer MLP) on the flat op graph."""
