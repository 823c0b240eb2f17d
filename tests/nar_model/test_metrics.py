import math

import numpy as np
import pytest

from nar_model.metrics import ap_at_k, evaluate, mrr_at_k, ndcg_at_k, rank_database


def test_single_query_values_by_hand():
    rel = np.array([0, 1, 0, 1])  # relevant at ranks 2 and 4, R = 2
    assert mrr_at_k(rel, 4) == pytest.approx(0.5)
    assert ap_at_k(rel, 2, 4) == pytest.approx((1 / 2 + 2 / 4) / 2)
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    assert ndcg_at_k(rel, 2, 4) == pytest.approx(dcg / (1 + 1 / math.log2(3)))
    # cut at k = 2: one hit; AP and IDCG over min(R, k) = 2
    assert ap_at_k(rel, 2, 2) == pytest.approx((1 / 2) / 2)
    assert ndcg_at_k(rel, 2, 2) == pytest.approx((1 / math.log2(3)) / (1 + 1 / math.log2(3)))


def test_normalisers_use_min_r_k_and_legacy_uses_full_class():
    rel = np.array([1, 1, 0])
    assert ap_at_k(rel, 10, 2) == pytest.approx(1.0)  # min(R, k) = 2: a perfect top 2
    assert ndcg_at_k(rel, 10, 2) == pytest.approx(1.0)
    assert ap_at_k(rel, 10, 2, denominator=11) == pytest.approx(2 / 11)
    assert ndcg_at_k(np.array([1, 0, 0]), 1, 3, ideal=2, floor=0.3) == pytest.approx(1 / (1 + 1 / math.log2(3)))


def test_no_hits_and_empty_relevant_set_give_zero():
    rel = np.zeros(5)
    assert mrr_at_k(rel, 5) == 0.0 and ap_at_k(rel, 3, 5) == 0.0 and ndcg_at_k(rel, 3, 5) == 0.0
    assert ap_at_k(np.array([1.0]), 0, 5) == 0.0


def test_ties_break_by_database_index():
    db = np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    assert rank_database(db[0], db, exclude=0).tolist() == [1, 2, 3]
    assert rank_database(db[2], db, exclude=2, k=2).tolist() == [0, 1]


def test_evaluate_excludes_query_skips_singletons_and_unknown():
    emb = np.array([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9], [0.5, 0.5], [0.7, 0.7]], dtype=np.float32)
    labels = ["a", "a", "b", "b", "c", "unknown"]
    out = evaluate(emb, labels, ks=(1, 2))
    assert out["queries"] == 4  # c has no other member, unknown is never a query
    assert out["mrr@1"] == pytest.approx(1.0) and out["map@2"] == pytest.approx(1.0)
    # a query whose only relevant item ranks 2nd
    emb2 = np.array([[1, 0], [0, 1], [0.9, 0.1]], dtype=np.float32)
    out2 = evaluate(emb2, ["a", "a", "b"], queries=[0], ks=(2,))
    assert out2["mrr@2"] == pytest.approx(0.5) and out2["map@2"] == pytest.approx(0.5)
    assert out2["ndcg@2"] == pytest.approx(1 / math.log2(3))


def test_legacy_variant_differs_as_documented():
    emb = np.eye(4, dtype=np.float32) + 0.01
    labels = ["a", "a", "a", "a"]
    std = evaluate(emb, labels, ks=(2,))
    leg = evaluate(emb, labels, ks=(2,), legacy=True)
    assert std["map@2"] == pytest.approx(1.0)
    assert leg["map@2"] == pytest.approx(1 / 4)  # k-1 = 1 result, divided by the class size 4
