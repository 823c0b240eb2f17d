"""The macro space: a stem, stages of ``(cell, channels, stride, repeats)``, a head; sampling, hashing, cost.

Channels run 8..1024 in steps of 8, strides are 1 or 2, a network has at most `MAX_CELLS` cells. A
*skeleton* is the macro architecture with the cells left out (stage channels, strides, repeats, stem,
head); networks sharing a skeleton differ only in their cells.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from .cell import OPS, Cell, cell_hash
from .modules import Network

__all__ = ["MAX_CELLS", "Macro", "Stage", "build_network", "count_cost", "macro_from_dict", "macro_hash", "macro_to_dict", "sample_skeleton",
           "skeleton_hash"]

MAX_CELLS = 20
CHANNEL_STEP = 8
MAX_CHANNELS = 1024


@dataclass(frozen=True)
class Stage:
    """``repeats`` copies of cell ``cell`` (an index into `Macro.cells`) at ``channels``; the first has
    ``stride``."""

    cell: int
    channels: int
    stride: int
    repeats: int

    def __post_init__(self) -> None:
        if not (CHANNEL_STEP <= self.channels <= MAX_CHANNELS and self.channels % CHANNEL_STEP == 0):
            raise ValueError(f"Stage channels {self.channels}: use a multiple of {CHANNEL_STEP} in "
                             f"{CHANNEL_STEP}..{MAX_CHANNELS}")
        if self.stride not in (1, 2) or self.repeats < 1:
            raise ValueError(f"Stage stride {self.stride} / repeats {self.repeats}: stride is 1 or 2, repeats >= 1")


@dataclass(frozen=True)
class Macro:
    """A whole network: its distinct cells and the stages that use them."""

    cells: tuple[Cell, ...]
    stages: tuple[Stage, ...]
    stem: int = 16
    head: int = 128
    num_classes: int = 10
    in_channels: int = 3
    meta: dict = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        n = sum(s.repeats for s in self.stages)
        if not self.stages or n > MAX_CELLS:
            raise ValueError(f"A network has 1..{MAX_CELLS} cells; this one has {n}")
        bad = [s.cell for s in self.stages if not 0 <= s.cell < len(self.cells)]
        if bad:
            raise ValueError(f"Stage cell index {bad[0]} out of range for {len(self.cells)} cells")

    @property
    def num_cells(self) -> int:
        return sum(s.repeats for s in self.stages)

    def skeleton(self) -> dict:
        return {"stem": self.stem, "head": self.head, "classes": self.num_classes,
                "stages": [[s.channels, s.stride, s.repeats] for s in self.stages]}

    def with_cells(self, cells: tuple[Cell, ...]) -> "Macro":
        return Macro(cells, self.stages, self.stem, self.head, self.num_classes, self.in_channels, dict(self.meta))


def skeleton_hash(macro: Macro) -> str:
    return hashlib.blake2b(json.dumps(macro.skeleton(), sort_keys=True).encode(), digest_size=8).hexdigest()


def macro_hash(macro: Macro) -> str:
    """16 hex chars over the skeleton and, per stage, the hash of its cell: same network, same hash."""
    body = {"skeleton": macro.skeleton(), "cells": [cell_hash(macro.cells[s.cell]) for s in macro.stages]}
    return hashlib.blake2b(json.dumps(body, sort_keys=True).encode(), digest_size=8).hexdigest()


def sample_skeleton(rng: np.random.Generator, num_cells: int = 1, max_stages: int = 4, max_repeats: int = 3,
                    min_channels: int = 8, max_channels: int = 256, max_total: int = MAX_CELLS) -> list[Stage]:
    """Stages with cell indices drawn from ``range(num_cells)``; channels never shrink along the network."""
    n_stages = int(rng.integers(1, max_stages + 1))
    lo, hi = min_channels // CHANNEL_STEP, max_channels // CHANNEL_STEP
    chans = np.sort(rng.integers(lo, hi + 1, n_stages)) * CHANNEL_STEP
    stages, total = [], 0
    for i in range(n_stages):
        reps = int(rng.integers(1, max_repeats + 1))
        reps = min(reps, max_total - total - (n_stages - i - 1))
        stride = 1 if i == 0 else int(rng.choice([1, 2]))
        stages.append(Stage(int(rng.integers(0, num_cells)), int(chans[i]), stride, max(reps, 1)))
        total += max(reps, 1)
    return stages


def build_network(macro: Macro, device: str | torch.device = "cpu") -> Network:
    """The `Network` of ``macro`` (``device="meta"`` builds without allocating weights)."""
    with torch.device(device):
        return Network(list(macro.cells), [(s.cell, s.channels, s.stride, s.repeats) for s in macro.stages],
                       macro.stem, macro.head, macro.num_classes, macro.in_channels)


def count_cost(macro: Macro, input_size: int = 32, device: str = "meta") -> tuple[int, int]:
    """(parameters, FLOPs) of ``macro`` on one ``in_channels x input_size x input_size`` image, counted on
    ``device`` (meta: no weights allocated, but the first meta forward of a process costs ~10 s of torch
    imports; ``"cpu"`` for a few small networks). FLOPs = 2 x multiply-accumulates of convolutions and linear layers, from output shapes
    (forward hooks: torch's FlopCounterMode costs ~10 s on first use)."""
    net = build_network(macro, device)
    params = sum(p.numel() for p in net.parameters())
    total = [0]

    def hook(m: nn.Module, _inp: tuple, out: torch.Tensor) -> None:
        if isinstance(m, nn.Conv2d):
            total[0] += 2 * out.numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]
        else:
            total[0] += 2 * out.numel() * m.in_features

    hooks = [m.register_forward_hook(hook) for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.no_grad():
        net(torch.empty(1, macro.in_channels, input_size, input_size, device=device))
    for h in hooks:
        h.remove()
    return params, int(total[0])


def macro_to_dict(macro: Macro) -> dict:
    """JSON-ready form of ``macro`` (`macro_from_dict` inverts it)."""
    cells = [{"ops": [OPS[o] for o in c.ops], "kernels": list(c.kernels), "se": [bool(s) for s in c.se],
              "adj": [list(r) for r in c.adj]} for c in macro.cells]
    return {"cells": cells, "stages": [[s.cell, s.channels, s.stride, s.repeats] for s in macro.stages],
            "stem": macro.stem, "head": macro.head, "classes": macro.num_classes, "in_channels": macro.in_channels}


def macro_from_dict(d: dict) -> Macro:
    cells = tuple(Cell(tuple(OPS.index(o) for o in c["ops"]), tuple(c["kernels"]), tuple(c["se"]),
                       tuple(tuple(r) for r in c["adj"])) for c in d["cells"])
    return Macro(cells, tuple(Stage(*s) for s in d["stages"]), d["stem"], d["head"], d["classes"], d["in_channels"])
