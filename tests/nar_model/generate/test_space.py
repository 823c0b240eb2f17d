"""Cell and macro spaces: sampling validity, hashing, repair invariants, instantiation forward."""

import numpy as np
import pytest
import torch

from nar_model.generate import (Cell, Macro, Stage, build_network, cell_hash, count_cost, decode_cell, encode_cell,
                                is_valid, macro_hash, repair, sample_cells, sample_skeleton, zc_scores)
from nar_model.generate.cell import NODES, NUM_FEATURES


def test_sampled_cells_are_valid_distinct_and_deterministic():
    cells = sample_cells(100, seed=3)
    assert all(is_valid(c) for c in cells)
    assert len({cell_hash(c) for c in cells}) == 100
    assert [cell_hash(c) for c in sample_cells(100, seed=3)] == [cell_hash(c) for c in cells]
    assert [cell_hash(c) for c in sample_cells(100, seed=4)] != [cell_hash(c) for c in cells]


def test_hash_ignores_node_order_but_not_ops():
    m = np.zeros((NODES, NODES), dtype=int)
    m[0, 1] = m[0, 2] = m[1, 3] = m[2, 3] = m[3, 4] = m[4, 5] = m[5, 6] = m[6, 7] = 1
    ops = [2, 3, 4, 4, 4, 4]
    a = decode_cell(m, ops, [1] * 6, [0] * 6)
    b = decode_cell(m, [3, 2, 4, 4, 4, 4], [1] * 6, [0] * 6)  # nodes 1 and 2 swapped: isomorphic
    c = decode_cell(m, [3, 3, 4, 4, 4, 4], [1] * 6, [0] * 6)
    assert cell_hash(a) == cell_hash(b) != cell_hash(c)


def test_repair_gives_every_node_a_parent_and_a_child():
    rng = np.random.default_rng(0)
    for _ in range(50):
        adj = (rng.random((NODES, NODES)) < 0.2).astype(int)
        cell = decode_cell(adj, rng.integers(0, 10, 6), rng.integers(0, 3, 6), rng.integers(0, 2, 6), fix=False)
        fixed = repair(cell)
        assert is_valid(fixed) or fixed.num_edges < 3
        assert repair(fixed) == fixed  # idempotent


def test_encoding_shape_and_global_node():
    a, x = encode_cell(sample_cells(1)[0])
    assert a.shape == (NODES + 1, NODES + 1) and x.shape == (NODES + 1, NUM_FEATURES) == (9, 15)
    assert a[0, 1:].all() and not np.tril(a).any()


def test_network_runs_forward_and_cost_is_counted():
    cells = tuple(sample_cells(2, seed=1))
    macro = Macro(cells, (Stage(0, 8, 1, 1), Stage(1, 16, 2, 2)), stem=8, head=16)
    out = build_network(macro)(torch.randn(2, 3, 16, 16))
    assert out.shape == (2, 10)
    params, flops = count_cost(macro, 16, device="cpu")
    assert params == sum(p.numel() for p in build_network(macro).parameters()) and flops > 0
    assert macro_hash(macro) == macro_hash(Macro(cells, macro.stages, stem=8, head=16))
    assert macro_hash(macro) != macro_hash(macro.with_cells(cells[::-1]))


def test_macro_rejects_bad_stages():
    with pytest.raises(ValueError, match="multiple of 8"):
        Stage(0, 12, 1, 1)
    cells = tuple(sample_cells(1))
    with pytest.raises(ValueError, match="1..20 cells"):
        Macro(cells, (Stage(0, 8, 1, 21),))
    stages = sample_skeleton(np.random.default_rng(0), 1, max_channels=64)
    assert sum(s.repeats for s in stages) <= 20


def test_zc_scores_are_finite_and_carry_the_recipe():
    macro = Macro(tuple(sample_cells(1)), (Stage(0, 8, 1, 1),), stem=8, head=16)
    s = zc_scores(build_network(macro), batch=8, shape=(3, 8, 8))
    assert all(np.isfinite(s[k]) for k in ("naswot", "synflow", "grad_snr"))
    assert s["recipe"]["inputs"].startswith("gaussian") and s["recipe"]["batch"] == 8
    with pytest.raises(ValueError, match="valid proxies"):
        zc_scores(build_network(macro), proxies=("nope",))
