"""Structure tokens of a graph: the bag of WL subtree labels of its op graph and of its motif graph.

Channels (`CHANNELS`), each a hashed count vector of ``buckets`` dims (``log1p`` counts, or with
``tf="binary"`` the presence of each token):

* ``op``: WL labels (rounds 0..``op_rounds``, in- and out-neighbours kept apart, `wl.wl_rounds`)
  of the operator graph, nodes labelled by their op name plus the size-free part of their attributes (kernel,
  stride, dilation, norm kind, depthwise or grouped conv; `design_attrs`);
* ``motif``: WL labels (rounds 0..``motif_rounds``) of the macro graph, one node per motif
  occurrence labelled by its global motif id (`motifs.MotifVocab`), edges the quotient of the op DAG;
* ``size``: WL labels (rounds 0..``size_rounds``) with every attribute in the node label (widths, heads);
* ``raw`` / ``rmotif``: the ``op`` / ``motif`` channels of the stored graph when ``canon`` reads the others
  from the canonical view (`canon.canonical_graph`);
* ``input``: the shapes of the graph's inputs (batch dimension left out): the resolution a vision model is
  built for (``deit_base_patch16_224`` and ``_384`` have equal tokens otherwise).

With ``size_depth`` a ``size`` token is the WL label *and* the power of two its count falls in
(``floor(log2(count))``): presence still, but a model of 18 blocks per stage no longer has the tokens of its
family member of 6 (``swin_small`` vs ``swin_tiny``), while twins, of equal depth, keep equal tokens.

`TokenFeaturizer` optionally fits an inverse document frequency per bucket on training graphs and gives
``tf * idf`` rows, each channel L2-normalised and the channels concatenated with equal weight (or ``shares``),
so a row's inner product with another is the (weighted) mean of the channel cosines. With ``idf=False`` and the
default channels the rows are the plain training-free ``wl_motif`` histograms.

Shapes:
    B graphs -> (B, channels * buckets) float32
"""

from __future__ import annotations

import functools
import json
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from nar_data.schema import Graph

from .canon import canonical_graph
from .macro import macro_edges
from .motifs import MotifVocab, Segmentation
from .encoders._base import l2_normalize
from .wl_hash import _label_code, depth_wl_histogram, labelled_wl_histogram

if TYPE_CHECKING:
    from .config import EncoderConfig

__all__ = ["CHANNELS", "TokenFeaturizer", "node_label", "parse_shares"]

#: Every token channel; the default (and the training-free ``wl_motif`` row) reads the first two.
#: ``raw`` / ``rmotif``: the op / motif channels of the *stored* graph (layout ops and all) next to the canonical
#: view's, with their own motif vocabulary (``raw_vocab``).
CHANNELS = ("op", "motif", "size", "raw", "rmotif", "input")
DEFAULT_CHANNELS = ("op", "motif")
#: How a channel's counts become its row: ``log1p`` counts, or ``binary`` presence (a token is there or not, so
#: a deeper member of a family, which repeats the same blocks more often, keeps the same row).
TFS = ("log1p", "binary")


#: Node attributes that name a design choice whatever the model's size (widths and head counts are left
#: out: they tell resnet18 from resnet50, which the family-level relevance calls one family).
DESIGN_ATTRS = ("kernel", "stride", "dilation", "norm", "causal", "approximate", "transposed")


@functools.lru_cache(maxsize=65536)
def design_attrs(attrs: str) -> str:
    """The size-free part of a node's attribute JSON: `DESIGN_ATTRS` plus the kind of conv grouping."""
    if not attrs:
        return ""
    try:
        d = json.loads(attrs)
    except ValueError:
        return ""
    out = {k: d[k] for k in DESIGN_ATTRS if k in d}
    groups = d.get("groups")
    if isinstance(groups, int) and groups > 1:
        out["groups"] = "depthwise" if groups == d.get("in") else "grouped"
    return json.dumps(out, sort_keys=True, separators=(",", ":")) if out else ""


def node_label(graph: Graph, i: int, attrs: bool = True) -> str:
    """The WL start label of node ``i``: its op name, plus its `design_attrs` when the graph has any."""
    if attrs and i < len(graph.attrs):
        extra = design_attrs(graph.attrs[i])
        if extra:
            return f"{graph.op_name[i]}|{extra}"
    return graph.op_name[i]


def parse_shares(spec: str, channels: Sequence[str]) -> tuple[float, ...] | None:
    """Channel shares from a config string: ``""`` = equal; ``"size=1.5"`` = named shares, every other channel 1
    (a named channel that is not selected is ignored, so one setting serves every channel subset); or one
    positional weight per channel, ``"1,1,1.5,1"``."""
    spec = spec.strip()
    if not spec:
        return None
    if "=" not in spec:
        return tuple(float(v) for v in spec.split(","))
    named: dict[str, float] = {}
    for part in spec.split(","):
        name, _, value = part.partition("=")
        if name.strip() not in CHANNELS:
            raise ValueError(f"Unknown token channel {name.strip()!r} in shares {spec!r}; valid: {', '.join(CHANNELS)}")
        named[name.strip()] = float(value)
    return tuple(named.get(c, 1.0) for c in channels)


_VIEWS: "OrderedDict[tuple, Graph]" = OrderedDict()
_VIEWS_MAX = 8192


def _canonical(g: Graph, level: int = 1) -> Graph:
    """`canonical_graph` at ``level``, memoised on the graph's content (fit and embed of one dataset read each
    graph twice; the bench's folds re-read it for every fold). Only the view's ops, attributes and edges are
    read here."""
    key = (level, g.model_id, g.arch_id, tuple(g.op_name), tuple(g.attrs), np.asarray(g.src).tobytes(),
           np.asarray(g.dst).tobytes(), str(g.shape))
    view = _VIEWS.get(key)
    if view is None:
        view = _VIEWS[key] = canonical_graph(g, level)
        if len(_VIEWS) > _VIEWS_MAX:
            _VIEWS.popitem(last=False)
    return view


@dataclass
class TokenFeaturizer:
    """Hashed WL token channels of graphs, optionally idf-weighted (fit on training graphs)."""

    buckets: int = 4096
    op_rounds: int = 3
    motif_rounds: int = 2
    size_rounds: int = 1
    size_depth: bool = False
    channels: tuple[str, ...] = DEFAULT_CHANNELS
    idf: bool = True
    attrs: bool = True
    canon: bool = False
    canon_level: int = 1
    shares: tuple[float, ...] | None = None
    tf: str = "log1p"
    vocab: MotifVocab | None = None
    raw_vocab: MotifVocab | None = None
    weights: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = set(self.channels) - set(CHANNELS)
        if unknown or not self.channels:
            raise ValueError(f"Unknown token channels {sorted(unknown)}; valid: {', '.join(CHANNELS)}")
        if self.shares is not None and (len(self.shares) != len(self.channels) or min(self.shares) < 0
                                        or sum(self.shares) <= 0):
            raise ValueError(f"shares {self.shares} must be one non-negative weight per channel {self.channels}")
        if self.tf not in TFS:
            raise ValueError(f"Unknown token tf {self.tf!r}; valid: {', '.join(TFS)}")

    def _view(self, graphs: Sequence[Graph]) -> list[Graph]:
        return [_canonical(g, self.canon_level) for g in graphs] if self.canon else list(graphs)

    def _scales(self) -> np.ndarray:
        """Per-channel factor: ``sqrt(share / sum of shares)`` (equal shares without ``shares``)."""
        w = np.asarray(self.shares if self.shares is not None else [1.0] * len(self.channels), dtype=np.float64)
        return np.sqrt(w / w.sum())

    @property
    def size(self) -> int:
        return len(self.channels) * self.buckets

    def fit(self, graphs: Sequence[Graph], vocab: MotifVocab | None = None) -> "TokenFeaturizer":
        """Learn the motif vocabulary (unless given) and the idf of every bucket on ``graphs``."""
        self._fit(graphs, self._view(graphs), vocab)
        return self

    def fit_transform(self, graphs: Sequence[Graph], vocab: MotifVocab | None = None) -> np.ndarray:
        """`fit` then `transform` of the same graphs, the canonical views computed once."""
        view = self._view(graphs)
        self._fit(graphs, view, vocab)
        return self._rows(self._counts(graphs, view))

    def _fit(self, graphs: Sequence[Graph], view: Sequence[Graph], vocab: MotifVocab | None) -> None:
        if "motif" in self.channels:
            self.vocab = vocab or MotifVocab().fit(view)
        if "rmotif" in self.channels:
            self.raw_vocab = MotifVocab().fit(list(graphs))
        self.weights = {}
        if self.idf:
            raw = self._counts(graphs, view)
            n = max(len(graphs), 1)
            for name, x in raw.items():
                df = (x > 0).sum(0)
                self.weights[name] = (np.log((1.0 + n) / (1.0 + df)) + 1.0).astype(np.float32)

    def counts(self, graphs: Sequence[Graph]) -> dict[str, np.ndarray]:
        """``{channel: (B, buckets)}`` log1p counts, or presence with ``tf="binary"`` (of the canonical view with
        ``canon``, but ``raw`` / ``rmotif``)."""
        return self._counts(graphs, self._view(graphs))

    def _counts(self, graphs: Sequence[Graph], view: Sequence[Graph]) -> dict[str, np.ndarray]:
        out: dict[str, list[np.ndarray]] = {name: [] for name in self.channels}
        segs: list[Segmentation] = self.vocab.segment(view) if "motif" in self.channels and view else []
        rsegs: list[Segmentation] = (self.raw_vocab.segment(list(graphs)) if "rmotif" in self.channels and view
                                     else [])
        for n, g in enumerate(view):
            if "op" in self.channels:
                labels = [node_label(g, i, self.attrs) for i in range(g.num_nodes)]
                out["op"].append(labelled_wl_histogram(labels, g.src, g.dst, self.op_rounds, self.buckets))
            if "raw" in self.channels:  # the op channel of the stored graph, layout ops and all
                r = graphs[n]
                labels = [node_label(r, i, self.attrs) for i in range(r.num_nodes)]
                out["raw"].append(labelled_wl_histogram(labels, r.src, r.dst, self.op_rounds, self.buckets))
            if "motif" in self.channels:
                s = segs[n]
                msrc, mdst, _ = macro_edges(g.src, g.dst, s.seg)
                out["motif"].append(labelled_wl_histogram([str(int(k)) for k in s.key], msrc, mdst,
                                                          self.motif_rounds, self.buckets))
            if "rmotif" in self.channels:  # the motif channel of the stored graph
                r, s = graphs[n], rsegs[n]
                msrc, mdst, _ = macro_edges(r.src, r.dst, s.seg)
                out["rmotif"].append(labelled_wl_histogram([str(int(k)) for k in s.key], msrc, mdst,
                                                           self.motif_rounds, self.buckets))
            if "size" in self.channels:  # every attribute, widths and head counts included
                labels = [f"{g.op_name[i]}|{g.attrs[i]}" if i < len(g.attrs) else g.op_name[i]
                          for i in range(g.num_nodes)]
                out["size"].append(depth_wl_histogram(labels, g.src, g.dst, self.size_rounds, self.buckets)
                                   if self.size_depth else
                                   labelled_wl_histogram(labels, g.src, g.dst, self.size_rounds, self.buckets))
            if "input" in self.channels:  # the input shapes, batch dimension left out
                r = graphs[n]
                hist = np.zeros(self.buckets, dtype=np.float32)
                for i, op in enumerate(r.op_name):
                    if op == "input":
                        hist[_label_code(f"input|{list(r.shape[i])[1:]}") % self.buckets] += 1.0
                out["input"].append(np.log1p(hist))
        res = {k: (np.stack(v) if v else np.zeros((0, self.buckets), dtype=np.float32)) for k, v in out.items()}
        if self.tf == "binary":
            res = {k: (v > 0).astype(np.float32) for k, v in res.items()}
        return res

    def transform(self, graphs: Sequence[Graph]) -> np.ndarray:
        """(B, size) rows: per channel ``tf * idf`` L2-normalised, channels scaled by ``1/sqrt(C)``."""
        return self._rows(self.counts(graphs))

    def _rows(self, raw: dict[str, np.ndarray]) -> np.ndarray:
        parts = [w * l2_normalize(raw[c] * self.weights[c] if c in self.weights else raw[c])
                 for c, w in zip(self.channels, self._scales())]
        return np.concatenate(parts, axis=1).astype(np.float32)

    def sparse(self, graphs: Sequence[Graph]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The nonzeros of the ``tf * idf`` rows before normalisation, graph by graph.

        Returns:
            ``(token, value, offsets, channel)``: (nnz,) token ids in ``[0, size)`` (channel ``c``'s bucket
            ``j`` is ``c * buckets + j``), (nnz,) values, (B,) start of each graph's run and (nnz,) channel index.
        """
        raw = self.counts(graphs)
        toks, vals, chans, offsets, start = [], [], [], [], 0
        for n in range(len(graphs)):
            offsets.append(start)
            for c, name in enumerate(self.channels):
                row = raw[name][n] * self.weights[name] if name in self.weights else raw[name][n]
                nz = np.flatnonzero(row)
                toks.append(nz + c * self.buckets)
                vals.append(row[nz])
                chans.append(np.full(len(nz), c, dtype=np.int64))
                start += len(nz)
        cat = (lambda xs, dt: np.concatenate(xs).astype(dt) if xs else np.zeros(0, dtype=dt))
        return (cat(toks, np.int64), cat(vals, np.float32), np.asarray(offsets, dtype=np.int64),
                cat(chans, np.int64))

    @classmethod
    def from_config(cls, c: "EncoderConfig") -> "TokenFeaturizer":
        """The featuriser an `EncoderConfig`'s ``token_*`` / ``idf`` fields describe (unfitted)."""
        channels = tuple(n.strip() for n in c.token_channels.split(",") if n.strip())
        return cls(buckets=c.token_buckets, channels=channels, idf=c.idf, attrs=c.token_attrs, canon=c.token_canon,
                   canon_level=c.token_canon_level, size_depth=c.token_size_depth,
                   shares=parse_shares(c.token_shares, channels), tf=c.token_tf)

    def to_dict(self) -> dict[str, Any]:
        return {"buckets": self.buckets, "op_rounds": self.op_rounds, "motif_rounds": self.motif_rounds,
                "channels": list(self.channels), "idf": self.idf, "attrs": self.attrs, "canon": self.canon,
                "canon_level": self.canon_level,
                "shares": list(self.shares) if self.shares is not None else None, "size_rounds": self.size_rounds,
                "size_depth": self.size_depth,
                "vocab": self.vocab.to_dict() if self.vocab else None, "tf": self.tf,
                "raw_vocab": self.raw_vocab.to_dict() if self.raw_vocab else None,
                "weights": {k: v.tolist() for k, v in self.weights.items()}}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TokenFeaturizer":
        return cls(buckets=int(d["buckets"]), op_rounds=int(d["op_rounds"]), motif_rounds=int(d["motif_rounds"]),
                   channels=tuple(d["channels"]), idf=bool(d["idf"]), attrs=bool(d.get("attrs", True)),
                   canon=bool(d.get("canon", False)),
                   canon_level=int(d.get("canon_level", 1)), size_rounds=int(d.get("size_rounds", 1)),
                   size_depth=bool(d.get("size_depth", False)),
                   shares=tuple(d["shares"]) if d.get("shares") is not None else None,
                   vocab=MotifVocab.from_dict(d["vocab"]) if d.get("vocab") else None, tf=str(d.get("tf", "log1p")),
                   raw_vocab=MotifVocab.from_dict(d["raw_vocab"]) if d.get("raw_vocab") else None,
                   weights={k: np.asarray(v, dtype=np.float32) for k, v in d["weights"].items()})
