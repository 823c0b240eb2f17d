"""The search-backend interface every index implements (exact in `nar_model.search`, HNSW in
`nar_model.ann`), and the normalisation they share."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

__all__ = ["SearchBackend", "SearchResults"]


class SearchResults(NamedTuple):
    scores: np.ndarray  # (Q, k) float32, cosine similarity, best first
    indices: np.ndarray  # (Q, k) int64 positions in the index (-1 = no result)


def _normalize(x: np.ndarray) -> np.ndarray:
    x = np.atleast_2d(np.asarray(x, dtype=np.float32))
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


class SearchBackend:
    """Interface: ``add`` vectors with ids, ``search`` queries; ``ids`` maps positions back."""

    def __init__(self) -> None:
        self.ids: list[str] = []

    def add(self, ids: Sequence[str], vectors: np.ndarray) -> None:
        raise NotImplementedError

    def search(self, queries: np.ndarray, k: int) -> SearchResults:
        raise NotImplementedError

    def __len__(self) -> int:
        return len(self.ids)
