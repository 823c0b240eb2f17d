"""`Encoder`: what every registry entry implements (fit on graphs, embed graphs, save/load state)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from nar_data.schema import Graph

from ..config import EncoderConfig
from ..data import GraphSet

__all__ = ["Encoder", "LabelMap"]


class LabelMap:
    """String labels -> dense ids; ``unknown`` (and labels not seen when built) map to -1."""

    def __init__(self, labels: Sequence[str]) -> None:
        self.names = sorted({lab for lab in labels if lab and lab != "unknown"})
        self.index = {n: i for i, n in enumerate(self.names)}

    def __call__(self, labels: Sequence[str]) -> np.ndarray:
        return np.asarray([self.index.get(lab, -1) for lab in labels], dtype=np.int64)

    def __len__(self) -> int:
        return len(self.names)


class Encoder:
    """Base class of an architecture encoder.

    Subclasses set ``name`` (via ``@register_encoder``) and implement `fit`, `embed` and the state
    pair. `embed` returns L2-normalised float32 vectors, one row per graph, so cosine similarity is
    an inner product.
    """

    name: ClassVar[str] = ""
    trainable: ClassVar[bool] = True

    def __init__(self, config: EncoderConfig | None = None, **overrides: Any) -> None:
        self.config = (config or EncoderConfig()).replace(**overrides) if overrides else (config or EncoderConfig())
        self.history: list[dict[str, float]] = []

    def fit(self, graphs: GraphSet, progress: bool = False) -> "Encoder":
        """Train on ``graphs`` (labels: ``family`` for SupCon, ``coarse`` for cross-entropy)."""
        raise NotImplementedError

    def embed(self, graphs: Sequence[Graph], batch_size: int = 256) -> np.ndarray:
        """(len(graphs), dim) float32, L2-normalised."""
        raise NotImplementedError

    def state(self) -> dict[str, Any]:
        """Everything needed to rebuild the fitted encoder (weights as tensors, the rest JSON-able)."""
        raise NotImplementedError

    def load_state(self, state: dict[str, Any]) -> "Encoder":
        raise NotImplementedError


def l2_normalize(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
