"""Incremental refresh against the local Hub: counts API calls, traces, embeddings and uploaded files,
and checks the refreshed dataset equals a full rebuild of the final Hub state."""

from __future__ import annotations

import copy

import pytest

from flows.refresh import refresh_flow
from nar_data.parquet import read_table
from nar_data.testing.hub_fixtures import generate_repos, mutate_repo
from nar_data.testing.hub_server import HubRepo, running_hub

QUERY = {"search": "convnext"}  # ~a dozen repos over a few configs: real models that trace in about a second


def _state(out) -> dict:
    models = {(r["model_id"], r["sha"], r["arch_id"], r["status"]) for r in
              read_table(out, "models", ["model_id", "sha", "arch_id", "status"]).to_pylist()}
    latest = {}
    for r in read_table(out, "models", ["model_id", "sha", "arch_id", "status"]).to_pylist():
        latest[r["model_id"]] = (r["sha"], r["arch_id"], r["status"])
    emb = {r["arch_id"]: tuple(r["vector"]) for r in read_table(out, "embeddings", ["arch_id", "vector"]).to_pylist()}
    graphs = set(read_table(out, "graphs", ["arch_id"]).column("arch_id").to_pylist())
    return {"latest": latest, "graphs": graphs, "emb": emb, "rows": len(models)}


@pytest.mark.slow  # traces real convnext configs (tracing workers import timm + transformers): ~2-3 min
def test_refresh_is_incremental_and_equals_a_rebuild(tmp_path, prefect_api, monkeypatch) -> None:
    monkeypatch.setenv("HF_TOKEN", "hf_nar_test")
    out, ckpt = tmp_path / "nar", tmp_path / "wl.pt"
    with running_hub(copy.deepcopy(generate_repos(320)), page_size=100) as hub:
        params = dict(endpoint=hub.url, crawl_query=QUERY, ckpt=str(ckpt), encoder="wl", repo_id="nar/convnext",
                      quota="none")
        first = refresh_flow(out=str(out), **params)
        assert first["trace"]["traced"] >= 2 and first["embed"]["embedded"] == len(_state(out)["graphs"])
        files_1 = set(hub.repo("nar/convnext", "dataset").files)

        # K = 3 changes: two repos get a new commit (same config), one new fine-tune of a known base.
        repos = [r for r in hub.repos.values() if r.repo_type == "model" and "convnext" in r.repo_id.lower()]
        for r in repos[:2]:
            mutate_repo(r)
        hub.add(HubRepo.create("ft-new/convnext-tiny-224-finetuned-new", dict(repos[0].files), **repos[0].meta))
        hub.reset_counters()
        second = refresh_flow(out=str(out), **params)
        crawl, trace = second["crawl"], second["trace"]
        assert (crawl["new"], crawl["changed"]) == (1, 2)
        assert crawl["config_fetches"] <= 3 and hub.calls["resolve"] <= 3 + 2  # only the K repos (+ card reads)
        assert trace["traced"] == 0 and second["embed"]["embedded"] == 0  # no new config hash, no new arch_id
        new_files = set(hub.repo("nar/convnext", "dataset").files) - files_1
        local_new = {p.relative_to(out).as_posix() for p in out.glob("*/*.parquet")} - files_1
        assert new_files == local_new and all(p.startswith("models/") for p in new_files)
        assert second["upload"]["skipped"] == len([p for p in files_1 if p.endswith(".parquet")])

        # Running it again changes nothing and uploads nothing.
        third = refresh_flow(out=str(out), **params)
        assert third["crawl"]["new"] == third["crawl"]["changed"] == 0 and third["upload"]["commit"] is None

        # A full rebuild of the final Hub state, with the same encoder, gives the same dataset.
        rebuilt = tmp_path / "rebuilt"
        refresh_flow(out=str(rebuilt), **{**params, "repo_id": None})
    a, b = _state(out), _state(rebuilt)
    assert a["latest"] == b["latest"] and a["graphs"] == b["graphs"] and a["emb"] == b["emb"]


@pytest.mark.slow  # a refresh in a subprocess (its own Prefect API), killed mid-trace, then re-run: ~3 min
def test_killed_refresh_reruns_to_the_same_dataset(tmp_path, prefect_api, monkeypatch) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    monkeypatch.setenv("HF_TOKEN", "hf_nar_test")
    out, ckpt = tmp_path / "nar", tmp_path / "wl.pt"
    with running_hub(copy.deepcopy(generate_repos(320)), page_size=100) as hub:
        params = dict(endpoint=hub.url, crawl_query=QUERY, ckpt=str(ckpt), encoder="wl", repo_id="nar/k", quota="none")
        code = f"from flows.refresh import refresh_flow; refresh_flow(out={str(out)!r}, **{params!r})"
        env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect-child")}
        child = subprocess.Popen([sys.executable, "-c", code], env=env, start_new_session=True,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 240
        while not list(out.glob("_runs/trace-*.json")) and not list(out.glob("models/*.parquet")):
            assert child.poll() is None and time.monotonic() < deadline, "the refresh ended before it could be killed"
            time.sleep(0.2)
        os.killpg(child.pid, signal.SIGKILL)  # the refresh and its tracing workers, mid-way
        child.wait()
        rerun = refresh_flow(out=str(out), **params)
        files = hub.repo("nar/k", "dataset").files
        rebuilt = tmp_path / "rebuilt"
        refresh_flow(out=str(rebuilt), **{**params, "repo_id": None})
    assert rerun["upload"]["commit"] is not None
    local = {p.relative_to(out).as_posix() for p in out.glob("*/*.parquet")}
    assert {p for p in files if p.endswith(".parquet")} == local  # every shard once, nothing else
    a, b = _state(out), _state(rebuilt)
    assert a["latest"] == b["latest"] and a["graphs"] == b["graphs"] and a["emb"] == b["emb"]
