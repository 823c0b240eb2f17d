from collections import Counter

import numpy as np

from nar_model.nas import DARTS_OPS, darts_network, nas_dataset, random_cell


def test_darts_network_structure():
    rng = np.random.default_rng(0)
    g = darts_network(random_cell(rng), random_cell(rng))
    assert g.num_nodes == 3 + 20 * 15 + 3
    ops = Counter(g.op_name)
    assert ops["cat"] == 20 and ops["add"] == 80 and ops["preprocess"] == 40
    assert sum(ops[o] for o in DARTS_OPS) == 160
    # two reductions: channels double twice
    widths = sorted({s[1] for s, o in zip(g.shape, g.op_name) if o == "cat"})
    assert widths == [64, 128, 256]
    assert all(s < d for s, d in zip(g.src.tolist(), g.dst.tolist()))  # emitted in topological order


def test_groups_share_their_normal_cell_and_are_distinct():
    graphs = nas_dataset(base=3, per_group=4, seed=0)
    assert len(graphs) == 12 and len({g.arch_id for g in graphs}) == 12
    assert Counter(g.family for g in graphs) == {"normal-0": 4, "normal-1": 4, "normal-2": 4}
    assert [g.arch_id for g in nas_dataset(base=3, per_group=4, seed=0)] == [g.arch_id for g in graphs]


def test_normal_cells_are_min_distance_apart():
    import pytest

    from nar_model.nas import cell_distance

    rng = np.random.default_rng(1)
    a = random_cell(rng)
    assert cell_distance(a, a) == 0
    # recover each group's normal cell: the op names of cell 0 (a normal cell) of its first network
    graphs = nas_dataset(base=20, per_group=2, seed=0, min_distance=5)
    firsts = [g for g in graphs if g.model_id.endswith("-0")]
    cells = [tuple(g.op_name[5:5 + 15]) for g in firsts]
    assert len(set(cells)) == 20
    with pytest.raises(ValueError, match="min_distance"):
        nas_dataset(base=50, per_group=1, seed=0, min_distance=9)  # 8 slots: 9 apart is impossible
