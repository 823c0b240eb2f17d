"""A DARTS-space generator that emits `Graph`s with explicit relevance groups (the paper's NAS data).

Search space (Liu et al., DARTS; docs/method.md §6 with the fixes of §7.15):

* 7 ops: ``max_pool_3x3, avg_pool_3x3, skip_connect, sep_conv_3x3, sep_conv_5x5, dil_conv_3x3,
  dil_conv_5x5`` (no ``none``);
* a cell has two inputs (``preprocess`` nodes), 4 steps of 2 op nodes + ``add``, and a ``cat`` of
  the 4 step outputs: 15 nodes. Each op of step ``i`` reads one of the ``i + 2`` earlier states; the
  two inputs of a step are distinct and stored in a canonical order, so isomorphic cells coincide;
* a network: ``input -> stem conv -> bn``, 20 cells with reduction cells at 1/3 and 2/3 (cells 6 and
  13), cell ``i`` reading the outputs of cells ``i-2`` and ``i-1``, then ``adaptive_avg_pool ->
  linear -> output``: 3 + 20 * 15 + 3 = 306 nodes. Channels double and the feature map halves at
  each reduction, so shapes are real.

Relevance: ``B`` base normal cells x ``M`` reduction cells. Every network of group ``b`` shares the
normal cell ``b`` (18 of its 20 cells) and differs in its reduction cell; class (``family``) =
``normal-<b>``, so each group has ``M`` members and a query has ``M - 1`` relevant items. Base normal
cells differ pairwise in at least ``min_distance`` (default 4) of their 8 ``(input, op)`` slots: two
groups whose normal cells differ by one op would differ in 18 op nodes, less than two members of one
group with unrelated reduction cells (up to 2 x 8), so "same normal cell" would not be a well-posed
relevance (with 60 random groups, WL reached MAP@20 .900 with distance 1 allowed).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nar_data.hand import hand_graph
from nar_data.schema import Graph

__all__ = ["DARTS_OPS", "Genotype", "cell_distance", "darts_network", "nas_dataset", "random_cell"]

DARTS_OPS = ("max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3", "sep_conv_5x5",
             "dil_conv_3x3", "dil_conv_5x5")
STEPS = 4
CELLS = 20


@dataclass(frozen=True)
class Genotype:
    """One cell: for each of the 4 steps, two ``(input state, op)`` pairs (states 0, 1 = cell inputs)."""

    steps: tuple[tuple[tuple[int, str], tuple[int, str]], ...]


def random_cell(rng: np.random.Generator) -> Genotype:
    steps = []
    for i in range(STEPS):
        a, b = sorted(rng.choice(i + 2, size=2, replace=False).tolist())
        steps.append(((a, DARTS_OPS[rng.integers(len(DARTS_OPS))]), (b, DARTS_OPS[rng.integers(len(DARTS_OPS))])))
    return Genotype(tuple(steps))


def darts_network(normal: Genotype, reduction: Genotype, model_id: str = "nas:darts", family: str = "unknown",
                  cells: int = CELLS, channels: int = 16, resolution: int = 32) -> Graph:
    """The `Graph` of a DARTS network with the given normal and reduction cells."""
    ops: list[str] = []
    shapes: list[list[int]] = []
    edges: list[tuple[int, int]] = []

    def node(op: str, shape: list[int], *inputs: int) -> int:
        ops.append(op)
        shapes.append(shape)
        edges.extend((i, len(ops) - 1) for i in inputs)
        return len(ops) - 1

    c, r = channels, resolution
    x = node("input", [1, 3, r, r])
    x = node("conv2d", [1, 3 * c, r, r], x)
    stem = node("batch_norm", [1, 3 * c, r, r], x)
    prev_prev, prev = stem, stem
    reductions = {cells // 3, 2 * cells // 3}
    for i in range(cells):
        is_red = i in reductions
        if is_red:
            c, r = 2 * c, r // 2
        geno = reduction if is_red else normal
        shape = [1, c, r, r]
        states = [node("preprocess", shape, prev_prev), node("preprocess", shape, prev)]
        for (ia, opa), (ib, opb) in geno.steps:
            a = node(opa, shape, states[ia])
            b = node(opb, shape, states[ib])
            states.append(node("add", shape, a, b))
        out = node("cat", [1, STEPS * c, r, r], *states[2:])
        prev_prev, prev = prev, out
    x = node("adaptive_avg_pool2d", [1, STEPS * c, 1, 1], prev)
    x = node("linear", [1, 10], x)
    node("output", [1, 10], x)
    return hand_graph(ops, edges, model_id=model_id, shapes=shapes, source="nas", family=family,
                      coarse="cnn", task="nas", builder="nar_model.nas.darts_network")


def cell_distance(a: Genotype, b: Genotype) -> int:
    """How many of the 8 ``(input, op)`` slots differ between two cells."""
    return sum(x != y for sa, sb in zip(a.steps, b.steps) for x, y in zip(sa, sb))


def nas_dataset(base: int = 60, per_group: int = 10, seed: int = 0, min_distance: int = 4) -> list[Graph]:
    """``base`` groups x ``per_group`` networks; group ``b`` = normal cell ``b`` with distinct reduction cells.

    Cells are drawn without repetition (a cell never appears as the normal cell of two groups), so
    groups are disjoint and every network is a distinct architecture; normal cells are at least
    ``min_distance`` slots apart (see the module docstring).
    """
    rng = np.random.default_rng(seed)
    seen: set[Genotype] = set()
    normals: list[Genotype] = []

    def fresh() -> Genotype:
        while True:
            g = random_cell(rng)
            if g not in seen:
                seen.add(g)
                return g

    def fresh_normal() -> Genotype:
        for _ in range(100_000):
            g = fresh()
            if all(cell_distance(g, n) >= min_distance for n in normals):
                normals.append(g)
                return g
        raise ValueError(f"cannot draw {base} normal cells {min_distance} slots apart; lower min_distance")

    graphs = []
    for b in range(base):
        normal = fresh_normal()
        for m in range(per_group):
            graphs.append(darts_network(normal, fresh(), model_id=f"nas:darts-{b}-{m}", family=f"normal-{b}"))
    return graphs
