"""The page's JSON API over a tiny dataset (FastAPI's test client; no browser)."""

from __future__ import annotations

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
    with TestClient(create_app(backend, map_method="pca")) as c:
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
    assert res["unseen"] is False and res["title"] == "hand:vggish-3-16"
    first = res["hits"][0]
    assert first["twin"] and first["arch_id"] == res["arch_id"] and first["rank"] == 1
    assert set(first) >= {"score", "model", "family", "task", "params", "flops"}
    assert first["params"] == 3000 and first["task"] == "image-classification"
    assert len(res["hits"]) == 5 and len(res["map_xy"]) == 2


def test_unseen_model_is_traced_and_a_failing_one_gives_one_line(client, backend):
    j = _search(client, "testing:cnn")
    assert j["state"] == "done", j
    assert j["result"]["unseen"] is True and not any(h["twin"] for h in j["result"]["hits"])
    stages: list[str] = []  # what the page shows while the job runs
    backend.search("testing:mlp", 3, stages.append)
    assert len(stages) == 2 and "building" in stages[0] and "testing:mlp" in stages[0] and stages[1] == "ranking"
    bad = _search(client, "testing:raise")
    assert bad["state"] == "failed" and "\n" not in bad["error"] and bad["error"]
    missing = _search(client, "no-such-model")
    assert missing["state"] == "failed" and "'no-such-model' is not in the dataset" in missing["error"]
    r = client.post("/api/search-config", json={"name": "config.json", "text": "{not json"})
    broken = _wait(client, r.json()["job"])
    assert broken["state"] == "failed" and "not valid JSON" in broken["error"]


def test_graph_explain_map_and_dataset_endpoints(client, ui_dataset):
    data, _ = ui_dataset
    res = _search(client, "hand:resnetish-3-16")["result"]
    match = res["hits"][1]["arch_id"]
    g = client.get("/api/graph", params={"query": res["arch_id"], "match": match}).json()
    assert g["query"]["title"] == "hand:resnetish-3-16" and g["match"]["arch_id"] == match
    assert g["query"]["macro"]["nodes"] and g["match"]["ops"]["nodes"]
    ex = client.get("/api/explain", params={"query": res["arch_id"], "match": match}).json()
    assert ex["summary"] and ex["side_by_side"]["nodes"][0] == res["nodes"]
    assert client.get("/api/graph", params={"query": "nope", "match": match}).status_code == 404
    m = client.get("/api/map").json()
    assert m["method"] == "pca" and len(m["points"]) == 24
    assert {p["coarse"] for p in m["points"]} == {"cnn", "transformer", "mlp"}
    assert list((data / "_ui").glob("map-wl-*.parquet"))
    d = client.get("/api/dataset").json()
    assert d["coverage"]["sources"]["hand"]["failed"] == 1 and d["ops"][0]["nodes"] > 0


def test_one_line_keeps_the_first_line_and_the_class():
    assert one_line(RuntimeError("boom\nstack")) == "RuntimeError: boom"
    assert len(one_line(ValueError("x" * 1000))) == 300
