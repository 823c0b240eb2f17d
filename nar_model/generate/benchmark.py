"""A synthetic NAS benchmark with defined relevance: cell families x macro skeletons.

A *cell family* is a base cell and its one-node mutations (one operation node gets another op, kernel or
SE flag); base cells differ pairwise in at least ``min_distance`` of their 6 operation nodes or in their
wiring, so two families never blur into each other. A network puts one member of one family into every
stage of one skeleton. Every (family, skeleton) pair is one network, so each cell-family group has
``skeletons`` members and each skeleton group ``families`` members: two label sets, "same cell family" and
"same skeleton with other cells".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .cell import KERNELS, OPS, Cell, _make, cell_hash, is_valid, sample_cell
from .skeleton import Macro, Stage, macro_hash, sample_skeleton, skeleton_hash

__all__ = ["BenchItem", "benchmark_specs", "mutate_cell", "op_distance"]


@dataclass(frozen=True)
class BenchItem:
    """One network of the benchmark with its two group labels."""

    macro: Macro
    cell_family: str
    skeleton: str

    @property
    def model_id(self) -> str:
        return f"hgnas:{macro_hash(self.macro)}"


def op_distance(a: Cell, b: Cell) -> int:
    """Operation nodes that differ (op, kernel or SE), plus 1 if the wiring differs."""
    nodes = sum((x, y, z) != (u, v, w) for x, y, z, u, v, w in zip(a.ops, a.kernels, a.se, b.ops, b.kernels, b.se))
    return nodes + int(a.adj != b.adj)


def mutate_cell(cell: Cell, rng: np.random.Generator) -> Cell:
    """One operation node gets a new (op, kernel, SE); the wiring is kept."""
    while True:
        ops, kernels, se = list(cell.ops), list(cell.kernels), list(cell.se)
        i = int(rng.integers(len(ops)))
        ops[i] = int(rng.integers(len(OPS)))
        kernels[i] = KERNELS[int(rng.integers(len(KERNELS)))]
        se[i] = bool(rng.random() < 0.25)
        new = _make(ops, kernels, se, cell.matrix)
        if is_valid(new) and cell_hash(new) != cell_hash(cell):
            return new


def benchmark_specs(families: int = 50, skeletons: int = 40, variants: int = 4, seed: int = 0,
                    min_distance: int = 4, max_stages: int = 3, max_repeats: int = 2,
                    max_channels: int = 128) -> list[BenchItem]:
    """``families x skeletons`` networks, deterministic in ``seed``.

    Args:
        variants: members per cell family (the base cell and ``variants - 1`` mutations); a network draws
            one of them.
        max_stages / max_repeats / max_channels: size of the skeletons (smaller = faster to trace).
    """
    rng = np.random.default_rng(seed)
    bases: list[Cell] = []
    while len(bases) < families:
        c = sample_cell(rng)
        if all(op_distance(c, b) >= min_distance for b in bases):
            bases.append(c)
    fam_cells = []
    for b in bases:
        members = {cell_hash(b): b}
        while len(members) < variants:
            m = mutate_cell(b, rng)
            members.setdefault(cell_hash(m), m)
        fam_cells.append(list(members.values()))
    skels: dict[str, list[Stage]] = {}
    while len(skels) < skeletons:
        stages = sample_skeleton(rng, 1, max_stages, max_repeats, max_channels=max_channels)
        probe = Macro((bases[0],), tuple(stages), stem=16, head=64)
        skels.setdefault(skeleton_hash(probe), stages)
    items, seen = [], set()
    for f, members in enumerate(fam_cells):
        for s, (skey, stages) in enumerate(skels.items()):
            cell = members[int(rng.integers(len(members)))]
            macro = Macro((cell,), tuple(stages), stem=16, head=64)
            h = macro_hash(macro)
            if h in seen:
                continue
            seen.add(h)
            items.append(BenchItem(macro, f"cellfam-{f:03d}", f"skel-{s:03d}"))
    return items
