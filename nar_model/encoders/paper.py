"""``nar-paper``: the two-stage Neural Architecture Retrieval encoder as the paper designs it.

Pipeline (docs/method.md §2-3 with the fixes of §7):

1. **Motifs**: a global `MotifVocab` is learned on the training graphs (BPE-style merging of node
   codes in topological order) and every graph is cut into motif occurrences (`Segmentation`).
2. **Stage 1, motif level**: a motif encoder (GIN over the motif's own edges, pooled per motif) and a
   context encoder (GIN over the whole graph, pooled over the motif's ``k``-hop context outside it)
   are trained with InfoNCE (temperature ``t``): a motif must pick its own context among the
   contexts of motifs of *other* graphs in the batch (other occurrences of the same motif masked).
3. **Stage 2, graph level**: the macro graph (one node per motif occurrence, weighted quotient edges,
   read in both directions) gets node features ``[motif embedding (frozen), motif-key embedding,
   log motif size]``; a direction-aware GNN (PyG ``GraphConv`` per direction) with mean+max readout
   gives the architecture embedding, trained with SupCon over families on a projection head plus
   coarse-label cross-entropy. ``end_to_end=True`` lets this loss train the motif encoder too.
4. **Embedding**: the learned vector, L2-normalised, next to training-free structure channels, each a
   hashed WL histogram (`labelled_wl_histogram`): ``op`` over the op graph, ``macro`` over the macro graph
   with nodes labelled by their global motif id. With weights ``sqrt(w)`` for the learned part and
   ``sqrt((1 - w) / C)`` for each of the C channels, the cosine of two embeddings is exactly
   ``w * cos(learned) + (1 - w) * mean(cos(channel))``, ``w = 1 - hist_weight``. The learned part
   generalises across families (it is what training improves); the channels keep exact repeated
   structure, which a model trained on other families blurs. ``hist_weight=0`` is the learned part only.

Shapes:
    op graph: N nodes, E edges; macro graph: S motif occurrences; B graphs -> (B, dim)
"""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from nar_data.schema import Graph

from ..data import GraphSet, node_features
from ..losses import info_nce
from ..macro import context_membership, intra_edges, macro_edges
from ..motifs import MotifVocab, Segmentation, segment_graphs
from ..train import balanced_batches, fit_graph_level, progress_bar, seed_everything
from . import register_encoder
from ._base import Encoder, LabelMap, l2_normalize
from .layers import Heads, NodeInput, pool
from .wl import labelled_wl_histogram

__all__ = ["NAREncoder", "NARNet", "motif_data"]


def _data_classes() -> tuple[type, type]:
    from torch_geometric.data import Data

    class _MotifData(Data):
        """Op graph + its segmentation: the input of the motif and context encoders."""

        def __inc__(self, key: str, value: Any, *args: Any, **kwargs: Any) -> Any:
            if key in ("seg", "ctx_motif", "macro_edge_index"):
                return int(self.num_motifs)
            if key in ("intra_edge_index", "ctx_node"):
                return int(self.num_nodes)
            if key == "mgraph":
                return 1
            return super().__inc__(key, value, *args, **kwargs)

        def __cat_dim__(self, key: str, value: Any, *args: Any, **kwargs: Any) -> Any:
            if key in ("macro_edge_index", "intra_edge_index"):
                return -1
            return super().__cat_dim__(key, value, *args, **kwargs)

    class _MacroData(Data):
        """Macro graph only (``x`` = frozen motif embeddings): the input of stage 2."""

    return _MotifData, _MacroData


@functools.lru_cache(maxsize=1)
def _classes() -> tuple[Any, Any]:
    """``(MotifData, MacroData)``, built once on first use (PyG is imported lazily)."""
    motif, macro = _data_classes()
    motif.__qualname__ = motif.__name__ = "MotifData"
    macro.__qualname__ = macro.__name__ = "MacroData"
    return motif, macro


def motif_data(graph: Graph, seg: Segmentation, hops: int = 1, context: bool = True) -> Any:
    """The op graph of ``graph`` with the tensors of its segmentation (see `MotifData`).

    ``context=False`` skips the context rings (only stage-1 training reads them).
    """
    MD, _ = _classes()
    op, oph, xn = node_features(graph)
    src, dst = np.asarray(graph.src, dtype=np.int64), np.asarray(graph.dst, dtype=np.int64)
    inside = intra_edges(src, dst, seg.seg)
    msrc, mdst, w = macro_edges(src, dst, seg.seg)
    if context:
        cn, cm = context_membership(graph.num_nodes, src, dst, seg.seg, hops)
    else:
        cn = cm = np.zeros(0, dtype=np.int64)
    t = torch.from_numpy
    return MD(op=t(op), oph=t(oph), xn=t(xn), edge_index=t(graph.edge_index),
              intra_edge_index=t(np.stack([src[inside], dst[inside]])), seg=t(seg.seg),
              ctx_node=t(cn), ctx_motif=t(cm), macro_edge_index=t(np.stack([msrc, mdst])), macro_w=t(w),
              mkey=t(seg.key), msize=t(seg.size.astype(np.float32)), mgraph=torch.zeros(seg.num_segments, dtype=torch.long),
              num_motifs=seg.num_segments, num_nodes=graph.num_nodes)


def _both(ei: torch.Tensor) -> torch.Tensor:
    return torch.cat([ei, ei.flip(0)], dim=1)


class _GIN(nn.Module):
    """NodeInput + ``layers`` residual GIN layers; returns every layer's node states."""

    def __init__(self, hidden: int, layers: int, vocab_size: int | None = None) -> None:
        super().__init__()
        from torch_geometric.nn import GINConv

        self.input = NodeInput(hidden, vocab_size)
        self.convs = nn.ModuleList(
            GINConv(nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, hidden)), train_eps=True)
            for _ in range(layers))
        self.norms = nn.ModuleList(nn.LayerNorm(hidden) for _ in range(layers))

    def forward(self, op: torch.Tensor, oph: torch.Tensor, xn: torch.Tensor, ei: torch.Tensor) -> torch.Tensor:
        h = self.input(op, oph, xn)
        states = [h]
        for conv, norm in zip(self.convs, self.norms):
            h = h + torch.relu(norm(conv(h, ei)))
            states.append(h)
        return torch.cat(states, dim=-1)  # (N, hidden * (layers + 1))


class NARNet(nn.Module):
    """Motif encoder, context encoder and macro-graph encoder of the ``nar`` method."""

    def __init__(self, hidden: int, dim: int, motif_dim: int, layers: int, num_coarse: int,
                 buckets: int, vocab_size: int | None = None) -> None:
        super().__init__()
        from torch_geometric.nn import GraphConv

        width = hidden * (layers + 1)
        self.motif_gnn = _GIN(hidden, layers, vocab_size)
        self.motif_out = nn.Linear(2 * width, motif_dim)
        self.ctx_gnn = _GIN(hidden, layers, vocab_size)
        self.ctx_out = nn.Linear(width, motif_dim)
        self.key = nn.Embedding(buckets, hidden)
        self.macro_in = nn.Linear(motif_dim + 1, hidden)
        self.conv_in = nn.ModuleList(GraphConv(hidden, hidden) for _ in range(layers))
        self.conv_out = nn.ModuleList(GraphConv(hidden, hidden) for _ in range(layers))
        self.norms = nn.ModuleList(nn.LayerNorm(hidden) for _ in range(layers))
        self.out = nn.Linear(2 * hidden * (layers + 1), dim)
        self.heads = Heads(dim, num_coarse)

    def motifs(self, b: Any) -> torch.Tensor:
        """(S, motif_dim) embedding of every motif occurrence (its own edges only)."""
        from torch_geometric.nn import global_max_pool, global_mean_pool

        h = self.motif_gnn(b.op, b.oph, b.xn, _both(b.intra_edge_index))
        s = int(b.mgraph.numel())
        return self.motif_out(torch.cat([global_mean_pool(h, b.seg, s), global_max_pool(h, b.seg, s)], -1))

    def contexts(self, b: Any) -> tuple[torch.Tensor, torch.Tensor]:
        """(S, motif_dim) context embeddings and (S,) mask of motifs that have a context."""
        from torch_geometric.utils import scatter

        h = self.ctx_gnn(b.op, b.oph, b.xn, _both(b.edge_index))
        s = int(b.mgraph.numel())
        c = scatter(h[b.ctx_node], b.ctx_motif, dim=0, dim_size=s, reduce="mean")
        has = torch.bincount(b.ctx_motif, minlength=s) > 0
        return self.ctx_out(c), has

    def macro(self, mfeat: torch.Tensor, mkey: torch.Tensor, msize: torch.Tensor, mei: torch.Tensor,
              mw: torch.Tensor, mbatch: torch.Tensor, num_graphs: int) -> torch.Tensor:
        """Macro-graph encoder: (S, motif_dim) motif features -> (B, dim) architecture embeddings."""
        h = self.macro_in(torch.cat([mfeat, torch.log1p(msize)[:, None] / 4], -1)) + self.key(mkey)
        w = torch.log1p(mw)
        pooled = [pool(h, mbatch, num_graphs)]
        for cin, cout, norm in zip(self.conv_in, self.conv_out, self.norms):
            h = h + torch.relu(norm(cin(h, mei, w) + cout(h, mei.flip(0), w)))
            pooled.append(pool(h, mbatch, num_graphs))
        return self.out(torch.cat(pooled, -1))

    def forward(self, b: Any) -> torch.Tensor:
        """End-to-end: op graph batch (`MotifData`) -> (B, dim)."""
        return self.macro(self.motifs(b), b.mkey, b.msize, b.macro_edge_index, b.macro_w, b.mgraph, int(b.num_graphs))

    def forward_macro(self, b: Any) -> torch.Tensor:
        """Stage 2 on precomputed motif embeddings (`MacroData` batch) -> (B, dim)."""
        return self.macro(b.x, b.mkey, b.msize, b.edge_index, b.edge_weight, b.batch, int(b.num_graphs))


def _collate(items: list[Any]) -> Any:
    from torch_geometric.data import Batch

    return Batch.from_data_list(items)


@register_encoder("nar-paper")
class NAREncoder(Encoder):
    """Ours: motifs -> macro graph, motif-level InfoNCE then graph-level SupCon + coarse CE."""

    vocab: MotifVocab | None = None

    # -- preprocessing ------------------------------------------------------------------------------
    def segment(self, graphs: Sequence[Graph]) -> list[Segmentation]:
        return segment_graphs(graphs, self.config.split, self.vocab, seed=self.config.seed)

    def _motif_items(self, graphs: Sequence[Graph], context: bool = True) -> list[Any]:
        return [motif_data(g, s, self.config.context_hops, context) for g, s in zip(graphs, self.segment(graphs))]

    @torch.no_grad()
    def _macro_items(self, items: list[Any], batch_size: int = 64) -> list[Any]:
        _, MaD = _classes()
        self.net.eval()
        out = []
        for i in range(0, len(items), batch_size):
            chunk = items[i:i + batch_size]
            m = self.net.motifs(_collate(chunk))
            for d, mf in zip(chunk, torch.split(m, [int(d.num_motifs) for d in chunk])):
                out.append(MaD(x=mf, mkey=d.mkey, msize=d.msize, edge_index=d.macro_edge_index,
                               edge_weight=d.macro_w, num_nodes=int(d.num_motifs)))
        return out

    # -- training -----------------------------------------------------------------------------------
    def fit(self, graphs: GraphSet, progress: bool = False) -> "NAREncoder":
        c = self.config
        seed_everything(c.seed)
        if c.split == "bpe":
            self.vocab = MotifVocab(max_merges=c.max_merges, max_size=c.max_motif_size).fit(graphs.graphs)
        self.families, self.coarse_map = LabelMap(graphs.families), LabelMap(graphs.coarse)
        buckets = self.vocab.buckets if self.vocab else 4096
        self.net = NARNet(c.hidden, c.dim, c.motif_dim, c.layers, len(self.coarse_map), buckets)
        items = self._motif_items(graphs.graphs)
        self._fit_motifs(items, progress)
        fam, crs = self.families(graphs.families), self.coarse_map(graphs.coarse)
        if c.end_to_end:
            self.history += fit_graph_level(self.net, items, fam, crs, c, _collate, self.net, progress)
        else:
            macro = self._macro_items(items)
            stage2 = [p for n, p in self.net.named_parameters() if not n.startswith(("motif_", "ctx_"))]
            self.history += fit_graph_level(self.net, macro, fam, crs, c, _collate, self.net.forward_macro,
                                            progress, params=stage2)
        return self

    def _fit_motifs(self, items: list[Any], progress: bool) -> None:
        c = self.config
        if c.motif_epochs <= 0:
            return
        params = [p for n, p in self.net.named_parameters() if n.startswith(("motif_", "ctx_"))]
        opt = torch.optim.AdamW(params, lr=c.lr, weight_decay=c.weight_decay)
        rng = np.random.default_rng(c.seed + 1)
        gen = torch.Generator().manual_seed(c.seed)
        with progress_bar(c.motif_epochs, "stage 1: motif InfoNCE", progress) as bar:
            for epoch in range(c.motif_epochs):
                self.net.train()
                start = time.perf_counter()
                total, steps = 0.0, 0
                for idx in balanced_batches(np.zeros(len(items), dtype=np.int64) - 1, c.batch_size, rng):
                    b = _collate([items[i] for i in idx])
                    m = self.net.motifs(b)
                    ctx, has = self.net.contexts(b)
                    sel = torch.nonzero(has).flatten()
                    if len(sel) < 2:
                        continue
                    if len(sel) > c.motifs_per_step:
                        sel = sel[torch.randperm(len(sel), generator=gen)[: c.motifs_per_step]]
                    loss = info_nce(m[sel], ctx[sel], b.mgraph[sel], c.temperature, key=b.mkey[sel])
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                    total, steps = total + loss.item(), steps + 1
                self.history.append({"stage": 1, "epoch": epoch, "loss": total / max(steps, 1),
                                     "seconds": time.perf_counter() - start})
                bar.advance(loss=total / max(steps, 1))

    # -- inference ----------------------------------------------------------------------------------
    @property
    def channels(self) -> list[str]:
        """The histogram channels in use (none when ``hist_weight`` is 0)."""
        c = self.config
        names = [n.strip() for n in c.hist_channels.split(",") if n.strip()] if c.hist_weight > 0 else []
        unknown = set(names) - {"op", "macro"}
        if unknown:
            raise ValueError(f"Unknown hist_channels {sorted(unknown)}; valid: op, macro")
        return names

    @property
    def embedding_size(self) -> int:
        return self.config.dim + len(self.channels) * self.config.hist_buckets

    def _histograms(self, graph: Graph, seg: Segmentation, macro_edge_index: torch.Tensor) -> list[np.ndarray]:
        """The channels of one graph; the macro edges are the ones `motif_data` already computed."""
        c, out = self.config, []
        for name in self.channels:
            if name == "op":
                out.append(labelled_wl_histogram(graph.op_name, graph.src, graph.dst, 3, c.hist_buckets))
            else:
                msrc, mdst = macro_edge_index.numpy()
                out.append(labelled_wl_histogram([str(int(k)) for k in seg.key], msrc, mdst, 2, c.hist_buckets))
        return out

    @torch.no_grad()
    def embed(self, graphs: Sequence[Graph], batch_size: int = 64) -> np.ndarray:
        if not graphs:
            return np.zeros((0, self.embedding_size), dtype=np.float32)
        self.net.eval()
        channels = self.channels
        w = 1.0 - self.config.hist_weight if channels else 1.0
        out = []
        for i in range(0, len(graphs), batch_size):
            chunk = graphs[i:i + batch_size]
            segs = self.segment(chunk)
            items = [motif_data(g, s, self.config.context_hops, False) for g, s in zip(chunk, segs)]
            parts = [np.sqrt(w) * l2_normalize(self.net(_collate(items)).numpy())]
            if channels:
                hists = [self._histograms(g, s, d.macro_edge_index) for g, s, d in zip(chunk, segs, items)]
                for j in range(len(channels)):
                    parts.append(np.sqrt((1 - w) / len(channels)) * l2_normalize(np.stack([h[j] for h in hists])))
            out.append(np.concatenate(parts, axis=1))
        return l2_normalize(np.concatenate(out)).astype(np.float32)

    def state(self) -> dict[str, Any]:
        return {"weights": self.net.state_dict(), "coarse": self.coarse_map.names, "families": self.families.names,
                "vocab": self.vocab.to_dict() if self.vocab else None,
                "vocab_size": self.net.motif_gnn.input.vocab_size}

    def load_state(self, state: dict[str, Any]) -> "NAREncoder":
        c = self.config
        self.coarse_map, self.families = LabelMap(state["coarse"]), LabelMap(state["families"])
        self.vocab = MotifVocab.from_dict(state["vocab"]) if state.get("vocab") else None
        buckets = self.vocab.buckets if self.vocab else 4096
        self.net = NARNet(c.hidden, c.dim, c.motif_dim, c.layers, len(self.coarse_map), buckets,
                          vocab_size=state["vocab_size"])
        self.net.load_state_dict(state["weights"])
        return self
