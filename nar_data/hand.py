"""Graphs written by hand: op names and ``(src, dst)`` edges, for tests, NAS search spaces and demos."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .fingerprint import arch_id
from .schema import Graph
from .vocab import op_id

__all__ = ["BLOCK_FAMILIES", "block_graph", "hand_graph"]


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


#: Hand-made block families: name -> (the repeated block's ops, residual add around it, coarse kind).
BLOCK_FAMILIES: dict[str, tuple[list[str], bool, str]] = {
    "resnetish": (["conv2d", "batch_norm", "relu", "conv2d", "batch_norm"], True, "cnn"),
    "vggish": (["conv2d", "relu", "max_pool2d"], False, "cnn"),
    "vitish": (["layer_norm", "linear", "softmax", "matmul", "linear"], True, "transformer"),
    "mlpish": (["linear", "gelu", "linear", "dropout"], True, "mlp"),
    "convnextish": (["conv2d", "layer_norm", "linear", "gelu", "linear", "mul"], True, "cnn"),
    "mixerish": (["layer_norm", "transpose", "linear", "gelu", "linear", "transpose"], True, "mlp"),
}


def block_graph(block: Sequence[str], residual: bool, repeats: int, width: int, model_id: str,
                stem: Sequence[str] = ("conv2d",), **fields: Any) -> Graph:
    """input -> stem -> ``repeats`` x block (optionally with a residual add) -> mean -> linear -> output.

    Every node but the input has shape ``[1, width, 8, 8]``; ``fields`` go to `hand_graph` (family, coarse).
    """
    ops, edges, shapes = ["input"], [], [[1, 3, 32, 32]]

    def add(op: str, *inputs: int) -> int:
        ops.append(op)
        shapes.append([1, width, 8, 8])
        edges.extend((i, len(ops) - 1) for i in inputs)
        return len(ops) - 1

    x = 0
    for op in stem:
        x = add(op, x)
    for _ in range(repeats):
        h = x
        for op in block:
            h = add(op, h)
        x = add("add", h, x) if residual else h
    add("output", add("linear", add("mean", x)))
    return hand_graph(ops, edges, model_id=model_id, shapes=shapes, **fields)
