import math

import numpy as np
import pytest

from nar_data.testing import hand_graph
from nar_model.metrics import bootstrap_ci, graded_scores, shortlist_scores, twin_ranks
from nar_model.relevance import Relevance, default_relevance, head_base, modality, query_groups
from nar_model.splits import family_kfold, split_units


def _g(model_id, ops=("conv2d", "relu"), family="f", coarse="cnn", task="image-classification"):
    edges = [(i, i + 1) for i in range(len(ops) - 1)]
    return hand_graph(list(ops), edges, model_id=model_id, family=family, coarse=coarse, task=task)


def test_head_base_collapses_transformers_heads_only():
    assert head_base("transformers:BertForMaskedLM") == head_base("transformers:BertModel") == "transformers:Bert"
    assert head_base("transformers:GPT2LMHeadModel") == "transformers:GPT2"
    assert head_base("timm:resnet50") == "timm:resnet50"
    assert modality("automatic-speech-recognition") == "audio" and modality("fill-mask") == "text"


def test_groups_join_head_variants_and_equal_arch_ids():
    graphs = [_g("transformers:BertModel"), _g("transformers:BertForMaskedLM", ("conv2d", "relu", "linear")),
              _g("timm:a", ("conv2d",)), _g("timm:b", ("conv2d",)), _g("timm:c", ("linear", "relu"))]
    groups = query_groups(graphs)
    assert groups[0] == groups[1] and groups[2] == groups[3]  # heads; same arch_id
    assert len({groups[0], groups[2], groups[4]}) == 3


def test_grades_and_twins():
    graphs = [_g("timm:vgg11", family="vgg"), _g("torchvision:vgg11", ("conv2d", "gelu"), family="vgg"),
              _g("timm:resnet", ("linear",), family="resnet"), _g("hf:bert", ("linear", "gelu"), family="bert",
                                                                    coarse="transformer", task="fill-mask")]
    rel = default_relevance(graphs)
    assert rel.twins == [("timm:vgg11", "torchvision:vgg11")]
    g = rel.grades(graphs)
    assert g[0, 1] == 3 and g[0, 2] == 1 and g[0, 3] == 0 and g[2, 2] == 2
    assert rel.twin_index(graphs).tolist() == [[0, 1]]
    assert Relevance(["a"] * 4, ["k"] * 4, [("timm:vgg11", "nowhere")]).twin_index(graphs).shape == (0, 2)


def test_twin_pairs_join_transitively_even_through_an_absent_member():
    graphs = [_g(f"lib:{n}", ("conv2d",) * (i + 1)) for i, n in enumerate("abcde")]
    # a-b and b-c listed: a and c are twins; d and e are twins only through a Hub checkpoint not in the set
    rel = Relevance(["f"] * 5, ["k"] * 5, [("lib:a", "lib:b"), ("lib:c", "lib:b"), ("lib:d", "hf:x"), ("hf:x", "lib:e")])
    groups = rel.twin_groups(graphs)
    assert groups[0] == groups[1] == groups[2] != groups[3] == groups[4]
    g = rel.grades(graphs)
    assert g[0, 2] == g[2, 0] == 3 and g[3, 4] == 3 and g[0, 3] == 2
    assert rel.twin_index(graphs).tolist() == [[0, 1], [1, 2]]  # the benchmark keeps the listed pairs only
    assert (Relevance(["f"] * 5, ["k"] * 5).twin_groups(graphs) == -1).all()
    # with the query groups, a twin's head variant (same group, never listed) joins its twin group
    head = np.array([0, 1, 2, 3, 2])  # e is c's head variant
    alone = Relevance(["f"] * 5, ["k"] * 5, [("lib:a", "lib:c")])
    assert alone.twin_groups(graphs)[4] == -1 and alone.grades(graphs)[0, 4] == 2
    grouped = alone.twin_groups(graphs, head)
    assert grouped[0] == grouped[2] == grouped[4] != grouped[1] and alone.grades(graphs, head)[0, 4] == 3


def test_filtered_twin_ranks_skip_the_querys_other_twins_and_the_twins_own_group():
    # query 0 with twins 1 and 2 (one twin group); 3 is 2's head variant (same group); 4 is a sibling
    emb = np.array([[1, 0], [0.9, 0.44], [0.95, 0.31], [0.97, 0.24], [0.93, 0.37]], dtype=np.float32)
    groups = np.array([0, 1, 2, 2, 4])
    grades = np.full((5, 5), 2, dtype=np.int8)
    grades[np.ix_([0, 1, 2, 3], [0, 1, 2, 3])] = 3  # 3 is also a twin of 0 through its group
    grades[3, :] = grades[:, 3] = 2
    grades[3, 3] = 3
    pairs = np.array([[0, 1], [0, 2]])
    # by cosine to 0: 3 (.97), 2 (.95), 4 (.93), 1 (.90)
    assert twin_ranks(emb, pairs, groups, [0])[1].tolist() == [4, 2]  # raw: every candidate counts
    # filtered: twin 1 has only the sibling 4 above it (2 is another twin of 0, 3 is in 2's group, not 1's:
    # it is not a twin of 0 here, so it counts); twin 2 loses nothing to its own head variant 3
    assert twin_ranks(emb, pairs, groups, [0], grades=grades)[1].tolist() == [3, 1]


def test_graded_scores_by_hand_and_own_group_takes_no_rank():
    # query 0; 1 is its own group (never ranked); candidates ranked 2 (family), 3 (kind), 4 (family)
    emb = np.array([[1, 0], [1, 0], [0.9, 0.1], [0.8, 0.2], [0.1, 0.9]], dtype=np.float32)
    grades = np.array([[2, 2, 2, 1, 2]] * 5, dtype=np.int8)
    groups = np.array([0, 0, 1, 2, 3])
    s = graded_scores(emb, grades, groups, [0], ks=(3,))
    assert s["query"].tolist() == [0] and s["mrr@3"][0] == 1.0
    assert s["map@3"][0] == pytest.approx((1 + 2 / 3) / 2)  # R = 2 (items 2 and 4), hits at 1 and 3
    gains = np.array([3.0, 1.0, 3.0])  # 2**g - 1
    disc = 1 / np.log2(np.arange(2, 5))
    ideal = np.array([3.0, 3.0, 1.0])
    assert s["ndcg@3"][0] == pytest.approx(float(gains @ disc) / float(ideal @ disc))
    # a query whose only relevant item is in its own group is skipped
    assert len(graded_scores(emb, np.eye(5, dtype=np.int8) * 2 + (groups[:, None] == groups) * 2, groups, [0],
                             ks=(3,))["query"]) == 0
    assert math.isclose(s["ndcg@3"][0], s["ndcg@3"][0])


def test_twin_ranks_and_bootstrap():
    emb = np.array([[1, 0], [0, 1], [0.9, 0.1], [0.1, 0.9]], dtype=np.float32)
    groups = np.arange(4)
    q, r = twin_ranks(emb, np.array([[0, 1]]), groups)
    assert q.tolist() == [0, 1] and r.tolist() == [3, 3]  # the other item of each side ranks first
    assert twin_ranks(emb, np.array([[0, 1]]), np.array([0, 0, 1, 2]))[1].size == 0  # one group: skipped
    lo, mid, hi = bootstrap_ci(np.array([0.0, 1.0] * 50), resamples=500)
    assert lo < mid == 0.5 < hi and hi - lo < 0.3
    assert bootstrap_ci(np.ones(10))[0] == 1.0


def test_split_units_keep_linked_families_together():
    fams = ["a", "a", "b", "c", "c", "d", "unknown"]
    units = split_units(fams, [(0, 2), (6, 3)])  # a-b linked; an unknown link does nothing
    assert units[:3] == ["a+b"] * 3 and units[3] == "c" and units[6] == "unknown"
    for train, test in family_kfold(units, 2, seed=0):
        held = {fams[i] for i in test}
        assert ("a" in held) == ("b" in held)


def test_shortlist_scores_reorder_only_the_shortlist():
    # query 0: by `first` the order is 1, 2, 3, 4; `second` prefers 2 over 1 and 4 most of all, but 4 is
    # outside the shortlist of 3 (0 itself, 1, 2), so it stays behind them; 3 keeps its `first` place
    first = np.array([[1, 0], [0.9, 0.1], [0.8, 0.2], [0.5, 0.5], [0.0, 1.0]], dtype=np.float32)
    second = np.array([[1, 0], [0.2, 0.8], [0.6, 0.4], [0.0, 1.0], [1.0, 0.0]], dtype=np.float32)
    s = shortlist_scores(first, second, [0], shortlist=3)
    assert (s[1:] == 0).all()
    assert np.argsort(-s[0])[1:].tolist() == [2, 1, 3, 4]
    groups = np.arange(5)
    grades = np.array([[2, 2, 0, 0, 0]] * 5, dtype=np.int8)
    plain = graded_scores(first, grades, groups, [0], ks=(1,))
    rer = graded_scores(first, grades, groups, [0], ks=(1,), scores=s)
    assert plain["mrr@1"][0] == 1.0 and rer["mrr@1"][0] == 0.0  # item 1 (relevant) lost rank 1 to item 2
    assert twin_ranks(first, np.array([[0, 1]]), groups, [0])[1].tolist() == [1]
    assert twin_ranks(first, np.array([[0, 1]]), groups, [0], scores=s)[1].tolist() == [2]
