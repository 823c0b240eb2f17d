"""Coverage, speed and memory of the ``transformers`` source: build + trace every ref on meta.

Each ref runs in ONE persistent worker process (spawned once; restarted after a timeout or a crash),
so worker start-up is excluded from the per-model seconds. Prints coverage of base models and task
heads, failures grouped by error class and message, median/p90 seconds, and the top 5 by peak RSS
(the worker's ``VmHWM``, reset before each model through ``/proc/self/clear_refs``).

    .venv/bin/python bench/transformers_coverage.py                      # everything (~1500 refs)
    .venv/bin/python bench/transformers_coverage.py --base-only --limit 100
    .venv/bin/python bench/transformers_coverage.py --model-types bert,gpt2 --json out.json
"""

from __future__ import annotations

import argparse
import collections
import json
import multiprocessing as mp
import re
import signal
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _peak_rss_mb() -> float:
    from nar_data.pool import peak_rss

    return peak_rss() / 2**20


def _reset_peak() -> None:
    from nar_data.pool import reset_peak_rss

    reset_peak_rss()


def _worker(conn: Any, methods: tuple[str, ...]) -> None:
    """Receive refs, build + trace each, send back one result dict per ref."""
    import logging
    import warnings

    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    import transformers

    transformers.logging.set_verbosity_error()
    from nar_data.sources import get_source
    from nar_data.tracing import trace_module

    source = get_source("transformers")
    conn.send({"ready": True})
    while True:
        ref = conn.recv()
        if ref is None:
            return
        _reset_peak()
        start = time.perf_counter()
        res: dict[str, Any] = {"name": ref.name, "model_type": ref.meta["model_type"], "base": ref.meta["base"],
                               "task": ref.task}
        stage = "build"
        try:
            built = source.build(ref)
            stage = "trace"
            graph = trace_module(built.module, built.args, built.kwargs, model_id=ref.model_id, source="transformers",
                                 config_hash=ref.config_hash, builder=built.builder, methods=methods)
            res.update(ok=True, capture=graph.capture, nodes=len(graph.op_name), params=graph.num_params)
        except BaseException as e:  # noqa: BLE001
            res.update(ok=False, stage=stage, error_class=type(e).__name__, message=" ".join(str(e).split())[:600])
        res["seconds"] = time.perf_counter() - start
        res["rss_mb"] = _peak_rss_mb()
        conn.send(res)


class Worker:
    def __init__(self, methods: tuple[str, ...]) -> None:
        ctx = mp.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker, args=(child, methods), daemon=True)
        self.proc.start()
        if not self.conn.poll(300):
            raise RuntimeError("worker did not start in 300 s")
        self.conn.recv()

    def run(self, ref: Any, timeout: float) -> dict[str, Any] | None:
        self.conn.send(ref)
        if self.conn.poll(timeout):
            try:
                return self.conn.recv()
            except EOFError:
                return None
        return None

    def kill(self) -> None:
        self.proc.kill()
        self.proc.join()


def _group_key(res: dict[str, Any]) -> str:
    msg = res.get("message", "")
    msg = re.sub(r"\d+", "N", msg)[:140]
    return f"{res.get('stage')}:{res.get('error_class')}: {msg}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--base-only", action="store_true")
    p.add_argument("--heads-only", action="store_true")
    p.add_argument("--model-types", default="", help="comma-separated model types")
    p.add_argument("--names", default="", help="comma-separated class names")
    p.add_argument("--timeout", type=float, default=60.0, help="per-model wall-clock limit (s)")
    p.add_argument("--json", default="", help="write per-model results here")
    p.add_argument("--resume", default="", help="reuse results of a previous --json file for refs it has")
    p.add_argument("--sample-heads", type=int, default=0,
                   help="trace a seeded random sample of this many task heads (all base models still run)")
    p.add_argument("--methods", default="dispatch,dispatch-cpu,export",
                   help="capture ladder (comma-separated); dropping export makes failures fail fast")
    args = p.parse_args()

    from nar_data.sources import get_source

    t0 = time.perf_counter()
    refs = list(get_source("transformers").iter_refs(
        limit=args.limit, base_only=args.base_only,
        model_types=[s for s in args.model_types.split(",") if s] or None,
        names=[s for s in args.names.split(",") if s] or None))
    if args.heads_only:
        refs = [r for r in refs if not r.meta["base"]]
    if args.sample_heads:
        import random

        heads = [r for r in refs if not r.meta["base"]]
        keep = {id(r) for r in random.Random(0).sample(heads, min(args.sample_heads, len(heads)))}
        refs = [r for r in refs if r.meta["base"] or id(r) in keep]
    print(f"{len(refs)} refs listed in {time.perf_counter() - t0:.1f} s", flush=True)

    previous = {}
    if args.resume and Path(args.resume).exists():
        previous = {r["name"] + "|" + r["model_type"]: r for r in json.loads(Path(args.resume).read_text())}
    results: list[dict[str, Any]] = []
    done: set[str] = set()
    worker: Worker | None = None
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # so `finally` saves the results
    try:
        for i, ref in enumerate(refs):
            key = ref.name + "|" + ref.meta["model_type"]
            if key in previous and previous[key].get("ok"):
                results.append(previous[key])
                done.add(key)
                continue
            done.add(key)
            worker = worker or Worker(tuple(args.methods.split(",")))
            res = worker.run(ref, args.timeout)
            if res is None:  # hang or crash: record it and start a fresh worker
                crashed = worker.proc.is_alive() is False
                worker.kill()
                worker = None
                res = {"name": ref.name, "model_type": ref.meta["model_type"], "base": ref.meta["base"],
                       "task": ref.task, "ok": False, "stage": "worker",
                       "error_class": "WorkerCrashed" if crashed else "WorkerTimeout",
                       "message": f"no result within {args.timeout:.0f} s", "seconds": args.timeout, "rss_mb": 0}
            results.append(res)
            status = "ok " if res["ok"] else "ERR"
            print(f"[{i + 1}/{len(refs)}] {status} {ref.name:50s} {res['seconds']:6.2f}s {res['rss_mb']:7.0f}MB "
                  f"{res.get('capture', '') or _group_key(res)[:100]}", flush=True)
            if args.json and i % 5 == 0:
                Path(args.json).write_text(json.dumps(results + [r for k, r in previous.items()
                                                                  if k not in done and r.get("ok")]))
    finally:
        if worker is not None:
            worker.kill()
        if args.json:
            Path(args.json).write_text(json.dumps(results + [r for k, r in previous.items()
                                                             if k not in done and r.get("ok")]))
    report(results)


def report(results: list[dict[str, Any]]) -> None:
    base = [r for r in results if r["base"]]
    heads = [r for r in results if not r["base"]]
    print("\n== coverage ==")
    for label, rows in (("base models", base), ("task heads", heads), ("all", results)):
        ok = sum(r["ok"] for r in rows)
        if rows:
            print(f"{label:12s} {ok:5d}/{len(rows):<5d} {100 * ok / len(rows):6.1f} %")
    ok_rows = [r for r in results if r["ok"]]
    if ok_rows:
        secs = sorted(r["seconds"] for r in ok_rows)
        p90 = secs[int(0.9 * (len(secs) - 1))]
        print(f"\n== speed (ok models, one worker) ==\nmedian {statistics.median(secs):.2f} s  p90 {p90:.2f} s  "
              f"max {secs[-1]:.2f} s  -> {60 / statistics.mean(secs):.0f} models/min")
        print("captures:", dict(collections.Counter(r["capture"] for r in ok_rows)))
    print("\n== top 5 peak RSS ==")
    for r in sorted(results, key=lambda r: -r.get("rss_mb", 0))[:5]:
        print(f"{r['rss_mb']:8.0f} MB  {r['name']} ({r['model_type']})")
    failures = [r for r in results if not r["ok"]]
    print(f"\n== failures ({len(failures)}) by class ==")
    groups = collections.Counter(_group_key(r) for r in failures)
    for key, n in groups.most_common(40):
        examples = [r["name"] for r in failures if _group_key(r) == key][:4]
        print(f"{n:4d}  {key}\n      e.g. {', '.join(examples)}")


if __name__ == "__main__":
    main()
