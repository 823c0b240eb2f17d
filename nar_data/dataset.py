"""The resumable dataset driver: trace refs into a dataset folder, skipping and reusing what is there.

`trace_to_dataset` skips models already in the ``models`` table and config hashes already in ``graphs``
(or failed with this tracer version), traces each new config hash once in a `TracePool`, and streams
``models``/``graphs``/``failures`` rows to append-only shards. Killing it at any moment loses at most the
rows not yet flushed; a re-run picks them up.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .config import TRACE_HASH_SEED, TRACE_MEMORY_LIMIT, TRACE_TIMEOUT_S, WORKER_MAX_TASKS
from .pool import PRELOAD, Outcome, TracePool
from .schema import TRACER_VERSION, FailureRow, ModelRow, utc_now
from .sources import ModelRef

logger = logging.getLogger(__name__)

__all__ = ["RunSummary", "pending_refs", "trace_to_dataset", "writer_lock"]


@dataclass
class RunSummary:
    """Counts of one `trace_to_dataset` run; saved as JSON under ``DIR/_runs/``."""

    started_at: str = field(default_factory=utc_now)
    seen: int = 0
    skipped: int = 0  # already in the dataset
    reused: int = 0  # a new model whose config hash was already traced
    traced: int = 0
    failed: int = 0
    seconds: float = 0.0
    hash_seed: str = ""  # PYTHONHASHSEED of the tracing workers ("" = inherited from the caller)
    failures: dict[str, int] = field(default_factory=dict)  # "stage/error_class" -> count
    per_model: list[dict[str, Any]] = field(default_factory=list)  # model_id, ok, seconds, peak_rss, nodes

    def save(self, out: str | os.PathLike) -> Path:
        runs = Path(out) / "_runs"
        runs.mkdir(parents=True, exist_ok=True)
        path = runs / f"trace-{self.started_at.replace(':', '')}-{os.getpid()}.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=1))
        os.replace(tmp, path)
        return path


@dataclass
class _Done:
    """What a folder already holds, as the driver needs it.

    ``done``: (model_id, config_hash) pairs with an ``ok`` models row *and* a graph for that config hash;
    ``traced``: config hash -> arch_id of every graph; ``failed``: config hashes that failed with this tracer;
    ``orphaned``: ``ok`` models rows whose graph is gone (a quarantined graphs shard), pair -> arch_id: those
    models are pending again, and a re-trace to the same arch_id writes no second models row.
    """

    done: set[tuple[str, str]]
    traced: dict[str, str]
    failed: set[str]
    orphaned: dict[tuple[str, str], str]


def _done_keys(out: Path, retry_failed: bool) -> _Done:
    from .parquet import read_table

    models = read_table(out, "models", ["model_id", "config_hash", "status", "arch_id"]).to_pydict()
    graphs = read_table(out, "graphs", ["config_hash", "arch_id"]).to_pydict()
    traced = dict(zip(graphs["config_hash"], graphs["arch_id"]))
    ok = {(m, h): a for m, h, s, a in zip(models["model_id"], models["config_hash"], models["status"],
                                          models["arch_id"]) if s == "ok"}
    done = {k for k in ok if (k[1] or k[0]) in traced}
    failed: set[str] = set()
    if not retry_failed:
        f = read_table(out, "failures", ["config_hash", "tracer_version"]).to_pydict()
        failed = {h for h, v in zip(f["config_hash"], f["tracer_version"]) if v == TRACER_VERSION}
    return _Done(done, traced, failed, {k: a for k, a in ok.items() if k not in done})


def pending_refs(refs: Iterable[ModelRef], out: str | os.PathLike, retry_failed: bool = False) -> list[ModelRef]:
    """The refs `trace_to_dataset` would not skip: models with no row yet (to trace, or reusing a traced hash),
    and models whose ``ok`` row has lost its graph (a graphs shard `nar doctor --fix` moved aside).

    Cheap (three column reads), so a caller can leave out what is already done before handing refs to a
    scheduler: a refresh of 10 000 repos with 1 % changed passes 100 refs on, not 10 000.
    """
    held = _done_keys(Path(out), retry_failed)
    return [r for r in refs if not _skipped(r, held.done, held.traced, held.failed)]


def _skipped(ref: ModelRef, done: set[tuple[str, str]], traced: dict[str, str], failed: set[str]) -> bool:
    """What a run skips: the model already has an ok row for this config and that config's graph is there, or
    its config hash failed with this tracer and has no graph (a hash traced later, e.g. by ``--retry-failed``, is reused instead)."""
    key = ref.config_hash or ref.model_id
    return (ref.model_id, ref.config_hash) in done or (key in failed and key not in traced)


def trace_to_dataset(refs: Iterable[ModelRef], out: str | os.PathLike, *, workers: int = 1,
                     timeout_s: float = TRACE_TIMEOUT_S, memory_limit: int = TRACE_MEMORY_LIMIT,
                     max_tasks: int = WORKER_MAX_TASKS, retry_failed: bool = False,
                     methods: Sequence[str] | None = None, rows_per_shard: int = 200, flush_seconds: float = 30.0,
                     preload: Sequence[str] = PRELOAD,
                     progress: Callable[[str, ModelRef, Outcome | None], None] | None = None,
                     exclusive: bool = True, hash_seed: str = TRACE_HASH_SEED) -> RunSummary:
    """Trace ``refs`` into the dataset at ``out``, resuming whatever an earlier run wrote.

    ``exclusive``: hold the dataset's writer lock (``out/.lock``) for the run, so a second trace into the same
    folder waits and then skips what the first wrote, instead of tracing it again. Parallel batches of one flow
    (disjoint config hashes by construction) pass False.

    ``progress(event, ref, outcome)`` is called with event ``"skip"`` (already there), ``"reuse"`` (new model,
    known config hash) or ``"done"`` (traced or failed) for every ref.

    ``hash_seed``: ``PYTHONHASHSEED`` of the workers (``NAR_TRACE_HASH_SEED``, default ``0``; ``""``: the
    caller's), recorded in the run summary.
    """
    from .parquet import clean_tmp

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with writer_lock(out) if exclusive else contextlib.nullcontext():
        clean_tmp(out)
        run = _Run(out, retry_failed, rows_per_shard, flush_seconds, progress)
        start = time.perf_counter()
        try:
            with TracePool(workers, timeout_s, memory_limit, max_tasks, methods, preload,
                           hash_seed=hash_seed) as pool:
                run.summary.hash_seed = pool.hash_seed or os.environ.get("PYTHONHASHSEED", "")
                for o in pool.imap(run.to_trace(refs)):
                    run.record(o)
        finally:
            run.close()
            run.summary.seconds = time.perf_counter() - start
            run.summary.save(out)
    return run.summary


@contextlib.contextmanager
def writer_lock(out: Path) -> Iterator[None]:
    """Hold ``out/.lock`` (an OS file lock: released when the holder exits, even by ``kill -9``); a second
    writer logs who holds it and waits."""
    import fcntl

    with open(out / ".lock", "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            logger.warning("another nar process (pid %s) is writing %s; waiting for it to finish",
                           f.read().strip() or "?", out)
            fcntl.flock(f, fcntl.LOCK_EX)
        f.seek(0)
        f.truncate()
        f.write(str(os.getpid()))
        f.flush()
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


class _Run:
    """The state of one `trace_to_dataset` run: what is done, the open table writers, the summary."""

    def __init__(self, out: Path, retry_failed: bool, rows_per_shard: int, flush_seconds: float,
                 progress: Callable[[str, ModelRef, Outcome | None], None] | None) -> None:
        from .parquet import TableWriter

        held = _done_keys(out, retry_failed)
        self.done, self.traced, self.failed, self.orphaned = held.done, held.traced, held.failed, held.orphaned
        self.summary = RunSummary()
        self.notify = progress or (lambda *a: None)
        self.writers = {t: TableWriter(out, t, rows_per_shard, flush_seconds) for t in ("models", "graphs", "failures")}
        self.waiting: dict[str, list[ModelRef]] = {}  # config hash being traced -> other refs sharing it

    def close(self) -> None:
        for w in self.writers.values():
            w.close()

    def labels(self, ref: ModelRef) -> dict[str, str]:
        from .labels import labels_for
        from .sources import get_source

        try:
            return get_source(ref.source).labels(ref)
        except Exception:  # noqa: BLE001 - a label problem never loses a model
            return labels_for(ref)

    def to_trace(self, refs: Iterable[ModelRef]) -> Iterator[ModelRef]:
        """The refs to trace: one per new config hash; skips and reuses are written (or counted) on the way."""
        summary = self.summary
        for ref in refs:
            summary.seen += 1
            key = ref.config_hash or ref.model_id
            if _skipped(ref, self.done, self.traced, self.failed):
                summary.skipped += 1
                self.notify("skip", ref, None)
            elif key in self.traced:
                self._write_ok(ref, self.traced[key], lambda: self.labels(ref))
                self.done.add((ref.model_id, ref.config_hash))
                summary.reused += 1
                self.notify("reuse", ref, None)
            elif key in self.waiting:
                self.waiting[key].append(ref)
            else:
                self.waiting[key] = []
                yield ref

    def _write_ok(self, ref: ModelRef, arch_id: str, labels: Callable[[], dict[str, str]]) -> None:
        """The ok models row of ``ref``, unless the folder already has that very row (its graph was re-traced)."""
        if self.orphaned.pop((ref.model_id, ref.config_hash), None) == arch_id:
            return
        self.writers["models"].write(ModelRow.from_ref(ref, arch_id=arch_id, labels=labels()))

    def record(self, o: Outcome) -> None:
        """Write the rows of one outcome: for its ref and every ref waiting on the same config hash."""
        summary = self.summary
        key = o.ref.config_hash or o.ref.model_id
        sharing = [o.ref] + self.waiting.pop(key, [])
        if o.ok:
            assert o.graph is not None
            self.writers["graphs"].write(o.graph)
            self.traced[key] = o.graph.arch_id
            lab = {"family": o.graph.family, "coarse": o.graph.coarse, "task": o.graph.task}
            for r in sharing:
                self._write_ok(r, o.graph.arch_id, lambda r=r: lab if r is o.ref else self.labels(r))
            summary.traced += 1
            summary.reused += len(sharing) - 1
        else:
            self.writers["failures"].write(FailureRow.create(o.ref.model_id, o.ref.source, o.ref.config_hash, o.stage,
                                                             o.error_class, o.message, seconds=o.seconds))
            for r in sharing:
                self.writers["models"].write(ModelRow.from_ref(r, status="failed", labels=self.labels(r)))
            self.failed.add(key)
            summary.failed += 1
            k = f"{o.stage}/{o.error_class}"
            summary.failures[k] = summary.failures.get(k, 0) + 1
        for r in sharing:
            self.done.add((r.model_id, r.config_hash))
        summary.per_model.append({"model_id": o.ref.model_id, "source": o.ref.source, "ok": o.ok,
                                  "seconds": round(o.seconds, 4), "peak_rss": o.peak_rss,
                                  "nodes": o.graph.num_nodes if o.graph is not None else 0,
                                  "capture": o.graph.capture if o.graph is not None else "",
                                  "error": f"{o.stage}/{o.error_class}" if not o.ok else ""})
        self.notify("done", o.ref, o)
