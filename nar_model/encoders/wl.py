"""Training-free baseline: Weisfeiler-Lehman subtree histogram, hashed to a fixed size, cosine.

Node labels are the canonical op names; ``iterations`` rounds of WL relabelling (in- and
out-neighbours kept apart, `nar_data.fingerprint.wl_labels`) give one label per node and round;
the embedding is the ``log1p`` count of every label hashed into ``buckets`` dims, L2-normalised.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from nar_data.fingerprint import wl_labels
from nar_data.schema import Graph

from ..data import GraphSet
from . import register_encoder
from ._base import Encoder, l2_normalize

__all__ = ["WLEncoder", "wl_histogram"]


def wl_histogram(graph: Graph, iterations: int = 3, buckets: int = 4096) -> np.ndarray:
    """(buckets,) float32 log-count histogram of WL subtree labels of rounds 0..iterations."""
    hist = np.zeros(buckets, dtype=np.float32)
    history = wl_labels(list(graph.op_name), np.asarray(graph.src), np.asarray(graph.dst), iterations)
    for k, labels in enumerate(history):
        idx = np.fromiter((zlib.crc32(bytes([k]) + lab) % buckets for lab in labels), dtype=np.int64,
                          count=len(labels))
        np.add.at(hist, idx, 1.0)
    return np.log1p(hist)


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
