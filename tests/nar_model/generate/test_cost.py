"""The analytic parameter/FLOPs count equals the built-and-hooked `count_cost` on sampled networks."""

import numpy as np
import pytest

from nar_model.generate.cell import OPS, _make, sample_cells
from nar_model.generate.cost import cell_cost, macro_cost, op_cost
from nar_model.generate.skeleton import Macro, Stage, count_cost, sample_skeleton


def _chain() -> np.ndarray:
    """A chain through six nodes, so every node is live; ops chosen by the caller."""
    m = np.zeros((8, 8), dtype=int)
    for i in range(7):
        m[i, i + 1] = 1
    return m


@pytest.mark.parametrize("size", [16, 9])  # 9: odd sides round up at stride 2
def test_macro_cost_equals_count_cost_on_sampled_networks(size):
    rng = np.random.default_rng(size)
    cells = sample_cells(24, seed=size)
    for i in range(12):
        pair = (cells[2 * i], cells[2 * i + 1])
        stages = sample_skeleton(rng, 2, max_stages=4, max_repeats=3, max_channels=40)
        macro = Macro(pair, tuple(stages), stem=8 * int(rng.integers(1, 3)), head=16, num_classes=int(rng.integers(2, 12)))
        assert macro_cost(macro, size) == count_cost(macro, size, device="cpu"), macro.skeleton()


def test_every_op_kernel_and_se_is_counted_like_the_built_module():
    chain = _chain()
    for op in range(len(OPS)):
        for k in (1, 3, 5):
            for se in (False, True):
                cell = _make([op] * 6, [k] * 6, [se] * 6, chain)
                macro = Macro((cell,), (Stage(0, 24, 1, 1), Stage(0, 32, 2, 1)), stem=8, head=16)
                assert macro_cost(macro, 8) == count_cost(macro, 8, device="cpu"), (OPS[op], k, se)


def test_dead_nodes_cost_nothing_and_costs_add_up():
    cell = sample_cells(1, seed=2)[0]
    p, f, hw = cell_cost(cell, 16, 32, 2, (9, 9))
    assert hw == (5, 5) and p > 0 and f > 0
    assert op_cost("skip", 32, 1, False, 25) == (0, 0) and op_cost("avg_pool", 32, 3, False, 25) == (0, 0)
    assert op_cost("conv", 8, 3, False, 4) == (8 * 8 * 9 + 16, 2 * 8 * 8 * 9 * 4)
    with pytest.raises(ValueError, match="valid operations"):
        op_cost("nope", 8, 3, False, 4)


@pytest.mark.slow
def test_macro_cost_equals_count_cost_on_meta_at_full_width():
    rng = np.random.default_rng(7)
    for cell in sample_cells(4, seed=7):
        stages = sample_skeleton(rng, 1, max_stages=4, max_repeats=4, min_channels=256, max_channels=1024)
        macro = Macro((cell,), tuple(stages), stem=32, head=256, num_classes=1000)
        assert macro_cost(macro, 64) == count_cost(macro, 64, device="meta")
