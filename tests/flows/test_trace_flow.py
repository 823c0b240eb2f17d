"""The trace flow: same tables on the default runner and on a 2-worker local Dask cluster."""

from __future__ import annotations

import dataclasses
import json

import pytest

from flows.trace import batch_refs, trace_with_runner
from nar_data.sources import get_source


def test_batches_keep_config_hashes_together(tiny) -> None:
    NAMES, _ = tiny
    refs = list(get_source("testing").iter_refs(names=NAMES))
    dup = dataclasses.replace(refs[0], name="mlp-finetune")  # same config hash as mlp
    parts = batch_refs(refs + [dup], 2)
    assert len(parts) == 2 and sum(map(len, parts)) == len(refs) + 1
    [with_mlp] = [p for p in parts if refs[0] in p]
    assert dup in with_mlp


def test_run_trace_sends_only_pending_refs_to_tasks(tmp_path, tiny, monkeypatch) -> None:
    import flows.trace as ft
    from nar_data.dataset import trace_to_dataset

    NAMES, PRELOAD = tiny
    refs = list(get_source("testing").iter_refs(names=["mlp", "cnn"]))
    trace_to_dataset(refs, tmp_path, preload=PRELOAD, flush_seconds=0.0)
    sent: list[list] = []  # the refs of each batch task: called (one local batch) or mapped

    class Task:
        def __call__(self, batch, *a, **k):
            sent.append(batch)
            return {"seen": len(batch), "skipped": 0, "reused": 0, "traced": len(batch), "failed": 0, "seconds": 0.0}

        def map(self, parts, *a):
            sent.extend(parts)
            return []

    monkeypatch.setattr(ft, "trace_batch", Task())
    counts = ft.run_trace(refs, tmp_path)  # everything is in the folder: no task at all
    assert sent == [] and counts["seen"] == counts["skipped"] == 2 and counts["batches"] == 0
    more = list(get_source("testing").iter_refs(names=["residual"]))
    ft.run_trace(refs + more, tmp_path)
    assert [[r.name for r in part] for part in sent] == [["residual"]]


@pytest.mark.slow  # ~2 min on 2 shared cores: a Dask cluster plus its tracing workers
def test_dask_runner_gives_the_same_tables(tmp_path, prefect_api, tiny, table_rows) -> None:
    pytest.importorskip("prefect_dask")
    NAMES, PRELOAD = tiny
    params = dict(sources=["testing"], preset=None, names=NAMES, preload=PRELOAD, timeout_s=60.0)
    local = trace_with_runner("local", out=str(tmp_path / "local"), workers=1, **params)
    dask = trace_with_runner("dask", cluster_workers=2, out=str(tmp_path / "dask"), batches=2, **params)
    assert local["traced"] == dask["traced"] == len(NAMES) - 1
    assert local["failed"] == dask["failed"] == 1
    assert dask["batches"] == 2
    for table, cols in (("models", ["model_id", "config_hash", "arch_id", "status"]),
                        ("graphs", ["config_hash", "arch_id", "num_nodes", "num_edges"]),
                        ("failures", ["model_id", "stage", "error_class"])):
        assert table_rows(tmp_path / "local", table, cols) == table_rows(tmp_path / "dask", table, cols), table
    summaries = list((tmp_path / "dask" / "_runs").glob("flow-trace-*.json"))
    assert len(summaries) == 1 and json.loads(summaries[0].read_text())["traced"] == len(NAMES) - 1


def test_trace_cache_key_follows_repo_sha_tracer_and_folder(tmp_path, tiny) -> None:
    import dataclasses

    from flows.trace import trace_cache_key

    refs = list(get_source("testing").iter_refs(names=tiny[0]))
    key = trace_cache_key(None, {"refs": refs, "out": str(tmp_path / "a")})
    assert key == trace_cache_key(None, {"refs": list(reversed(refs)), "out": str(tmp_path / "a")})
    moved = [dataclasses.replace(refs[0], revision="new-sha")] + refs[1:]
    assert trace_cache_key(None, {"refs": moved, "out": str(tmp_path / "a")}) != key
    assert trace_cache_key(None, {"refs": refs, "out": str(tmp_path / "b")}) != key  # another folder
    import shutil

    shutil.rmtree(tmp_path / "a")  # a deleted and re-created folder is a new dataset: no stale cache hit
    assert trace_cache_key(None, {"refs": refs, "out": str(tmp_path / "a")}) != key
