"""``nar``: structure tokens -> a basis fit on the graphs given -> a neighbourhood stage (what ships).

Each graph is a bag of structure tokens (`tokens.TokenFeaturizer`): the WL subtree labels of the canonical
view's op graph (nodes labelled by op plus the size-free node attributes), of its macro graph of BPE motifs
(the paper's motif stage, as a vocabulary), of the same op graph with every attribute (sizes), and of the
stored graph's op graph; each channel an L2-normalised histogram of token presence. The encoder fits, on the
graphs it is given (labels not needed),

* the motif vocabulary (BPE merges),
* a basis ``B`` (``dim`` columns): the top right singular vectors of their token rows (latent semantic
  analysis over architectures, from the Gram matrix),
* the memory of their base vectors ``normalize(x @ B @ M)`` for the neighbourhood stage: every embedded vector
  becomes ``normalize(z + alpha * sum_j s_j m_j)`` over its ``k`` nearest memory vectors (database-side query
  expansion; ``token_smooth_k`` / ``token_smooth_alpha``), and
* optionally (``token_epochs > 0``) a map ``M`` (``dim x dim``, started at identity) trained with
  supervised contrastive losses on the families plus a weaker one on the coarse kind, pulled towards
  identity by ``token_reg``. Off by default: on held-out families it loses (docs/retrieval.md).

The stored vector is ``dim`` (default 512) float32, no histogram padded in.

Shapes:
    B graphs -> tokens (B, channels * buckets) -> (B, dim)
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from nar_data.schema import Graph

from ..data import GraphSet
from ..losses import supervised_contrastive
from ..tokens import TokenFeaturizer
from ..train import balanced_batches, progress_bar, seed_everything
from . import register_encoder
from ._base import Encoder, LabelMap, l2_normalize

__all__ = ["NAR_STATE_VERSION", "NAREncoder", "TokenNet", "block_basis", "parse_blocks", "token_basis"]

#: Version of the `nar` token state: 2 = canonical view + size channel (nar_model/canon.py); 3 = the token
#: ``tf`` (binary presence) and the stored graph's motif vocabulary are part of the state. A version-2 state
#: reads as it was written (log1p counts); a checkpoint of version 1 is refused with a hint to re-train: its
#: vectors are not comparable with today's.
#: 4 = the level-2 canonical view, depth-classed size tokens, the input channel and a basis per block of
#: channels (the featuriser's and the basis' state say so; a version-3 state reads as it was written).
#: 5 = the level-3 canonical view (``l2_normalize`` fused, parallel copies merged through it: cosine attention);
#: a version-4 state carries canon level 2 in its featuriser and reads and scores as it was written.
#: 6 = the stored graph's op channel (``raw``) at share 0.75 instead of 1 (the shares are part of the
#: featuriser's state, so a version-5 state reads and scores as it was written).
NAR_STATE_VERSION = 6
READABLE_VERSIONS = (2, 3, 4, 5, 6)


def token_basis(x: np.ndarray, dim: int, kind: str = "svd", seed: int = 0) -> np.ndarray:
    """(F, dim) projection of token rows ``x`` (N, F): top right singular vectors, or random Gaussian.

    ``svd`` is exact for ranking when the database lies in the span of ``x`` (a query's part outside it
    scales all its cosines alike); columns beyond the rank of ``x`` are zero. With fewer rows than columns
    (the usual case: a few thousand graphs, 16 384 token buckets) it is computed from the (N, N) Gram matrix:
    ``x x^T = U diag(s^2) U^T`` gives ``V = x^T U / s``, the same vectors at a fraction of a full SVD's cost.
    ``random`` is the Johnson-Lindenstrauss sketch (cosine error about ``1/sqrt(dim)``), kept as an ablation.
    """
    if kind == "random":
        return (np.random.default_rng(seed).standard_normal((x.shape[1], dim)) / np.sqrt(dim)).astype(np.float32)
    if kind != "svd":
        raise ValueError(f"Unknown token_basis {kind!r}; valid: svd, random")
    out = np.zeros((x.shape[1], dim), dtype=np.float32)
    if len(x):
        x = np.asarray(x, dtype=np.float32)
        if x.shape[0] <= x.shape[1]:
            lam, u = np.linalg.eigh((x @ x.T).astype(np.float64))
            lam, u = lam[::-1], u[:, ::-1]
            sv = np.sqrt(np.maximum(lam, 0.0))
            r = min(dim, int(np.sum(sv > 1e-6 * max(sv[0], 1e-12))))
            out[:, :r] = (x.T.astype(np.float64) @ (u[:, :r] / sv[:r])).astype(np.float32)
        else:
            _, sv, vt = np.linalg.svd(x.astype(np.float64), full_matrices=False)
            r = min(dim, int(np.sum(sv > 1e-6 * max(sv[0], 1e-12))))
            out[:, :r] = vt[:r].T
    return out


def parse_blocks(spec: str, channels: Sequence[str], dim: int) -> list[tuple[tuple[str, ...], int]]:
    """``"op+raw=160,motif=64"`` -> ``[(("op", "raw"), 160), (("motif",), 64)]`` over the selected ``channels``.

    A block none of whose channels is selected is left out; the dims not given (``dim`` minus the blocks')
    go to the first block, and an embedding smaller than the blocks' sum keeps their proportions; every
    selected channel must be in a block. ``""`` = one block of every channel."""
    if not spec.strip():
        return [(tuple(channels), dim)]
    blocks, seen = [], set()
    for part in spec.split(","):
        name, _, d = part.partition("=")
        names = tuple(c.strip() for c in name.split("+") if c.strip() in channels)
        if names:
            blocks.append((names, int(d)))
            seen.update(names)
    missing = [c for c in channels if c not in seen]
    if missing or not blocks:
        raise ValueError(f"token_blocks {spec!r} gives no dims to channels {missing or list(channels)}")
    total = sum(d for _, d in blocks)
    if total > dim:  # a smaller embedding: the same proportions
        blocks = [(names, max(1, d * dim // total)) for names, d in blocks]
        total = sum(d for _, d in blocks)
        if total > dim:
            raise ValueError(f"token_blocks {spec!r} has more blocks than the embedding's {dim} dims")
    blocks[0] = (blocks[0][0], blocks[0][1] + dim - total)
    return blocks


def block_basis(x: np.ndarray, channels: Sequence[str], buckets: int, spec: str, dim: int, kind: str = "svd",
                seed: int = 0) -> np.ndarray:
    """(F, dim) block-diagonal basis: a `token_basis` of each block's columns of ``x`` (`parse_blocks`).

    One SVD of every channel spends its dims on the directions of largest variance, the family-level ones;
    the width-and-depth tokens that tell a twin from its family's other sizes get few. A block of its own
    keeps them (library set: twin hit@5 .75 with one SVD, .89 with blocks; docs/results-retrieval.md)."""
    out = np.zeros((x.shape[1], dim), dtype=np.float32)
    col = 0
    for names, d in parse_blocks(spec, channels, dim):
        rows = np.concatenate([np.arange(buckets) + channels.index(c) * buckets for c in names])
        out[np.ix_(rows, np.arange(col, col + d))] = token_basis(x[:, rows], d, kind, seed)
        col += d
    return out


class TokenNet(nn.Module):
    """``h = (x @ B) @ M``: fixed basis ``B`` (F, dim), learned map ``M`` (dim, dim) started at identity."""

    def __init__(self, basis: torch.Tensor) -> None:
        super().__init__()
        dim = basis.shape[1]
        self.register_buffer("basis", basis)
        self.M = nn.Parameter(torch.eye(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x @ self.basis) @ self.M

    def penalty(self) -> torch.Tensor:
        return ((self.M - torch.eye(len(self.M))) ** 2).sum()


@register_encoder("nar")
class NAREncoder(Encoder):
    """Ours, as shipped: WL/motif structure tokens -> basis fit on the training graphs (+ optional map)."""

    def _featurizer(self) -> TokenFeaturizer:
        return TokenFeaturizer.from_config(self.config)

    def fit(self, graphs: GraphSet, progress: bool = False) -> "NAREncoder":
        """Motif vocabulary, idf and basis from every graph given; the map from the labelled ones."""
        c = self.config
        seed_everything(c.seed)
        self.features = self._featurizer()
        x = self.features.fit_transform(graphs.graphs)
        self.families, self.coarse_map = LabelMap(graphs.families), LabelMap(graphs.coarse)
        f = self.features
        self.net = TokenNet(torch.from_numpy(block_basis(x, list(f.channels), f.buckets, c.token_blocks, c.dim,
                                                         c.token_basis, c.seed)))
        self._train_map(x, graphs, progress)
        self.smooth = (max(int(c.token_smooth_k), 0), float(c.token_smooth_alpha))
        self.memory = None
        if self.smooth[0] > 0:  # the neighbourhood stage reads the fitted graphs' base vectors
            self.memory = torch.from_numpy(self._base(x))
        return self

    def _train_map(self, x: np.ndarray, graphs: GraphSet, progress: bool) -> None:
        c = self.config
        fam, crs = self.families(graphs.families), self.coarse_map(graphs.coarse)
        labelled = np.flatnonzero(fam >= 0)
        if c.token_epochs <= 0 or len(labelled) < 2:
            return
        xt, fam_t, crs_t = torch.from_numpy(x), torch.as_tensor(fam), torch.as_tensor(crs)
        opt = torch.optim.Adam(self.net.parameters(), lr=c.token_lr)
        rng = np.random.default_rng(c.seed)
        with progress_bar(c.token_epochs, "training nar (token map)", progress) as bar:
            for epoch in range(c.token_epochs):
                start, total, steps = time.perf_counter(), 0.0, 0
                for b in balanced_batches(fam[labelled], c.batch_size, rng):
                    idx = torch.from_numpy(labelled[b])
                    h = self.net(xt[idx])
                    loss = supervised_contrastive(h, fam_t[idx], c.temperature)
                    if c.ce_weight > 0:  # same coarse kind: the weaker, grade-1 notion of similar
                        loss = loss + c.ce_weight * supervised_contrastive(h, crs_t[idx], 3 * c.temperature)
                    loss = loss + c.token_reg * self.net.penalty()
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                    total, steps = total + loss.item(), steps + 1
                self.history.append({"stage": 2, "epoch": epoch, "loss": total / max(steps, 1),
                                     "seconds": time.perf_counter() - start})
                bar.advance(loss=total / max(steps, 1))

    @torch.no_grad()
    def _base(self, x: np.ndarray) -> np.ndarray:
        """(B, dim) L2-normalised ``x @ B @ M``: the vector before the neighbourhood stage."""
        return l2_normalize(self.net(torch.from_numpy(x)).numpy())

    def _smoothed(self, z: np.ndarray) -> np.ndarray:
        """The neighbourhood stage: ``z + alpha * sum_j s_j m_j`` over the ``k`` fitted graphs ``m_j`` nearest to
        ``z`` (cosine ``s_j > 0``; a fitted graph with ``z``'s own tokens, ``s >= 1 - 1e-6``, is ``z`` itself and
        skipped, so a fitted graph embeds the same whether it is embedded at fit time or later)."""
        k, alpha = getattr(self, "smooth", (0, 0.0))
        memory = getattr(self, "memory", None)
        if k <= 0 or memory is None or not len(memory) or not len(z):
            return z
        m = memory.numpy()
        s = z @ m.T
        masked = np.where(s >= 1 - 1e-6, -np.inf, s)
        k = min(k, m.shape[0])
        nn = np.argpartition(-masked, k - 1, axis=1)[:, :k]
        w = np.take_along_axis(masked, nn, 1)
        w = np.where(np.isfinite(w), np.maximum(w, 0.0), 0.0).astype(np.float32)
        return l2_normalize(z + alpha * np.einsum("bk,bkd->bd", w, m[nn]))

    @property
    def embedding_size(self) -> int:
        return self.config.dim

    @torch.no_grad()
    def embed(self, graphs: Sequence[Graph], batch_size: int = 256) -> np.ndarray:
        out = []
        for i in range(0, len(graphs), batch_size):
            out.append(self._smoothed(self._base(self.features.transform(graphs[i:i + batch_size]))))
        return np.concatenate(out) if out else np.zeros((0, self.config.dim), dtype=np.float32)

    def state(self) -> dict[str, Any]:
        return {"kind": "tokens", "version": NAR_STATE_VERSION, "features": self.features.to_dict(), "basis": self.net.basis.clone(),
                "M": self.net.M.detach().clone(), "coarse": self.coarse_map.names, "families": self.families.names,
                "smooth": list(getattr(self, "smooth", (0, 0.0))),
                "memory": self.memory.clone() if getattr(self, "memory", None) is not None else None}

    def load_state(self, state: dict[str, Any]) -> "NAREncoder":
        if state.get("kind") != "tokens":
            raise ValueError("This checkpoint holds the earlier motif -> macro-graph `nar` network (now `nar-paper`); "
                             "re-train it with `nar train --data DIR --ckpt CKPT` (or load it as nar-paper)")
        if state.get("version", 1) not in READABLE_VERSIONS:
            raise ValueError(f"This `nar` checkpoint holds token state version {state.get('version', 1)}; this nar "
                             f"reads version {NAR_STATE_VERSION} (canonical view + size tokens, docs/retrieval.md). "
                             "Re-train it with `nar train --data DIR` (or rebuild the demo with `make run`) and "
                             "re-embed with `nar embed --data DIR`")
        self.features = TokenFeaturizer.from_dict(state["features"])
        self.coarse_map, self.families = LabelMap(state["coarse"]), LabelMap(state["families"])
        self.net = TokenNet(state["basis"])
        with torch.no_grad():
            self.net.M.copy_(state["M"])
        k, alpha = state.get("smooth", (0, 0.0))
        self.smooth, self.memory = (int(k), float(alpha)), state.get("memory")
        return self
