"""FLOPs of the matmul-like ops from shapes alone (2 x multiply-accumulates); others count 0."""

from __future__ import annotations

from collections.abc import Sequence
from math import prod

from ..vocab import canonical

Shape = Sequence[int]


#: Canonical ops that `op_flops` counts (and ``conv_transpose*``); every other op counts 0.
FLOP_OPS = frozenset({"conv1d", "conv2d", "conv3d", "convolution", "_convolution", "linear", "matmul", "mm", "bmm",
                      "addmm", "baddbmm", "addbmm", "scaled_dot_product_attention"})


def counts_flops(op: str) -> bool:
    """Whether `op_flops` can be non-zero for ``op`` (callers skip collecting shapes for the rest)."""
    name = canonical(op)
    return name in FLOP_OPS or name.startswith("conv_transpose")


def op_flops(op: str, in_shapes: Sequence[Shape], out_shape: Shape) -> int:
    """``in_shapes`` are the tensor arguments in order (input, weight, ...), ``out_shape`` the first output."""
    name = canonical(op)
    if not counts_flops(name):
        return 0
    out = prod(out_shape) if out_shape else 0
    try:
        if name in {"conv1d", "conv2d", "conv3d", "convolution", "_convolution"}:
            w = in_shapes[1]
            return 2 * out * w[1] * prod(w[2:])
        if name.startswith("conv_transpose"):
            x, w = in_shapes[0], in_shapes[1]
            return 2 * prod(x) * w[1] * prod(w[2:])
        if name == "linear":
            return 2 * out * in_shapes[1][-1]
        if name in {"matmul", "mm", "bmm"}:
            return 2 * out * in_shapes[0][-1]
        if name in {"addmm", "baddbmm", "addbmm"}:
            return 2 * out * in_shapes[1][-1]
        if name == "scaled_dot_product_attention":
            q, k, v = in_shapes[:3]
            return 2 * prod(q[:-1]) * k[-2] * (q[-1] + v[-1])
    except (IndexError, TypeError):
        return 0
    return 0
