"""Cells and macro architectures as `torch.nn.Module`s.

Every operation maps ``C`` channels to ``C`` at stride 1 (padding keeps the size); a cell's input node
is a ReLU-1x1 conv-BN carrying the stage's stride and channel change (identity when neither changes), so
any cell fits any slot of any macro skeleton. Operations are built by a registry (``@register_op``).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from .cell import NODES, OPS, Cell, live_nodes

__all__ = ["CellModule", "Network", "build_op", "register_op"]

_OPS: dict[str, Callable[[int, int], nn.Module]] = {}


def register_op(name: str) -> Callable[[Callable[[int, int], nn.Module]], Callable[[int, int], nn.Module]]:
    def decorator(fn: Callable[[int, int], nn.Module]) -> Callable[[int, int], nn.Module]:
        _OPS[name] = fn
        return fn

    return decorator


def build_op(name: str, channels: int, kernel: int, se: bool = False) -> nn.Module:
    """The operation ``name`` (one of `OPS`) on ``channels`` channels, optionally followed by squeeze-excite."""
    if name not in _OPS:
        raise ValueError(f"Unknown cell operation {name!r}; valid operations: {sorted(_OPS)}")
    op = _OPS[name](channels, kernel)
    return nn.Sequential(op, SqueezeExcite(channels)) if se else op


class SqueezeExcite(nn.Module):
    def __init__(self, channels: int, reduction: int = 4) -> None:
        super().__init__()
        hidden = max(8, channels // reduction)
        self.fc1, self.fc2 = nn.Conv2d(channels, hidden, 1), nn.Conv2d(hidden, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = x.mean((2, 3), keepdim=True)
        return x * torch.sigmoid(self.fc2(torch.relu(self.fc1(s))))


def _bn(c: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(c)


@register_op("skip")
def _skip(c: int, k: int) -> nn.Module:
    return nn.Identity()


@register_op("avg_pool")
def _avg_pool(c: int, k: int) -> nn.Module:
    return nn.AvgPool2d(k, 1, k // 2, count_include_pad=False)


@register_op("conv")
def _conv(c: int, k: int) -> nn.Module:
    return nn.Sequential(nn.ReLU(), nn.Conv2d(c, c, k, padding=k // 2, bias=False), _bn(c))


@register_op("sep_conv")
def _sep_conv(c: int, k: int) -> nn.Module:
    return nn.Sequential(nn.ReLU(), nn.Conv2d(c, c, k, padding=k // 2, groups=c, bias=False),
                         nn.Conv2d(c, c, 1, bias=False), _bn(c))


@register_op("dil_conv")
def _dil_conv(c: int, k: int) -> nn.Module:
    return nn.Sequential(nn.ReLU(), nn.Conv2d(c, c, k, padding=k - 1, dilation=2, groups=c, bias=False),
                         nn.Conv2d(c, c, 1, bias=False), _bn(c))


def _mbconv(c: int, k: int, expand: int) -> nn.Module:
    h = c * expand
    return nn.Sequential(nn.Conv2d(c, h, 1, bias=False), _bn(h), nn.ReLU(),
                         nn.Conv2d(h, h, k, padding=k // 2, groups=h, bias=False), _bn(h), nn.ReLU(),
                         nn.Conv2d(h, c, 1, bias=False), _bn(c))


def _bottleneck(c: int, k: int, ratio: float) -> nn.Module:
    h = max(8, int(c * ratio))
    return nn.Sequential(nn.Conv2d(c, h, 1, bias=False), _bn(h), nn.ReLU(),
                         nn.Conv2d(h, h, k, padding=k // 2, bias=False), _bn(h), nn.ReLU(),
                         nn.Conv2d(h, c, 1, bias=False), _bn(c))


for _e in (2, 3, 6):
    register_op(f"mbconv_e{_e}")(lambda c, k, e=_e: _mbconv(c, k, e))
for _r in (0.5, 0.25):
    register_op(f"bottleneck_r{_r}")(lambda c, k, r=_r: _bottleneck(c, k, r))


class CellModule(nn.Module):
    """A cell on ``c_out`` channels; the input node adapts ``c_in`` and applies ``stride``."""

    def __init__(self, cell: Cell, c_in: int, c_out: int, stride: int = 1) -> None:
        super().__init__()
        self.cell = cell
        self.pre = (nn.Identity() if c_in == c_out and stride == 1 else
                    nn.Sequential(nn.ReLU(), nn.Conv2d(c_in, c_out, 1, stride, bias=False), _bn(c_out)))
        live = live_nodes(cell)
        m = cell.matrix
        # Only nodes on an input -> output path compute; their parents, also live, are what they sum.
        self.parents = [[int(p) for p in range(j) if m[p, j] and live[p]] for j in range(NODES)]
        self.live = [bool(v) for v in live]
        self.nodes = nn.ModuleList(
            [build_op(OPS[cell.ops[i]], c_out, cell.kernels[i], cell.se[i]) if self.live[i + 1] else nn.Identity()
             for i in range(NODES - 2)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        states: list[torch.Tensor | None] = [self.pre(x)] + [None] * (NODES - 1)
        for j in range(1, NODES):
            if not self.live[j]:
                continue
            s = states[self.parents[j][0]]
            for p in self.parents[j][1:]:
                s = s + states[p]
            states[j] = self.nodes[j - 1](s) if j < NODES - 1 else s
        return states[-1]


class Network(nn.Module):
    """Stem conv, stages of cells, a 1x1 conv to the head width, global pooling, a linear classifier."""

    def __init__(self, cells: list[Cell], stages: list[tuple[int, int, int, int]], stem: int = 16,
                 head: int = 128, num_classes: int = 10, in_channels: int = 3) -> None:
        """``stages`` are ``(cell index into cells, channels, stride, repeats)``; the stride applies to the
        first cell of the stage."""
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_channels, stem, 3, padding=1, bias=False), _bn(stem))
        blocks, c = [], stem
        for cell_index, channels, stride, repeats in stages:
            for r in range(repeats):
                blocks.append(CellModule(cells[cell_index], c, channels, stride if r == 0 else 1))
                c = channels
        self.cells = nn.Sequential(*blocks)
        self.head = nn.Sequential(nn.Conv2d(c, head, 1, bias=False), _bn(head), nn.ReLU())
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(head, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.pool(self.head(self.cells(self.stem(x)))).flatten(1))
