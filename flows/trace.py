"""Flow `trace`: model refs -> the graphs dataset, in batches a task runner can spread over machines.

Each batch is one call of `nar_data.dataset.trace_to_dataset`, which already isolates every model
in its own process (timeouts, memory limits, crashes become ``failures`` rows) and skips what the
folder already holds. Refs sharing a config hash always land in the same batch, so each architecture
is traced once even when batches run in parallel on a Dask/Ray cluster.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from flows import _prefect_env  # noqa: F401 - before prefect
from prefect import flow, task, unmapped

from flows import steps
from flows._progress import Reporter
from flows._report import artifact_table, dataset_id, save_run_summary
from flows.runners import Runner, make_task_runner
from nar_data.config import TRACE_TIMEOUT_S, TRACE_WORKERS
from nar_data.schema import TRACER_VERSION
from nar_data.sources import ModelRef

#: Tags are declared only where they do something: ``nar-trace`` (cap tracing across runs with
#: `prefect concurrency-limit create nar-trace 2`) and ``hf-hub-api`` (the Hub quota, see `flows.publish`).
#: Each tagged task run costs one concurrency-slot call to the Prefect API, which on the ephemeral SQLite
#: API took up to ~2 s while it was busy recording the previous task runs: most of an empty refresh.
TRACE_TAG = "nar-trace"


@task
def select_refs(sources: Sequence[str], preset: str | None = None, limit: int | None = None,
                names: Sequence[str] | None = None, data: str | None = None,
                pending_only: bool = False) -> list[ModelRef]:
    """The refs of ``sources`` (``all`` = the registries) restricted to a preset and/or ``names``.

    ``data``: the folder whose crawl state the ``hf`` source reads (what `nar crawl` found).
    ``pending_only``: only the refs the ``data`` folder does not hold yet (a refresh passes the ~1 % of the
    Hub that changed on, not all of it).
    """
    from nar_data.dataset import pending_refs

    refs = steps.select_refs(sources, preset, limit, names, data)
    return pending_refs(refs, data) if pending_only and data and Path(data).is_dir() else refs


def batch_refs(refs: Sequence[ModelRef], batches: int) -> list[list[ModelRef]]:
    """Split ``refs`` into at most ``batches`` lists, keeping each config hash in one list (round robin)."""
    groups: dict[str, list[ModelRef]] = defaultdict(list)
    for ref in refs:
        groups[ref.config_hash or ref.model_id].append(ref)
    out: list[list[ModelRef]] = [[] for _ in range(max(1, min(batches, len(groups))))]
    for i, group in enumerate(groups.values()):
        out[i % len(out)].extend(group)
    return [b for b in out if b]


def trace_cache_key(context: Any, parameters: dict[str, Any]) -> str:
    """Cache key of a batch: (dataset id, every (repo, sha), tracer version)."""
    h = hashlib.blake2b(digest_size=12)
    h.update(dataset_id(parameters["out"]).encode())
    h.update(TRACER_VERSION.encode())
    for ref in sorted(parameters["refs"], key=lambda r: r.model_id):
        h.update(f"\0{ref.model_id}@{ref.revision}#{ref.config_hash}".encode())
    return f"nar-trace-{h.hexdigest()}"


@task(tags=[TRACE_TAG], retries=1, retry_delay_seconds=5, cache_key_fn=trace_cache_key,
      cache_expiration=timedelta(days=30), persist_result=True)
def trace_batch(refs: list[ModelRef], out: str, workers: int = TRACE_WORKERS, timeout_s: float = TRACE_TIMEOUT_S,
                preload: Sequence[str] | None = None, show_progress: bool = False,
                exclusive: bool = True) -> dict[str, Any]:
    """Trace one batch into ``out`` (resumable; already-traced models are skipped). Returns its counts.

    ``show_progress``: progress on stderr (the CLI's local runs; off on cluster workers). ``exclusive``: hold the
    dataset's writer lock (False for the parallel batches of one run, whose config hashes are disjoint).
    """
    if not show_progress:
        return steps.trace(refs, out, workers=workers, timeout_s=timeout_s, preload=preload, exclusive=exclusive)
    with Reporter("trace", total=len(refs)) as reporter:
        return steps.trace(refs, out, workers=workers, timeout_s=timeout_s, preload=preload, reporter=reporter,
                           exclusive=exclusive)


def merge_counts(results: Sequence[dict[str, Any]], skipped: int = 0) -> dict[str, Any]:
    """Sum the batches' counts; ``skipped``: refs left out before batching (already in the folder)."""
    total: dict[str, Any] = {"batches": len(results), "seen": skipped, "skipped": skipped, "reused": 0,
                             "traced": 0, "failed": 0, "seconds": 0.0}
    for r in results:
        for key in ("seen", "skipped", "reused", "traced", "failed"):
            total[key] = total.get(key, 0) + r[key]
        total["seconds"] = max(total.get("seconds", 0.0), r["seconds"])
    return total


def run_trace(refs: Sequence[ModelRef], out: str | Path, workers: int = TRACE_WORKERS, batches: int = 1,
              timeout_s: float = TRACE_TIMEOUT_S,
              preload: Sequence[str] | None = None) -> dict[str, Any]:
    """Trace ``refs`` inside a running flow: one `trace_batch` task per batch, on the flow's task runner.

    Refs the folder already has (same model and config hash, or a config hash that failed with this
    tracer) are counted as skipped here and never sent to a task, so a refresh that finds nothing new
    runs no tracing task at all.
    """
    from nar_data.dataset import pending_refs

    todo = pending_refs(refs, out) if Path(out).is_dir() else list(refs)
    skipped = len(refs) - len(todo)
    parts = batch_refs(todo, batches)
    if not parts:
        _coverage_artifact(out)
        return merge_counts([], skipped)
    if len(parts) == 1 and _is_local():
        # one local batch runs in this thread, not the runner's pool: Ctrl-C / SIGTERM then reach the trace itself
        # (the rows written are counted, its run summary is saved) instead of a thread that goes on tracing
        results = [trace_batch(parts[0], str(out), workers, timeout_s, preload, show_progress=True, exclusive=True)]
    else:
        futures = trace_batch.map(parts, unmapped(str(out)), unmapped(workers), unmapped(timeout_s),
                                  unmapped(preload), unmapped(False), unmapped(len(parts) == 1))
        results = [f.result() for f in futures]
    counts = merge_counts(results, skipped)
    _coverage_artifact(out)
    return counts


def _is_local() -> bool:
    from prefect.context import FlowRunContext
    from prefect.task_runners import ThreadPoolTaskRunner

    ctx = FlowRunContext.get()
    return ctx is None or isinstance(ctx.task_runner, ThreadPoolTaskRunner)


def _coverage_artifact(out: str | Path) -> None:
    from nar_data.coverage import coverage

    cov = coverage(out)
    artifact_table("coverage", [{"source": s, "models": c["models"], "ok": c["ok"], "failed": c["failed"],
                                 "success": round(c["success"], 3), "arch_ids": c["arch_ids"]}
                                for s, c in cov["sources"].items()], f"Tracing coverage of {out}")


@flow(name="nar-trace", log_prints=True)
def trace_flow(out: str, sources: list[str] = ["all"], preset: str | None = "demo",  # noqa: B006
               limit: int | None = None, names: list[str] | None = None, workers: int = TRACE_WORKERS, batches: int = 1,
               timeout_s: float = TRACE_TIMEOUT_S, preload: list[str] | None = None) -> dict[str, Any]:
    """Select refs and trace them into ``out``; writes ``OUT/_runs/flow-trace-*.json``."""
    refs = select_refs(sources, preset, limit, names)
    counts = run_trace(refs, out, workers, batches, timeout_s, preload)
    save_run_summary(out, "trace", counts)
    return counts


def trace_with_runner(runner: Runner | str = Runner.local, address: str | None = None, cluster_workers: int = 2,
                      **params: Any) -> dict[str, Any]:
    """`trace_flow` on the given task runner (``local``, ``dask``, ``ray``)."""
    return trace_flow.with_options(task_runner=make_task_runner(runner, address, cluster_workers))(**params)
