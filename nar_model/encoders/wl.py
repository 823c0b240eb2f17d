"""Training-free baseline: Weisfeiler-Lehman subtree histogram, hashed to a fixed size, cosine.

Node labels are the canonical op names; ``iterations`` rounds of WL relabelling (in- and
out-neighbours kept apart, `wl_rounds`) give one label per node and round;
the embedding is the ``log1p`` count of every label hashed into ``buckets`` dims, L2-normalised.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from nar_data.schema import Graph

from ..data import GraphSet
from . import register_encoder
from ..wl_hash import labelled_wl_histogram, wl_rounds
from ._base import Encoder, l2_normalize

__all__ = ["WLEncoder", "WLMotifEncoder", "labelled_wl_histogram", "wl_histogram", "wl_rounds"]


def wl_histogram(graph: Graph, iterations: int = 3, buckets: int = 4096) -> np.ndarray:
    """(buckets,) float32 log-count histogram of WL subtree labels of rounds 0..iterations."""
    return labelled_wl_histogram(graph.op_name, graph.src, graph.dst, iterations, buckets)




@register_encoder("wl")
class WLEncoder(Encoder):
    """WL subtree histogram (training-free); ``fit`` only records the set-up."""

    trainable = False
    iterations = 3
    buckets = 4096

    def fit(self, graphs: GraphSet, progress: bool = False) -> "WLEncoder":
        return self

    def embed(self, graphs: Sequence[Graph], batch_size: int = 256) -> np.ndarray:
        if not graphs:
            return np.zeros((0, self.buckets), dtype=np.float32)
        return l2_normalize(np.stack([wl_histogram(g, self.iterations, self.buckets) for g in graphs]))

    def state(self) -> dict[str, Any]:
        return {"iterations": self.iterations, "buckets": self.buckets}

    def load_state(self, state: dict[str, Any]) -> "WLEncoder":
        self.iterations, self.buckets = int(state["iterations"]), int(state["buckets"])
        return self


@register_encoder("wl_motif")
class WLMotifEncoder(Encoder):
    """Training-free op-WL + motif-WL histograms (`tokens.TokenFeaturizer` without idf), equal weights.

    ``fit`` learns only the motif vocabulary (BPE merges, no labels) on the given graphs.
    """

    trainable = False

    def fit(self, graphs: GraphSet, progress: bool = False) -> "WLMotifEncoder":
        from ..tokens import TokenFeaturizer

        self.features = TokenFeaturizer(idf=False).fit(graphs.graphs)
        return self

    def embed(self, graphs: Sequence[Graph], batch_size: int = 256) -> np.ndarray:
        return self.features.transform(list(graphs))

    def state(self) -> dict[str, Any]:
        return {"features": self.features.to_dict()}

    def load_state(self, state: dict[str, Any]) -> "WLMotifEncoder":
        from ..tokens import TokenFeaturizer

        self.features = TokenFeaturizer.from_dict(state["features"])
        return self


@register_encoder("wl_tokens")
class WLTokensEncoder(WLMotifEncoder):
    """Training-free rows of the shipped `nar` tokens: the featuriser its config names, no idf, no basis.

    The ablation that says what `nar`'s fitted basis adds over its own token histograms (wide rows:
    channels x buckets dims, not for storing).
    """

    def fit(self, graphs: GraphSet, progress: bool = False) -> "WLTokensEncoder":
        from ..tokens import TokenFeaturizer

        self.features = TokenFeaturizer.from_config(self.config.replace(idf=False)).fit(graphs.graphs)
        return self
