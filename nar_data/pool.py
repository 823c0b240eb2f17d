"""Trace many models in isolated worker processes: `TracePool`.

`TracePool` keeps ``workers`` long-lived processes, forked from a ``forkserver`` that imported torch and
the source libraries and traced a tiny model once (so start-up is neither billed to a model nor repeated
when a worker is replaced; ``start_method="spawn"`` starts each worker from scratch instead). Each model gets a
wall-clock timeout and a resident-memory limit, watched from the parent: a model that hangs, grows past
the limit, segfaults or raises becomes an `Outcome` with a failure (stage, error class, message) and the
worker is replaced. A worker is also recycled after ``max_tasks`` models, to bound leaks.

Writing the outcomes into a dataset is `nar_data.dataset.trace_to_dataset`'s job.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import multiprocessing as mp
import os
import time
import traceback
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any

from .config import TRACE_HASH_SEED, TRACE_MEMORY_LIMIT, TRACE_TIMEOUT_S, WORKER_MAX_TASKS, debug
from .errors import WorkerCrashed, WorkerMemoryExceeded, WorkerTimeout
from .schema import MESSAGE_LIMIT, Graph
from .sources import ModelRef

__all__ = ["PRELOAD", "Outcome", "TracePool", "peak_rss", "reset_peak_rss"]

logger = logging.getLogger(__name__)

POLL_S = 0.05
#: Imported by each worker before it reports ready, so a model's time excludes library imports.
PRELOAD = ("torch", "torchvision", "timm", "transformers", "nar_data.sources.timm", "nar_data.sources.torchvision",
           "nar_data.sources.transformers")


@dataclass
class Outcome:
    """What happened to one ref: a `Graph`, or a failure ``(stage, error_class, message)``."""

    ref: ModelRef
    graph: Graph | None = None
    stage: str = ""
    error_class: str = ""
    message: str = ""
    seconds: float = 0.0
    peak_rss: int = 0  # bytes: the worker's peak RSS during this model (VmHWM, and the parent's samples)

    @property
    def ok(self) -> bool:
        return self.graph is not None


# --------------------------------------------------------------------------------------------- worker


def _error_class(e: BaseException) -> str:
    """The class that explains a failure: for a capture-ladder `TraceError`, its first rung's error."""
    return getattr(e, "root_class", None) or type(e).__name__


def _run_one(ref: ModelRef, methods: Sequence[str]) -> dict[str, Any]:
    from .sources import get_source
    from .tracing import trace_built

    start = time.perf_counter()
    stage = "build"
    try:
        source = get_source(ref.source)
        built = source.build(ref)
        labels = source.labels(ref)
        stage = "trace"
        graph = trace_built(ref, built, labels, methods)
        seconds = time.perf_counter() - start
        return {"row": graph.replace(seconds=seconds).to_row(), "seconds": seconds}
    except Exception as e:  # noqa: BLE001 - every failure of a model is data, not a crash
        if debug():
            traceback.print_exc()
        return {"stage": stage, "error_class": _error_class(e), "message": " ".join(str(e).split())[:MESSAGE_LIMIT],
                "seconds": time.perf_counter() - start}


def reset_peak_rss() -> None:
    """Reset this process's peak RSS (``VmHWM``) so the next reading is one model's peak (Linux only)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def peak_rss() -> int:
    """Peak RSS in bytes since the last reset (0 where ``/proc`` is not available)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _worker_main(conn: Connection, methods: Sequence[str], preload: Sequence[str], hash_seed: str = "") -> None:
    import signal

    if hash_seed and os.environ.get("PYTHONHASHSEED") != hash_seed:
        # The hash seed is fixed when an interpreter starts: a fork server started earlier with another seed
        # (or start_method="fork") cannot give this worker the pinned one. Refuse rather than trace unpinned.
        raise RuntimeError(f"tracing worker runs with PYTHONHASHSEED={os.environ.get('PYTHONHASHSEED')!r}, "
                           f"not the pinned {hash_seed!r} (a fork server started earlier with another seed?)")

    # Ctrl-C reaches the whole process group; the parent stops the workers, so a model being traced is
    # never recorded as a crash by an interrupt (a re-run would then skip its config as failed).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import importlib

    for name in ("nar_data.tracing", "nar_data.labels", *preload):
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    from ._warm import warm_up

    warm_up()
    if not debug():
        # Libraries print pages (export dumps whole graphs on failure); errors reach the failures table
        # anyway, so keep the parent's progress display clean. NAR_DEBUG=1 keeps worker output.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        os.close(devnull)
    conn.send("ready")
    while True:
        try:
            ref = conn.recv()
        except (EOFError, KeyboardInterrupt):
            return
        if ref is None:
            return
        reset_peak_rss()
        result = _run_one(ref, methods)
        result["peak_rss"] = peak_rss()
        conn.send(result)


@contextlib.contextmanager
def _hash_seed(seed: str) -> Iterator[None]:
    """``PYTHONHASHSEED=seed`` in this process's environment while a worker (or the fork server) starts."""
    if not seed:
        yield
        return
    old = os.environ.get("PYTHONHASHSEED")
    os.environ["PYTHONHASHSEED"] = seed
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("PYTHONHASHSEED", None)
        else:
            os.environ["PYTHONHASHSEED"] = old


class _Worker:
    def __init__(self, ctx: Any, methods: Sequence[str], preload: Sequence[str], hash_seed: str = "") -> None:
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_worker_main, args=(child, tuple(methods), tuple(preload), hash_seed),
                                   daemon=True)
        with _hash_seed(hash_seed):
            self.process.start()
        child.close()
        self.ready = False
        self.ref: ModelRef | None = None
        self.started = 0.0
        self.peak = 0
        self.tasks = 0
        import psutil

        self._ps = psutil.Process(self.process.pid)

    def rss(self) -> int:
        try:
            return self._ps.memory_info().rss + sum(c.memory_info().rss for c in self._ps.children(recursive=True))
        except Exception:  # noqa: BLE001 - process gone
            return 0

    def submit(self, ref: ModelRef) -> None:
        self.conn.send(ref)
        self.ref, self.started, self.peak = ref, time.perf_counter(), 0
        self.tasks += 1

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(5)
        self.conn.close()

    def stop(self) -> None:
        try:
            self.conn.send(None)
        except (BrokenPipeError, OSError):
            pass
        self.process.join(5)
        self.kill()


class TracePool:
    """``workers`` isolated tracing processes; `imap` yields an `Outcome` per ref as they finish.

    Use as a context manager (workers are stopped on exit).
    """

    def __init__(self, workers: int = 1, timeout_s: float = TRACE_TIMEOUT_S, memory_limit: int = TRACE_MEMORY_LIMIT,
                 max_tasks: int = WORKER_MAX_TASKS, methods: Sequence[str] | None = None,
                 preload: Sequence[str] = PRELOAD, start_method: str = "forkserver",
                 hash_seed: str = TRACE_HASH_SEED) -> None:
        from .tracing import METHODS

        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self.workers, self.timeout_s, self.memory_limit, self.max_tasks = workers, timeout_s, memory_limit, max_tasks
        self.methods = tuple(methods or METHODS)
        self.preload = tuple(preload)
        #: ``PYTHONHASHSEED`` of every worker ("" = the caller's): set iterations in model code (Gemma 3-style
        #: layer types) then give the same graph in every run.
        self.hash_seed = str(hash_seed)
        self._ctx = mp.get_context(start_method)
        if start_method == "forkserver":
            # The fork server imports torch & co. and traces a tiny model once; every worker (and every
            # replacement after a failure) is then forked from it in milliseconds, already warm.
            self._ctx.set_forkserver_preload(["nar_data._warm", *self.preload])
        self._pool: list[_Worker] = []

    def __enter__(self) -> "TracePool":
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        self.close(kill=exc_type is not None)

    def close(self, kill: bool = False) -> None:
        """Stop the workers; ``kill``: at once (an interrupt or error), not after their current model."""
        for w in self._pool:
            w.kill() if kill else w.stop()
        self._pool = []

    def _spawn(self) -> _Worker:
        w = _Worker(self._ctx, self.methods, self.preload, self.hash_seed)
        self._pool.append(w)
        return w

    def _retire(self, w: _Worker) -> None:
        self._pool.remove(w)
        w.kill()

    def imap(self, refs: Iterable[ModelRef]) -> Iterator[Outcome]:
        """Trace every ref; outcomes come in completion order."""
        pending = iter(refs)
        first = next(pending, None)
        if first is None:  # nothing to trace: do not pay for starting workers
            return
        pending = itertools.chain([first], pending)
        exhausted = False
        while len(self._pool) < self.workers:
            self._spawn()
        while True:
            # hand out work to idle, ready workers
            for w in list(self._pool):
                if w.ready and w.ref is None and not exhausted:
                    ref = next(pending, None)
                    if ref is None:
                        exhausted = True
                    else:
                        w.submit(ref)
            busy = [w for w in self._pool if w.ref is not None or not w.ready]
            if exhausted and not any(w.ref is not None for w in self._pool):
                return
            if not busy:
                continue
            ready = wait([w.conn for w in busy], timeout=POLL_S)
            for w in list(busy):
                if w.conn in ready:
                    try:
                        msg = w.conn.recv()
                    except (EOFError, OSError):
                        msg = None
                    if msg == "ready":
                        w.ready = True
                        continue
                    if msg is not None:
                        yield self._finish(w, msg)
                        continue
                # no message: check the worker is alive, in time and within memory
                outcome = self._check(w)
                if outcome is not None:
                    yield outcome

    def _finish(self, w: _Worker, msg: dict[str, Any]) -> Outcome:
        ref = w.ref
        assert ref is not None
        rss = w.rss()
        out = Outcome(ref, seconds=msg["seconds"], peak_rss=max(w.peak, msg.get("peak_rss", 0)))
        if "row" in msg:
            out.graph = Graph.from_row(msg["row"])
        else:
            out.stage, out.error_class, out.message = msg["stage"], msg["error_class"], msg["message"]
        w.ref = None
        # A failure may leave state behind, and memory a big model used is rarely given back: start fresh.
        if not out.ok or w.tasks >= self.max_tasks or rss > self.memory_limit // 2:
            self._retire(w)
            self._spawn()
        return out

    def _check(self, w: _Worker) -> Outcome | None:
        if w.ref is None:
            if not w.process.is_alive() and not w.ready:  # died while starting (import error)
                code = w.process.exitcode
                self._retire(w)
                raise WorkerCrashed(f"a tracing worker could not start (exit code {code}); run with NAR_DEBUG=1")
            return None
        rss = w.rss()
        w.peak = max(w.peak, rss)
        elapsed = time.perf_counter() - w.started
        error: Exception | None = None
        if not w.process.is_alive():
            code = w.process.exitcode
            sig = f"signal {-code}" if code is not None and code < 0 else f"exit code {code}"
            error = WorkerCrashed(f"the tracing worker died ({sig}) while tracing this model")
        elif elapsed > self.timeout_s:
            error = WorkerTimeout(f"tracing took longer than {self.timeout_s:g} s; the worker was stopped")
        elif rss > self.memory_limit:
            error = WorkerMemoryExceeded(f"worker memory reached {rss >> 20} MiB, over the limit of "
                                         f"{self.memory_limit >> 20} MiB; the worker was stopped")
        if error is None:
            return None
        out = Outcome(w.ref, stage="worker", error_class=type(error).__name__, message=str(error),
                      seconds=elapsed, peak_rss=w.peak)
        self._retire(w)
        self._spawn()
        return out
