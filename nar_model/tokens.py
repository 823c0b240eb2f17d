"""Structure tokens of a graph: the bag of WL subtree labels of its op graph and of its motif graph.

Two channels, each a hashed ``log1p`` count vector of ``buckets`` dims:

* ``op``: WL labels (rounds 0..``op_rounds``, in- and out-neighbours kept apart, `wl.wl_rounds`)
  of the operator graph, nodes labelled by their op name plus the node's attribute string when the
  graph carries one (see `node_label`);
* ``motif``: WL labels (rounds 0..``motif_rounds``) of the macro graph, one node per motif
  occurrence labelled by its global motif id (`motifs.MotifVocab`), edges the quotient of the op DAG.

`TokenFeaturizer` fits an inverse document frequency per bucket on training graphs (how rare a
token is says how telling it is) and gives ``tf * idf`` rows, each channel L2-normalised and the
channels concatenated with equal weight, so a row's inner product with another is the mean of the
channel cosines. With ``idf=False`` the rows are the plain training-free ``wl_motif`` histograms.

Shapes:
    B graphs -> (B, channels * buckets) float32
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nar_data.schema import Graph

from .macro import macro_edges
from .motifs import MotifVocab, Segmentation
from .encoders._base import l2_normalize
from .encoders.wl import labelled_wl_histogram

__all__ = ["CHANNELS", "TokenFeaturizer", "node_label"]

CHANNELS = ("op", "motif")


def node_label(graph: Graph, i: int) -> str:
    """The WL start label of node ``i``: its op name, plus its ``attrs`` string if the graph has one."""
    attrs = getattr(graph, "attrs", None)
    if attrs is not None and i < len(attrs) and attrs[i]:
        return f"{graph.op_name[i]}|{attrs[i]}"
    return graph.op_name[i]


@dataclass
class TokenFeaturizer:
    """Hashed WL token channels of graphs, optionally idf-weighted (fit on training graphs)."""

    buckets: int = 4096
    op_rounds: int = 3
    motif_rounds: int = 2
    channels: tuple[str, ...] = CHANNELS
    idf: bool = True
    vocab: MotifVocab | None = None
    weights: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = set(self.channels) - set(CHANNELS)
        if unknown or not self.channels:
            raise ValueError(f"Unknown token channels {sorted(unknown)}; valid: {', '.join(CHANNELS)}")

    @property
    def size(self) -> int:
        return len(self.channels) * self.buckets

    def fit(self, graphs: Sequence[Graph], vocab: MotifVocab | None = None) -> "TokenFeaturizer":
        """Learn the motif vocabulary (unless given) and the idf of every bucket on ``graphs``."""
        if "motif" in self.channels:
            self.vocab = vocab or MotifVocab().fit(graphs)
        raw = self.counts(graphs)
        self.weights = {}
        if self.idf:
            n = max(len(graphs), 1)
            for name, x in raw.items():
                df = (x > 0).sum(0)
                self.weights[name] = (np.log((1.0 + n) / (1.0 + df)) + 1.0).astype(np.float32)
        return self

    def counts(self, graphs: Sequence[Graph]) -> dict[str, np.ndarray]:
        """``{channel: (B, buckets) log1p counts}``."""
        out: dict[str, list[np.ndarray]] = {name: [] for name in self.channels}
        segs: list[Segmentation] = self.vocab.segment(graphs) if "motif" in self.channels and graphs else []
        for n, g in enumerate(graphs):
            if "op" in self.channels:
                labels = [node_label(g, i) for i in range(g.num_nodes)]
                out["op"].append(labelled_wl_histogram(labels, g.src, g.dst, self.op_rounds, self.buckets))
            if "motif" in self.channels:
                s = segs[n]
                msrc, mdst, _ = macro_edges(g.src, g.dst, s.seg)
                out["motif"].append(labelled_wl_histogram([str(int(k)) for k in s.key], msrc, mdst,
                                                          self.motif_rounds, self.buckets))
        return {k: (np.stack(v) if v else np.zeros((0, self.buckets), dtype=np.float32)) for k, v in out.items()}

    def transform(self, graphs: Sequence[Graph]) -> np.ndarray:
        """(B, size) rows: per channel ``tf * idf`` L2-normalised, channels scaled by ``1/sqrt(C)``."""
        raw = self.counts(graphs)
        scale = 1.0 / np.sqrt(len(self.channels))
        parts = [scale * l2_normalize(raw[c] * self.weights[c] if c in self.weights else raw[c])
                 for c in self.channels]
        return np.concatenate(parts, axis=1).astype(np.float32)

    def to_dict(self) -> dict[str, Any]:
        return {"buckets": self.buckets, "op_rounds": self.op_rounds, "motif_rounds": self.motif_rounds,
                "channels": list(self.channels), "idf": self.idf,
                "vocab": self.vocab.to_dict() if self.vocab else None,
                "weights": {k: v.tolist() for k, v in self.weights.items()}}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TokenFeaturizer":
        return cls(buckets=int(d["buckets"]), op_rounds=int(d["op_rounds"]), motif_rounds=int(d["motif_rounds"]),
                   channels=tuple(d["channels"]), idf=bool(d["idf"]),
                   vocab=MotifVocab.from_dict(d["vocab"]) if d.get("vocab") else None,
                   weights={k: np.asarray(v, dtype=np.float32) for k, v in d["weights"].items()})
