import json

import numpy as np
import pytest

from nar_model.config import EncoderConfig
from nar_model.data import GraphSet
from nar_model.evaluation import Method, Protocol, compare, run_protocol, table1_markdown

TINY = EncoderConfig(dim=16, token_buckets=64, token_epochs=5, batch_size=8)


def test_protocol_reports_cis_twins_and_paired_differences(tiny_graphs):
    gs = GraphSet(tiny_graphs)
    proto = Protocol.build(gs)
    # every split unit is whole: the near-twin rule never separates graphs at WL cosine >= 0.95
    wl = __import__("nar_model.encoders", fromlist=["get_encoder"]).get_encoder("wl").embed(gs.graphs)
    for train, test in proto.splits(3, seed=0):
        assert (wl[train] @ wl[test].T < 0.95).all()
    res = run_protocol(gs, [Method("wl", "wl"), Method("nar", "nar")], TINY, folds=3, seeds=[0, 1], ks=(5,),
                       protocol=proto, resamples=200)
    for r in res.values():
        assert r["queries"] == len(gs)  # k-fold: every labelled graph is a query once per seed
        lo, hi = r["ci"]["map@5"]
        assert lo <= r["standard"]["map@5"] <= hi
    lo, mid, hi = compare(res["nar"], res["wl"], "map@5", resamples=200)
    assert lo <= mid <= hi
    assert mid == pytest.approx(np.mean(res["nar"]["per_query"]["map@5"]) - np.mean(res["wl"]["per_query"]["map@5"]))
    json.dumps(res)  # plain types only
    assert "| nar |" in table1_markdown({"tiny": res}, ks=(5,))


def test_rerank_row_fits_both_encoders_and_differs_from_the_plain_row(tiny_graphs):
    gs = GraphSet(tiny_graphs)
    proto = Protocol.build(gs)
    rows = [Method("nar", "nar"), Method("nar+rerank", "nar", rerank="wl_tokens", shortlist=5),
            Method("nar+rerank-all", "nar", rerank="wl_tokens", shortlist=len(gs)),
            Method("wl_tokens", "wl_tokens")]
    res = run_protocol(gs, rows, TINY, folds=3, seeds=[0], ks=(5,), protocol=proto, resamples=100)
    assert res["nar+rerank"]["rerank"] == "wl_tokens" and res["nar+rerank"]["shortlist"] == 5
    # a shortlist of the whole database is the re-ranker's own order
    assert res["nar+rerank-all"]["per_query"]["map@5"] == pytest.approx(res["wl_tokens"]["per_query"]["map@5"])
    assert res["nar+rerank-all"]["twin_ranks"] == res["wl_tokens"]["twin_ranks"]
    json.dumps(res)
