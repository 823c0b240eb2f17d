"""Analytic parameters and FLOPs of a `Macro`, without building it.

`skeleton.count_cost` builds the network on the meta device and counts with forward hooks (0.4-1.4 s a
network); this module does the same arithmetic from the op definitions of `modules` in microseconds, so
the budgeted search and the macro transformer's training pairs can cost thousands of skeletons. The
convention is `count_cost`'s: parameters = every `nn.Parameter` (BatchNorm's weight and bias, not its
running statistics); FLOPs = 2 x multiply-accumulates of convolutions and linear layers on one image
(pooling, BatchNorm, activations, sums and the squeeze-excite product are free). ``tests`` check it equal to
`count_cost` on sampled networks; a new op in `modules` needs its line in `_op_cost`.
"""

from __future__ import annotations

from .cell import NODES, OPS, Cell, live_nodes
from .skeleton import Macro

__all__ = ["cell_cost", "macro_cost", "op_cost"]


def _op_cost(name: str, c: int, k: int) -> tuple[int, int]:
    """(parameters, MACs per output pixel) of the op ``name`` on ``c`` channels with kernel ``k``."""
    if name in ("skip", "avg_pool"):
        return 0, 0
    if name == "conv":  # ReLU, k x k conv, BN
        return c * c * k * k + 2 * c, c * c * k * k
    if name in ("sep_conv", "dil_conv"):  # ReLU, depthwise k x k, pointwise 1x1, BN
        return c * k * k + c * c + 2 * c, c * k * k + c * c
    if name.startswith("mbconv_e"):  # 1x1 up, BN, ReLU, depthwise k x k, BN, ReLU, 1x1 down, BN
        h = c * int(name[len("mbconv_e"):])
        return c * h + 2 * h + h * k * k + 2 * h + h * c + 2 * c, c * h + h * k * k + h * c
    if name.startswith("bottleneck_r"):  # 1x1 down, BN, ReLU, full k x k, BN, ReLU, 1x1 up, BN
        h = max(8, int(c * float(name[len("bottleneck_r"):])))
        return c * h + 2 * h + h * h * k * k + 2 * h + h * c + 2 * c, c * h + h * h * k * k + h * c
    raise ValueError(f"No analytic cost for the cell operation {name!r}; valid operations: {list(OPS)}")


def op_cost(name: str, c: int, k: int, se: bool, pixels: int) -> tuple[int, int]:
    """(parameters, FLOPs) of one cell operation (``modules.build_op``) on a ``pixels``-pixel map."""
    params, macs = _op_cost(name, c, k)
    flops = 2 * macs * pixels
    if se:  # squeeze-excite: two 1x1 convs with bias on the pooled 1x1 map
        hidden = max(8, c // 4)
        params += c * hidden + hidden + hidden * c + c
        flops += 2 * (hidden * c + c * hidden)
    return params, flops


def _down(size: int, stride: int) -> int:
    """Output side of a 1x1, padding-0 conv with ``stride``."""
    return (size - 1) // stride + 1


def cell_cost(cell: Cell, c_in: int, c_out: int, stride: int, size: tuple[int, int]) -> tuple[int, int, tuple[int, int]]:
    """(parameters, FLOPs, output (H, W)) of ``modules.CellModule(cell, c_in, c_out, stride)`` on an
    ``size`` = (H, W) input."""
    h, w = size
    params = flops = 0
    if c_in != c_out or stride != 1:  # ReLU, 1x1 conv with the stride, BN
        h, w = _down(h, stride), _down(w, stride)
        params += c_in * c_out + 2 * c_out
        flops += 2 * h * w * c_out * c_in
    live = live_nodes(cell)
    for i in range(NODES - 2):
        if live[i + 1]:
            p, f = op_cost(OPS[cell.ops[i]], c_out, cell.kernels[i], cell.se[i], h * w)
            params, flops = params + p, flops + f
    return params, flops, (h, w)


def macro_cost(macro: Macro, input_size: int | tuple[int, int] = 32) -> tuple[int, int]:
    """(parameters, FLOPs) of ``macro`` on one ``in_channels x H x W`` image, equal to
    `skeleton.count_cost` (which builds and runs the network)."""
    h, w = (input_size, input_size) if isinstance(input_size, int) else input_size
    stem = macro.stem
    params = macro.in_channels * stem * 9 + 2 * stem  # 3x3 conv (padding 1), BN
    flops = 2 * h * w * stem * macro.in_channels * 9
    c = stem
    for s in macro.stages:
        for r in range(s.repeats):
            p, f, (h, w) = cell_cost(macro.cells[s.cell], c, s.channels, s.stride if r == 0 else 1, (h, w))
            params, flops, c = params + p, flops + f, s.channels
    params += c * macro.head + 2 * macro.head  # 1x1 conv to the head width, BN
    flops += 2 * h * w * macro.head * c
    params += macro.head * macro.num_classes + macro.num_classes  # linear classifier
    flops += 2 * macro.num_classes * macro.head
    return params, flops
