"""The page's JSON API over a tiny dataset (FastAPI's test client; no browser)."""

from __future__ import annotations

import json
import time

import pytest

pytest.importorskip("plotly", reason="the page's plotly.js comes from the `ui` extra: pip install -e '.[ui]'")

from fastapi.testclient import TestClient  # noqa: E402

from nar.ui.backend import UiBackend  # noqa: E402
from nar.ui.server import create_app, one_line  # noqa: E402


@pytest.fixture(scope="module")
def backend(ui_dataset):
    return UiBackend(*ui_dataset)


@pytest.fixture(scope="module")
def client(backend):
    with TestClient(create_app(backend, map_method="pca", warm=False)) as c:
        yield c


def _wait(client: TestClient, job: str) -> dict:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        j = client.get(f"/api/jobs/{job}").json()
        if j["state"] != "running":
            return j
        time.sleep(0.05)
    raise AssertionError(f"job {job} still running: {j}")


def _search(client: TestClient, query: str, k: int = 5) -> dict:
    r = client.post("/api/search", json={"query": query, "k": k})
    assert r.status_code == 200, r.text
    return _wait(client, r.json()["job"])


def test_page_and_its_assets_are_served_locally(client):
    html = client.get("/").text
    assert 'src="/vendor/plotly.min.js"' in html and "http" not in html.split("<body>")[0].replace("http-equiv", "")
    assert client.get("/vendor/plotly.min.js").text.lstrip().startswith("/**")
    assert "function search" in client.get("/static/app.js").text
    assert client.get("/static/../server.py").status_code == 404


def test_search_of_a_dataset_model_lists_its_twin_first(client, graphs):
    j = _search(client, "hand:vggish-3-16")
    assert j["state"] == "done", j
    res = j["result"]
    assert res["traced"] is False and res["query"]["title"] == "hand:vggish-3-16"
    assert res["twins_total"] == 0 and not any(h["twin"] for h in res["hits"])  # its own row is not a hit
    first = res["hits"][0]
    assert set(first) >= {"rank", "score", "model_id", "family", "task", "num_params", "flops", "twin", "mark"}
    assert first["rank"] == 1 and first["task"] == "image-classification" and first["num_params"] > 0
    assert len(res["hits"]) == 5 and len(res["map_xy"]) == 2


def test_unseen_model_is_traced_and_a_failing_one_gives_one_line(client, backend):
    j = _search(client, "testing:cnn")
    assert j["state"] == "done", j
    res = j["result"]
    assert res["traced"] is True and res["query"]["in_dataset"] is False and res["query"]["form"] == "source"
    assert not any(h["twin"] for h in res["hits"]) and len(res["map_xy"]) == 2
    # ranked exactly as `nar search` ranks (the page traces once and ranks that graph itself)
    mine = backend.search("testing:cnn", 5).result
    theirs = backend.searcher.query("testing:cnn", k=5)
    assert [(h.arch_id, h.model_id, h.twin) for h in mine.hits] == [(h.arch_id, h.model_id, h.twin) for h in theirs.hits]
    assert [h.score for h in mine.hits] == pytest.approx([h.score for h in theirs.hits], abs=1e-3)
    assert (mine.query.title, mine.query.arch_id, mine.twins_total) == (theirs.query.title, theirs.query.arch_id,
                                                                          theirs.twins_total)
    stages: list[str] = []  # what the page shows while the job runs
    assert backend.search("testing:mlp", 3, stages.append).traced
    assert len(stages) == 2 and "testing:mlp" in stages[0] and stages[1] == "embedding and ranking"
    bad = _search(client, "testing:raise")
    assert bad["state"] == "failed" and "\n" not in bad["error"] and "raise" in bad["error"]
    missing = _search(client, "no-such-model")
    assert missing["state"] == "failed" and "no-such-model" in missing["error"]
    r = client.post("/api/search-config", json={"name": "config.json", "text": "{not json"})
    broken = _wait(client, r.json()["job"])
    assert broken["state"] == "failed" and "not valid JSON" in broken["error"]


def test_graph_explain_map_and_dataset_endpoints(client, backend, ui_dataset):
    data, _ = ui_dataset
    from nar_model.explain import explain

    res = _search(client, "hand:resnetish-3-16")["result"]
    query, match = res["query"]["arch_id"], res["hits"][1]["arch_id"]
    g = client.get("/api/graph", params={"query": query, "match": match}).json()
    assert g["query"]["title"] == "hand:resnetish-3-16" and g["match"]["arch_id"] == match
    assert g["query"]["macro"]["nodes"] and g["match"]["ops"]["nodes"]
    ex = client.get("/api/explain", params={"query": query, "match": match}).json()
    expected = explain(backend.graph(query), backend.graph(match)).to_dict()  # the `nar search --explain` one
    assert ex == json.loads(json.dumps(expected))
    assert ex["summary"] and ex["stats"]["nodes"][0] == res["query"]["num_nodes"]
    assert client.get("/api/graph", params={"query": "nope", "match": match}).status_code == 404
    m = client.get("/api/map").json()
    assert m["method"] == "pca" and len(m["points"]) == 24
    assert {p["coarse"] for p in m["points"]} == {"cnn", "transformer", "mlp"}
    assert list((data / "_ui").glob("map-wl-*.parquet"))
    d = client.get("/api/dataset").json()
    assert d["coverage"]["sources"]["hand"]["failed"] == 1 and d["ops"][0]["nodes"] > 0


def test_one_line_keeps_the_first_line_and_the_class():
    from nar.errors import UnknownModelError

    assert one_line(RuntimeError("boom\nstack")) == "RuntimeError: boom"
    assert one_line(UnknownModelError("timm has no model 'x'")) == "timm has no model 'x'"  # as nar search says
    assert len(one_line(ValueError("x" * 1000))) == 300
