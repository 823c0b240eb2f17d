"""`bench/retrieval_bench.py --reuse PATH`: rows of an earlier JSON of the same protocol are copied, others refused."""

import importlib.util
import json
from pathlib import Path

import pytest

BENCH = Path(__file__).parents[2] / "bench" / "retrieval_bench.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("retrieval_bench", BENCH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def bench_source():
    from nar.relevance import SOURCE
    return SOURCE


def earlier(tmp_path, per_query=True, **protocol):
    row = {"mrr@20": .9, "map@20": .6, "ndcg@20": .7, "map@20_ci": [.5, .7], "ndcg@20_ci": [.6, .8],
           "mrr@20_ci": [.8, .95], "twins": {"pairs": 4, "hit@1": .25, "hit@5": .5, "median_rank": 5.0},
           "fit_s": 3.0, "embed_ms": 1.0}
    if per_query:
        row |= {"query": [0, 1], "per_query": {"map@20": [.5, .7], "ndcg@20": [.6, .8], "mrr@20": [1., .8]}}
    p = {"folds": 3, "seeds": [0], "transductive": True, "relevance": bench_source(), **protocol}
    path = tmp_path / "old.json"
    path.write_text(json.dumps({"dataset": "/somewhere/else/all-full", "queries": 2,
                                "methods": {"gcn": row, "wl": row}, "protocol": p}))
    return path


def test_rows_of_the_same_protocol_are_copied_with_their_per_query_values(bench, tmp_path):
    key = bench.protocol_key(Path("data/all-full"), 3, [0], True)
    rows = bench.reuse_rows(earlier(tmp_path), key, 2, ["gcn", "nar"])
    assert list(rows) == ["gcn"]  # only the rows asked for, and only those it holds
    r = rows["gcn"]
    assert r["standard"]["map@20"] == .6 and r["ci"]["ndcg@20"] == [.6, .8] and r["twins"]["hit@5"] == .5
    assert r["per_query"]["map@20"] == [.5, .7] and r["reused_from"].endswith("old.json")
    assert "per_query" not in bench.reuse_rows(earlier(tmp_path, per_query=False), key, 2, ["gcn"])["gcn"]
    # the JSON a run writes holds what a later run needs to pair a reused row
    written = bench.method_json({**r, "query": [0, 1]})
    assert written["per_query"]["map@20"] == [.5, .7] and written["reused_from"] == r["reused_from"]


@pytest.mark.parametrize("change, what", [({"folds": 5}, "folds"), ({"seeds": [0, 1]}, "seeds"),
                                          ({"transductive": False}, "transductive"),
                                          ({"relevance": "nar_data.taxonomy (+ same-name timm/torchvision twins)"},
                                           "relevance")])
def test_another_protocol_is_refused_in_one_line(bench, tmp_path, change, what):
    key = bench.protocol_key(Path("data/all-full"), 3, [0], True)
    with pytest.raises(SystemExit, match=what) as e:
        bench.reuse_rows(earlier(tmp_path, **change), key, 2, ["gcn"])
    assert "\n" not in str(e.value)


def test_another_dataset_or_query_count_is_refused(bench, tmp_path):
    path = earlier(tmp_path)
    with pytest.raises(SystemExit, match="dataset"):
        bench.reuse_rows(path, bench.protocol_key(Path("data/nar"), 3, [0], True), 2, ["gcn"])
    with pytest.raises(SystemExit, match="queries 2, this run 3"):
        bench.reuse_rows(path, bench.protocol_key(Path("data/all-full"), 3, [0], True), 3, ["gcn"])
