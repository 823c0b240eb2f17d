"""The tracing pool's failure paths and the resumable dataset driver."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import nar_data.testing  # noqa: F401 - registers the `testing` source (kept out of the production registry)
from nar_data.dataset import trace_to_dataset
from nar_data.parquet import read_table
from nar_data.sources import get_source

FAST = {"preload": ("nar_data.testing",), "flush_seconds": 0.0}


def refs(*names: str):  # noqa: ANN201
    return list(get_source("testing").iter_refs(names=list(names)))


@pytest.fixture(scope="module")
def failing_run(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    out = tmp_path_factory.mktemp("pool")
    events: list[tuple[str, str]] = []
    summary = trace_to_dataset(refs("mlp", "raise", "sleep", "oom", "segfault", "cnn"), out, workers=2,
                               timeout_s=20, memory_limit=1_200_000_000, methods=("dispatch",),
                               progress=lambda e, r, o: events.append((e, r.name)), **FAST)
    return out, summary, events


def test_every_misbehaving_model_becomes_a_classified_failure_row(failing_run) -> None:  # noqa: ANN001
    out, summary, _ = failing_run
    failures = {r["model_id"]: r for r in read_table(out, "failures").to_pylist()}
    assert {m: (f["stage"], f["error_class"]) for m, f in failures.items()} == {
        "testing:raise": ("trace", "RuntimeError"),
        "testing:sleep": ("worker", "WorkerTimeout"),
        "testing:oom": ("worker", "WorkerMemoryExceeded"),
        "testing:segfault": ("worker", "WorkerCrashed"),
    }
    assert "always fails in forward" in failures["testing:raise"]["message"]
    assert "signal 11" in failures["testing:segfault"]["message"]
    assert all(f["tracer_version"] and f["versions"].startswith("{") for f in failures.values())
    assert summary.traced == 2 and summary.failed == 4


def test_the_run_goes_on_and_writes_good_models(failing_run) -> None:  # noqa: ANN001
    out, _, events = failing_run
    graphs = read_table(out, "graphs").to_pydict()
    assert sorted(graphs["model_id"]) == ["testing:cnn", "testing:mlp"]
    models = {r["model_id"]: r for r in read_table(out, "models").to_pylist()}
    assert models["testing:mlp"]["status"] == "ok" and models["testing:mlp"]["arch_id"]
    assert models["testing:oom"]["status"] == "failed" and not models["testing:oom"]["arch_id"]
    assert sorted(n for e, n in events if e == "done") == sorted(["mlp", "raise", "sleep", "oom", "segfault", "cnn"])
    assert list(Path(out, "_runs").glob("trace-*.json")), "a run summary is saved next to the data"


def test_rerun_skips_what_is_done_and_failed(failing_run) -> None:  # noqa: ANN001
    out, _, _ = failing_run
    events: list[str] = []
    summary = trace_to_dataset(refs("mlp", "raise", "cnn"), out, progress=lambda e, r, o: events.append(e), **FAST)
    assert events == ["skip", "skip", "skip"] and summary.traced == 0
    assert len(read_table(out, "graphs")) == 2


def test_pending_refs_leaves_out_exactly_what_a_rerun_would_skip(failing_run) -> None:  # noqa: ANN001
    from nar_data.dataset import pending_refs

    out, _, _ = failing_run
    done_and_failed = refs("mlp", "raise", "cnn", "segfault")
    assert pending_refs(done_and_failed, out) == []
    assert [r.name for r in pending_refs(done_and_failed + refs("residual"), out)] == ["residual"]
    assert [r.name for r in pending_refs(refs("raise"), out, retry_failed=True)] == ["raise"]


def test_a_config_that_failed_once_and_was_traced_later_is_reused(tmp_path: Path) -> None:
    # e.g. failed, then traced by --retry-failed: a new model with that config gets the graph, it is not skipped
    from dataclasses import replace

    from nar_data.parquet import TableWriter
    from nar_data.dataset import pending_refs
    from nar_data.schema import FailureRow

    (mlp,) = refs("mlp")
    trace_to_dataset([mlp], tmp_path, **FAST)
    with TableWriter(tmp_path, "failures") as writer:
        writer.write(FailureRow.create(mlp.model_id, mlp.source, mlp.config_hash, "trace", "RuntimeError",
                                       "an earlier tracer failed"))
    twin = replace(mlp, name="mlp-finetune")
    assert pending_refs([mlp, twin], tmp_path) == [twin]
    summary = trace_to_dataset([mlp, twin], tmp_path, **FAST)
    assert summary.skipped == 1 and summary.reused == 1 and summary.traced == 0


def test_same_config_hash_is_traced_once(tmp_path: Path) -> None:
    from dataclasses import replace

    (mlp,) = refs("mlp")
    twin = replace(mlp, name="mlp-finetune")  # another model, same architecture config
    summary = trace_to_dataset([mlp, twin], tmp_path, **FAST)
    assert summary.traced == 1 and summary.reused == 1
    models = read_table(tmp_path, "models").to_pydict()
    assert sorted(models["model_id"]) == ["testing:mlp", "testing:mlp-finetune"]
    assert len(set(models["arch_id"])) == 1 and len(read_table(tmp_path, "graphs")) == 1


def test_a_quarantined_graphs_shard_is_traced_again_in_the_same_folder(tmp_path: Path) -> None:
    """Truncate a graphs shard, `doctor --fix` moves it aside, a re-run restores the same rows and no duplicates."""
    from dataclasses import replace

    import pyarrow.parquet as pq

    from nar_data.dataset import pending_refs
    from nar_data.doctor import diagnose, repair

    mlp, cnn = refs("mlp", "cnn")
    work = [mlp, replace(mlp, name="mlp-finetune"), cnn]  # the twin shares mlp's graph
    trace_to_dataset(work, tmp_path, rows_per_shard=1, **FAST)

    def state() -> tuple[list, list]:
        m = read_table(tmp_path, "models", ["model_id", "status", "arch_id"]).to_pydict()
        g = read_table(tmp_path, "graphs", ["config_hash", "arch_id"]).to_pydict()
        return sorted(zip(*m.values())), sorted(zip(*g.values()))

    before = state()
    (victim,) = [p for p in (tmp_path / "graphs").glob("*.parquet")
                 if pq.read_table(p, columns=["config_hash"]).column(0).to_pylist() == [mlp.config_hash]]
    victim.write_bytes(victim.read_bytes()[:200])
    assert repair(diagnose(tmp_path)) and diagnose(tmp_path).ok  # moved to _quarantine/
    assert pending_refs(work, tmp_path) == work[:2]  # their models rows say ok, but the graph is gone
    summary = trace_to_dataset(work, tmp_path, **FAST)
    assert (summary.traced, summary.reused, summary.skipped) == (1, 1, 1)
    assert state() == before  # the same arch_ids, and no row twice
    (dup,) = [f for f in diagnose(tmp_path).findings if f.check == "duplicate rows"]
    assert dup.level == "ok", dup.message
    assert pending_refs(work, tmp_path) == []


KILL_SCRIPT = textwrap.dedent("""
    import sys
    from dataclasses import replace
    import nar_data.testing
    from nar_data.dataset import trace_to_dataset
    from nar_data.sources import get_source
    base = list(get_source("testing").iter_refs(names=["mlp", "cnn", "residual"]))
    refs = [replace(r, name=f"{r.name}-{i}", config_hash=f"{r.config_hash}-{i}") for i in range(400) for r in base]
    if __name__ == "__main__":
        trace_to_dataset(refs, sys.argv[1], rows_per_shard=1, flush_seconds=0.0, preload=("nar_data.testing",))
""")


@pytest.mark.parametrize("shards,resume", [(4, 5), pytest.param(15, 14, marks=pytest.mark.slow)])
def test_kill_9_during_writes_leaves_readable_shards_and_resume_completes(tmp_path: Path, shards: int,
                                                                          resume: int) -> None:
    """Killed after ``shards`` graph shards, then resumed over the first ``resume`` rounds of refs."""
    script = tmp_path / "run.py"
    script.write_text(KILL_SCRIPT)
    out = tmp_path / "data"
    proc = subprocess.Popen([sys.executable, str(script), str(out)], start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list((out / "graphs").glob("*.parquet"))) < shards:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and its worker, mid-write
    proc.wait()
    before = read_table(out, "graphs")  # every shard on disk is complete and readable
    assert len(before) >= shards
    # resume with only the first refs so the test stays short: nothing is traced twice or lost
    short = KILL_SCRIPT.replace("range(400)", f"range({resume})")
    script.write_text(short)
    subprocess.run([sys.executable, str(script), str(out)], check=True, timeout=300)
    graphs = read_table(out, "graphs").to_pydict()
    assert len(graphs["config_hash"]) == len(set(graphs["config_hash"])), "no config hash traced twice"
    models = read_table(out, "models").to_pydict()
    ok = {m for m, s in zip(models["model_id"], models["status"]) if s == "ok"}
    assert {f"testing:{n}-{i}" for i in range(resume) for n in ("mlp", "cnn", "residual")} <= ok
    assert not list((out / ".tmp").glob("*")), "temporary files of the killed run are cleaned up"


def test_coverage_reports_success_failures_and_dedup(failing_run) -> None:  # noqa: ANN001
    from nar_data.coverage import coverage, run_stats

    out, _, _ = failing_run
    cov = coverage(out)["sources"]["testing"]
    assert (cov["models"], cov["ok"], cov["failed"]) == (6, 2, 4)
    assert cov["success"] == pytest.approx(2 / 6)
    assert {f["class"] for f in cov["failures"]} == {"trace/RuntimeError", "worker/WorkerTimeout",
                                                     "worker/WorkerMemoryExceeded", "worker/WorkerCrashed"}
    assert cov["arch_ids"] == 2 and cov["nodes"]["max"] > 0
    stats = run_stats(out)
    assert stats["per_source"]["testing"]["models"] == 6
    assert stats["top_rss"][0]["model_id"] == "testing:oom", "the model that hit the memory limit used the most"


def test_nothing_to_trace_starts_no_worker() -> None:
    from nar_data.pool import TracePool

    pool = TracePool(workers=2)
    assert list(pool.imap([])) == [] and pool._pool == []


# ------------------------------------------------------------------------------------- hash seed


_SEED_SCRIPT = textwrap.dedent("""
    import json, sys
    import nar_data.testing
    from nar_data.dataset import trace_to_dataset
    from nar_data.fingerprint import graph_digest
    from nar_data.parquet import read_graphs
    from nar_data.sources import get_source
    pin = sys.argv[2]
    refs = list(get_source("testing").iter_refs(names=["setorder"]))
    s = trace_to_dataset(refs, sys.argv[1], preload=("nar_data.testing",), flush_seconds=0.0, methods=("dispatch",),
                         **({} if pin == "default" else {"hash_seed": pin}))
    print(json.dumps({"digest": [graph_digest(g) for g in read_graphs(sys.argv[1])][0], "seed": s.hash_seed}))
""")


def _trace_setorder(out: Path, parent_seed: str, pin: str) -> dict:
    import json

    env = {**os.environ, "PYTHONHASHSEED": parent_seed}
    env.pop("NAR_TRACE_HASH_SEED", None)
    done = subprocess.run([sys.executable, "-c", _SEED_SCRIPT, str(out), pin], env=env, capture_output=True,
                          text=True, timeout=300, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _set_orders_differ() -> None:
    from nar_data.testing import SET_ORDER_KINDS

    order = [subprocess.run([sys.executable, "-c", f"print(list(set({SET_ORDER_KINDS!r})))"], text=True,
                            capture_output=True, env={**os.environ, "PYTHONHASHSEED": s}, check=True).stdout
             for s in ("1", "2")]
    assert order[0] != order[1], "precondition: the two parent seeds iterate the set in another order"


def test_a_worker_starts_with_the_pinned_hash_seed_and_the_parent_keeps_its_own(monkeypatch) -> None:
    """The fast half of the pin (the end-to-end trace at two parent seeds is the slow test below)."""
    from nar_data.pool import _hash_seed

    monkeypatch.setenv("PYTHONHASHSEED", "7")
    with _hash_seed("0"):
        assert os.environ["PYTHONHASHSEED"] == "0"  # what a worker (or the fork server) starts with
    assert os.environ["PYTHONHASHSEED"] == "7"
    monkeypatch.delenv("PYTHONHASHSEED")
    with _hash_seed("0"):
        assert os.environ["PYTHONHASHSEED"] == "0"
    assert "PYTHONHASHSEED" not in os.environ
    with _hash_seed(""):  # no pin: the caller's environment as it is
        assert "PYTHONHASHSEED" not in os.environ


def test_a_worker_refuses_to_trace_under_another_hash_seed(monkeypatch) -> None:
    from nar_data.pool import _worker_main

    monkeypatch.setenv("PYTHONHASHSEED", "3")
    with pytest.raises(RuntimeError, match="PYTHONHASHSEED='3', not the pinned '0'"):
        _worker_main(None, (), (), hash_seed="0")  # type: ignore[arg-type] - refuses before touching the pipe


@pytest.mark.slow
def test_workers_pin_the_hash_seed_so_set_order_models_trace_the_same_in_every_run(tmp_path: Path) -> None:
    _set_orders_differ()
    pinned = [_trace_setorder(tmp_path / f"p{s}", s, "default") for s in ("1", "2")]
    assert pinned[0] == pinned[1] and pinned[0]["seed"] == "0"


@pytest.mark.slow
def test_unpinned_workers_follow_the_callers_seed(tmp_path: Path) -> None:
    """The control of the test above: without the pin the graph follows the parent's seed."""
    _set_orders_differ()
    loose = [_trace_setorder(tmp_path / f"l{s}", s, "") for s in ("1", "2")]
    assert loose[0]["digest"] != loose[1]["digest"] and [x["seed"] for x in loose] == ["1", "2"]
