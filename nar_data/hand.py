"""Graphs written by hand: op names and ``(src, dst)`` edges, for tests, NAS search spaces and demos."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .fingerprint import arch_id
from .schema import Graph
from .vocab import op_id

__all__ = ["hand_graph"]


def hand_graph(op_names: Sequence[str], edges: Sequence[tuple[int, int]], model_id: str = "hand:graph",
               shapes: Sequence[Sequence[int]] | None = None, **fields: Any) -> Graph:
    """A `Graph` written by hand: ``op_names[i]`` per node and ``(src, dst)`` edges."""
    n = len(op_names)
    shapes = [list(s) for s in shapes] if shapes is not None else [[1] for _ in range(n)]
    src = np.asarray([e[0] for e in edges], dtype=np.int32)
    dst = np.asarray([e[1] for e in edges], dtype=np.int32)
    fields.setdefault("config_hash", model_id)
    graph = Graph(model_id=model_id, source=fields.pop("source", "hand"), arch_id="",
                 op=np.asarray([op_id(o) for o in op_names], dtype=np.int32), op_name=list(op_names),
                 shape=shapes, dtype=["float32"] * n, module=[""] * n, params=np.zeros(n, dtype=np.int64),
                 src=src, dst=dst, **fields)
    return graph.replace(arch_id=arch_id(op_names, shapes, src, dst))
