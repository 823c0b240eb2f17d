"""The graph VAE over cells: dense GCN encoder, MLP decoders for adjacency and node features, repair.

Encoder: 4 dense GCN layers on the 9-node encoding (`encode_cell`; global node first) with the symmetric
normalised adjacency plus self loops; node states are concatenated in node order (not pooled), so the
latent keeps which node is which and the decoder can put every edge back in place. Decoders: an MLP from
the latent to the 28 upper-triangular edges of the 8 cell nodes, and one to the op (10), kernel (3) and SE
logits of the 6 operation nodes (the global, input and output rows of the 15 features are fixed).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .cell import KERNELS, NODES, NUM_FEATURES, OPS, Cell, decode_cell, encode_cell

__all__ = ["GVAE", "VAEConfig", "cells_to_tensors", "fit_vae", "reconstruction_accuracy"]

OP_NODES = NODES - 2
_TRIU = np.triu_indices(NODES, 1)


@dataclass(frozen=True)
class VAEConfig:
    hidden: int = 128  # the paper's 512, scaled for a 2-core CPU
    latent: int = 64  # the paper's 256
    layers: int = 4
    beta: float = 1e-4
    epochs: int = 10  # on ~20 k cells (the paper's training-set size): 99.98 % held-out op accuracy
    batch_size: int = 128
    lr: float = 3e-3
    seed: int = 0
    #: Latent shaping: a linear head reads a condition vector (``cond_dim`` numbers, e.g. the PCA of a cell's
    #: retrieval embedding) off the latent mean, trained with weight ``cond_weight`` on the cells that have
    #: one, so cells with similar conditions get nearby latents (the paper pre-trains its G-VAE on a metric
    #: space of graphs in the same spirit). 0 = a plain VAE.
    cond_dim: int = 0
    cond_weight: float = 0.0


def cells_to_tensors(cells: Sequence[Cell]) -> dict[str, torch.Tensor]:
    """Encoder inputs (``adj`` (B,9,9), ``x`` (B,9,15)) and decoder targets (``edges`` (B,28), ``ops``,
    ``kernels``, ``se`` (B,6))."""
    enc = [encode_cell(c) for c in cells]
    return {"adj": torch.from_numpy(np.stack([a for a, _ in enc])),
            "x": torch.from_numpy(np.stack([x for _, x in enc])),
            "edges": torch.from_numpy(np.stack([c.matrix[_TRIU] for c in cells]).astype(np.float32)),
            "ops": torch.tensor([c.ops for c in cells]),
            "kernels": torch.tensor([[KERNELS.index(k) for k in c.kernels] for c in cells]),
            "se": torch.tensor([c.se for c in cells], dtype=torch.float32)}


class GVAE(nn.Module):
    def __init__(self, config: VAEConfig = VAEConfig()) -> None:
        super().__init__()
        self.config = config
        h, z = config.hidden, config.latent
        dims = [NUM_FEATURES] + [h] * config.layers
        self.gcn = nn.ModuleList([nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:])])
        # A node's own state beside the neighbourhood mean: the global node makes plain GCN oversmooth.
        self.self_loop = nn.ModuleList([nn.Linear(a, b, bias=False) for a, b in zip(dims[:-1], dims[1:])])
        # The raw encoding beside the GCN states: the latent can then carry every bit almost linearly
        # (held-out accuracy was ~20 % per op without it, in the same training time).
        self.to_stats = nn.Linear((NODES + 1) * (h + NUM_FEATURES) + len(_TRIU[0]), 2 * z)
        with torch.no_grad():  # start with little posterior noise, or it drowns the tiny initial means
            self.to_stats.bias[z:].fill_(-6.0)
        self.dec_adj = nn.Sequential(nn.Linear(z, 2 * h), nn.ReLU(), nn.Linear(2 * h, 2 * h), nn.ReLU(),
                                     nn.Linear(2 * h, len(_TRIU[0])))
        self.dec_x = nn.Sequential(nn.Linear(z, 2 * h), nn.ReLU(), nn.Linear(2 * h, 2 * h), nn.ReLU(),
                                   nn.Linear(2 * h, OP_NODES * (len(OPS) + len(KERNELS) + 1)))
        self.cond_head = nn.Linear(z, config.cond_dim) if config.cond_dim else None

    def encode(self, adj: torch.Tensor, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(mu, logvar), each (B, latent)."""
        a = adj + adj.transpose(1, 2) + torch.eye(adj.shape[1])
        d = a.sum(-1).rsqrt()
        a = d[:, :, None] * a * d[:, None, :]
        h = x
        for layer, own in zip(self.gcn, self.self_loop):
            h = torch.relu(layer(a @ h) + own(h))
        raw = [x.flatten(1), adj[:, 1:, 1:][:, _TRIU[0], _TRIU[1]]]
        mu, logvar = self.to_stats(torch.cat([h.flatten(1), *raw], -1)).chunk(2, -1)
        return mu, logvar.clamp(-10, 5)

    def decode(self, z: torch.Tensor) -> dict[str, torch.Tensor]:
        """Logits: ``edges`` (B,28), ``ops`` (B,6,10), ``kernels`` (B,6,3), ``se`` (B,6)."""
        f = self.dec_x(z).view(-1, OP_NODES, len(OPS) + len(KERNELS) + 1)
        return {"edges": self.dec_adj(z), "ops": f[..., :len(OPS)], "kernels": f[..., len(OPS):-1], "se": f[..., -1]}

    def loss(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
        mu, logvar = self.encode(batch["adj"], batch["x"])
        z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
        out = self.decode(z)
        bce = nn.functional.binary_cross_entropy_with_logits
        rec = (bce(out["edges"], batch["edges"], reduction="sum")
               + nn.functional.cross_entropy(out["ops"].flatten(0, 1), batch["ops"].flatten(), reduction="sum")
               + nn.functional.cross_entropy(out["kernels"].flatten(0, 1), batch["kernels"].flatten(), reduction="sum")
               + bce(out["se"], batch["se"], reduction="sum")) / len(mu)
        kl = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(-1).mean()
        total = rec + self.config.beta * kl
        stats = {"rec": float(rec.detach()), "kl": float(kl.detach())}
        if self.cond_head is not None and "cond" in batch:
            known = batch["known"]
            err = (self.cond_head(mu) - batch["cond"]).pow(2).sum(-1)
            cond = (err * known).sum() / known.sum().clamp_min(1.0)
            total = total + self.config.cond_weight * cond
            stats["cond"] = float(cond.detach())
        return total, stats

    @torch.no_grad()
    def embed_cells(self, cells: Sequence[Cell]) -> torch.Tensor:
        """Latent means (B, latent)."""
        t = cells_to_tensors(cells)
        return self.encode(t["adj"], t["x"])[0]

    @torch.no_grad()
    def decode_cells(self, z: torch.Tensor, fix: bool = True) -> list[Cell]:
        """Most likely cell of each latent row (edges at p > 0.5); ``fix`` applies `repair`."""
        out = self.decode(z)
        edges = (out["edges"] > 0).numpy()
        ops, kernels = out["ops"].argmax(-1).numpy(), out["kernels"].argmax(-1).numpy()
        se = (out["se"] > 0).numpy()
        cells = []
        for b in range(len(z)):
            m = np.zeros((NODES, NODES), dtype=np.int64)
            m[_TRIU] = edges[b]
            cells.append(decode_cell(m, ops[b], kernels[b], se[b], fix=fix))
        return cells


def fit_vae(cells: Sequence[Cell], config: VAEConfig = VAEConfig(), log: callable | None = None,
            cond: torch.Tensor | None = None, known: torch.Tensor | None = None) -> GVAE:
    """Train a `GVAE` on ``cells`` with Adam; ``log(epoch, stats)`` after each epoch. With
    ``config.cond_dim``: ``cond`` (N, cond_dim) are the cells' condition vectors and ``known`` (N,) marks the
    rows that have one (the latent-shaping term of `VAEConfig`)."""
    torch.manual_seed(config.seed)
    model = GVAE(config)
    data = cells_to_tensors(cells)
    if config.cond_dim and cond is not None:
        data["cond"] = cond.float()
        data["known"] = torch.ones(len(cells)) if known is None else known.float()
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(config.epochs, 1))
    gen = torch.Generator().manual_seed(config.seed)
    n = len(cells)
    for epoch in range(config.epochs):
        model.train()
        perm = torch.randperm(n, generator=gen)
        tot: dict[str, float] = {}
        for i in range(0, n, config.batch_size):
            idx = perm[i:i + config.batch_size]
            loss, stats = model.loss({k: v[idx] for k, v in data.items()})
            opt.zero_grad()
            loss.backward()
            opt.step()
            for k, v in stats.items():
                tot[k] = tot.get(k, 0.0) + v * len(idx) / n
        sched.step()
        if log:
            log(epoch, tot)
    model.eval()
    return model


def reconstruction_accuracy(model: GVAE, cells: Sequence[Cell]) -> dict[str, float]:
    """On latent means: per-node op accuracy, whole-adjacency accuracy (all 28 edges right), whole-cell."""
    t = cells_to_tensors(cells)
    with torch.no_grad():
        out = model.decode(model.encode(t["adj"], t["x"])[0])
    ops_ok = out["ops"].argmax(-1) == t["ops"]
    adj_ok = ((out["edges"] > 0).float() == t["edges"]).all(-1)
    k_ok = out["kernels"].argmax(-1) == t["kernels"]
    se_ok = (out["se"] > 0).float() == t["se"]
    cell_ok = adj_ok & ops_ok.all(-1) & k_ok.all(-1) & se_ok.all(-1)
    return {"op_acc": float(ops_ok.float().mean()), "adj_acc": float(adj_ok.float().mean()),
            "kernel_acc": float(k_ok.float().mean()), "se_acc": float(se_ok.float().mean()),
            "cell_acc": float(cell_ok.float().mean())}
