"""Where a trace's seconds go: build, input synthesis, labels, capture, attributes, normalisation, write.

One worker process (warmed up and with the pool's ``PRELOAD`` imported, as a `nar_data.pool.TracePool` worker
is) builds and traces every sampled ref in turn; each phase is timed by wrapping the function that does it:

===========  ===================================================================================
phase        what is timed
===========  ===================================================================================
build        ``source.build(ref)`` minus ``inputs`` (module construction on meta, config loading)
inputs       input synthesis: ``synthesize`` + ``with_shadow_values`` (transformers), the input size
             look-ups of timm (``default_input_size``) and torchvision (``_image_size``)
labels       ``source.labels(ref)``
capture      the capture ladder (``nar_data.tracing.capture``) minus ``attrs``
attrs        ``op_attrs`` calls made while capturing (node attributes)
normalise    ``to_graph`` (canonical names, identities dropped, vocab ids; ``wl`` of it), parameter counts,
             input spec, versions
wl           the WL hash (``arch_id``), part of ``normalise``
write        ``Graph.to_row`` + the pickle round trip to the parent + ``Graph.from_row`` + the row's share of
             one Parquet shard write
total        wall time of all of it (``other`` = total - the phases: glue, ``module.eval()``, ...)
===========  ===================================================================================

With ``--against DIR`` a second worker runs the nar_data of another checkout (say main) on the same refs, the
two taking turns model by model (who goes first alternates), so both see the same machine load: the report
adds old / new ratios per source and checks that every graph is identical (`nar_data.fingerprint.graph_digest`:
all a trace decides, not only the `arch_id`).

Samples are evenly spaced over each source's listing (deterministic), so a family is not over-represented.
``hf`` refs come from a crawl of the local Hub server of `nar_data.testing` (generated repos: transformers and
timm configs as Hub ``config.json`` files); each is paired with the registry ref of the same class, where the
registry has it, to compare a Hub config with the same architecture from the registry.

    .venv/bin/python bench/trace_profile.py                                   # 40 timm, 20 tv, 40 tf, 20 hf
    .venv/bin/python bench/trace_profile.py --timm 200 --torchvision 0 --transformers 0 --hf 0
    .venv/bin/python bench/trace_profile.py --profile 3 --json out.json       # + cProfile of 3 models/source
    .venv/bin/python bench/trace_profile.py --against /path/to/main-checkout   # old / new, model by model

Prints the ``uptime`` load before and after: on a shared machine compare runs made back to back.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
#: The checkout whose nar_data a worker imports (``--against`` starts a second worker on another checkout).
CODE = os.environ.get("NAR_PROFILE_CODE", str(ROOT))
sys.path.insert(0, CODE)

PHASES = ("build", "inputs", "labels", "capture", "attrs", "normalise", "wl", "write", "other", "total")
SOURCES = ("timm", "torchvision", "transformers", "hf")


# ----------------------------------------------------------------------------------------------- worker

class _Clock:
    """Seconds per phase of the current model; `wrap` times a module attribute (a function) into a phase."""

    def __init__(self) -> None:
        self.t: dict[str, float] = defaultdict(float)
        self.depth: dict[str, int] = defaultdict(int)

    def wrap(self, module: Any, name: str, phase: str) -> None:
        fn = getattr(module, name)
        clock = self

        def timed(*args: Any, **kwargs: Any) -> Any:
            if clock.depth[phase]:  # re-entered (a recursive call): the outer call counts
                return fn(*args, **kwargs)
            clock.depth[phase] += 1
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                clock.t[phase] += time.perf_counter() - start
                clock.depth[phase] -= 1

        timed.__wrapped__ = fn  # type: ignore[attr-defined]
        setattr(module, name, timed)


def _instrument(clock: _Clock) -> None:
    import nar_data.build.shadow as shadow
    import nar_data.build.synthesis as synthesis
    import nar_data.sources.timm as timm_source
    import nar_data.sources.torchvision as tv_source
    import nar_data.tracing as tracing
    import nar_data.tracing._export as export
    import nar_data.tracing._record as record
    import nar_data.tracing.normalize as normalize

    clock.wrap(synthesis, "synthesize", "inputs")
    clock.wrap(shadow, "with_shadow_values", "inputs")
    clock.wrap(timm_source, "default_input_size", "inputs")
    clock.wrap(tv_source, "_image_size", "inputs")
    clock.wrap(tracing, "capture", "capture")
    clock.wrap(record, "op_attrs", "attrs")
    clock.wrap(export, "op_attrs", "attrs")
    for name in ("to_graph", "module_params", "input_spec", "versions_json"):
        clock.wrap(tracing, name, "normalise")
    clock.wrap(normalize, "arch_id", "wl")


def _run(ref: Any, clock: _Clock, profile: bool) -> dict[str, Any]:
    import pickle

    from nar_data.schema import Graph
    from nar_data.sources import get_source
    from nar_data.tracing import trace_built

    clock.t.clear()
    prof = None
    if profile:
        import cProfile

        prof = cProfile.Profile()
        prof.enable()
    start = time.perf_counter()
    out: dict[str, Any] = {"model_id": ref.model_id, "source": ref.source, "ok": False}
    stage = "build"
    try:
        source = get_source(ref.source)
        t = time.perf_counter()
        built = source.build(ref)
        build = time.perf_counter() - t
        t = time.perf_counter()
        labels = source.labels(ref)
        clock.t["labels"] += time.perf_counter() - t
        stage = "trace"
        graph = trace_built(ref, built, labels)
        stage = "write"
        t = time.perf_counter()
        row = Graph.from_row(pickle.loads(pickle.dumps(graph.to_row(), protocol=pickle.HIGHEST_PROTOCOL)))
        clock.t["write"] += time.perf_counter() - t
        clock.t["build"] += build - clock.t.get("inputs", 0.0)
        out.update(ok=True, nodes=row.num_nodes, method=row.capture, arch_id=row.arch_id)
        out["_graph"] = row
    except Exception as e:  # noqa: BLE001 - a failing model is reported, not fatal
        out.update(stage=stage, error=f"{type(e).__name__}: {' '.join(str(e).split())[:200]}")
    out["total"] = time.perf_counter() - start
    if out["ok"]:
        out["digest"] = _digest(out["_graph"])  # after the clock stopped
    if prof is not None:
        import io
        import pstats

        prof.disable()
        s = io.StringIO()
        pstats.Stats(prof, stream=s).sort_stats("cumulative").print_stats(35)
        out["profile"] = s.getvalue()
    out.update(clock.t)
    out["capture"] = clock.t.get("capture", 0.0) - clock.t.get("attrs", 0.0)
    return out


def _digest(graph: Any) -> str:
    """`nar_data.fingerprint.graph_digest` of this checkout (ROOT), also in a worker on an older one."""
    return _fingerprint().graph_digest(graph)


@functools.cache
def _fingerprint() -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location("_nar_fingerprint", ROOT / "nar_data" / "fingerprint.py")
    module = importlib.util.module_from_spec(spec)  # stdlib + numpy only: loads on its own
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def _serve(profile_ids: set[str], shard_dir: str) -> None:
    """The worker process (``--serve``): pickled refs in on stdin, pickled results out on the original stdout."""
    import pickle

    out = os.fdopen(os.dup(1), "wb")
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # libraries print: keep the protocol stream clean
    inp = sys.stdin.buffer
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from nar_data._warm import warm_up
    from nar_data.parquet import TableWriter
    from nar_data.pool import PRELOAD

    warm_up()
    import importlib

    for name in PRELOAD:  # what the pool's fork server imports
        importlib.import_module(name)
    clock = _Clock()
    _instrument(clock)
    _warm_parquet(shard_dir)
    writer = TableWriter(shard_dir, "graphs", rows_per_shard=10**9, flush_seconds=1e9)
    graphs = 0

    def send(msg: Any) -> None:
        pickle.dump(msg, out, protocol=pickle.HIGHEST_PROTOCOL)
        out.flush()

    send("ready")
    while True:
        try:
            ref = pickle.load(inp)
        except EOFError:
            return
        if ref is None:
            break
        res = _run(ref, clock, ref.model_id in profile_ids)
        graph = res.pop("_graph", None)
        if graph is not None:
            writer.write(graph)
            graphs += 1
        send(res)
    t = time.perf_counter()
    writer.close()  # one shard of every graph: its cost is shared out over the rows
    send({"flush": time.perf_counter() - t, "rows": graphs})


class Worker:
    """One worker process on the nar_data of checkout ``code``."""

    def __init__(self, code: str, profile_ids: set[str], shard_dir: str) -> None:
        import pickle

        self.code, self.profile_ids, self.shard_dir = code, profile_ids, shard_dir
        self.flush, self.rows = 0.0, 0
        # a fixed hash seed: some models' edge order follows a set of strings (Gemma 3's rotary embeddings per
        # layer type), so two processes can differ in it; with one seed both workers see the same order
        env = {**os.environ, "NAR_PROFILE_CODE": code, "PYTHONPATH": code, "PYTHONHASHSEED": "0"}
        self.proc = subprocess.Popen([sys.executable, __file__, "--serve", "--profile-ids", ",".join(profile_ids),
                                      "--shards", shard_dir], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        self._pickle = pickle
        if self._recv(600) != "ready":
            raise RuntimeError(f"the worker on {code} did not start")

    def _recv(self, timeout: float) -> Any:
        import select

        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not ready:
            return None
        try:
            return self._pickle.load(self.proc.stdout)
        except EOFError:
            return None

    def run(self, ref: Any, timeout: float) -> dict[str, Any] | None:
        self._pickle.dump(ref, self.proc.stdin)
        self.proc.stdin.flush()
        return self._recv(timeout)

    def close(self) -> None:
        try:
            self._pickle.dump(None, self.proc.stdin)
            self.proc.stdin.flush()
            msg = self._recv(120)
            if isinstance(msg, dict):
                self.flush, self.rows = self.flush + msg["flush"], self.rows + msg["rows"]
        except (BrokenPipeError, OSError):
            pass
        self.kill()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def _warm_parquet(shard_dir: str) -> None:
    """One tiny shard written (and removed) first, so the measured flush excludes pyarrow's first-use set-up."""
    import shutil

    from nar_data.build.tiny import tiny_model
    from nar_data.parquet import TableWriter
    from nar_data.tracing import trace_module

    module, args = tiny_model("transformer_block")
    warm = Path(shard_dir) / "_warm"
    with TableWriter(warm, "graphs") as w:
        w.write(trace_module(module, args))
    shutil.rmtree(warm, ignore_errors=True)


# ----------------------------------------------------------------------------------------------- samples

def _spread(items: list[Any], n: int) -> list[Any]:
    """``n`` items evenly spaced over ``items`` (all of them when ``n`` >= len)."""
    if n <= 0:
        return []
    if n >= len(items):
        return list(items)
    step = len(items) / n
    return [items[int(i * step)] for i in range(n)]


def _hf_refs(n: int, repos: int) -> list[Any]:
    """Representative refs (one per config hash) of a crawl of the local Hub server."""
    from nar_data.hub import UNLIMITED, CallBudget, CrawlQuery, HubClient, HubCrawler
    from nar_data.hub.crawler import refs_from_state
    from nar_data.testing.hub_fixtures import generate_repos
    from nar_data.testing.hub_server import running_hub

    out = Path(tempfile.mkdtemp(prefix="nar-trace-profile-"))
    with running_hub(generate_repos(repos)) as hub:
        client = HubClient(endpoint=hub.url, token=False, budget=CallBudget(UNLIMITED), backoff_s=0.001)
        HubCrawler(out, client).crawl(CrawlQuery())
    refs = [r for r in refs_from_state(out, representatives_only=True) if r.library in ("transformers", "timm")
            and not str(r.meta.get("kind", "")).startswith("remote.")]
    return _spread(refs, n)


def _samples(args: argparse.Namespace) -> list[Any]:
    from nar_data.sources import get_source

    refs: list[Any] = []
    if args.timm:
        refs += _spread(list(get_source("timm").iter_refs(filter=args.timm_filter)), args.timm)
    if args.torchvision:
        refs += _spread(list(get_source("torchvision").iter_refs()), args.torchvision)
    if args.transformers:
        refs += _spread(list(get_source("transformers").iter_refs()), args.transformers)
    if args.hf:
        refs += _hf_refs(args.hf, args.hf_repos)
    return refs


def _registry_twin(ref: Any) -> Any:
    """The registry ref of the same architecture as a Hub ref (same class / timm architecture), or None."""
    from nar_data.sources import get_source

    if ref.library == "timm":
        arch = (ref.config or {}).get("architecture", "")
        return next(iter(get_source("timm").iter_refs(names=[arch])), None) if arch else None
    classes = (ref.config or {}).get("architectures") or []
    kind = str(ref.meta.get("kind", ""))
    cls = kind.split(".", 1)[1] if kind.startswith("transformers.") and not kind.startswith("transformers.auto:") \
        else (classes[0] if classes else "")
    if not cls:
        return None
    return next(iter(get_source("transformers").iter_refs(names=[cls])), None)


# ----------------------------------------------------------------------------------------------- report

def _load() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def _pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * (len(xs) - 1) + 0.5))] if xs else float("nan")


def table(results: list[dict[str, Any]]) -> str:
    lines = ["| source | n ok / n | " + " | ".join(PHASES) + " |",
             "|---|---:|" + "---:|" * len(PHASES)]
    for source in SOURCES + ("all",):
        rows = [r for r in results if source in ("all", r["source"])]
        ok = [r for r in rows if r["ok"]]
        if not rows:
            continue
        cells = []
        for p in PHASES:
            xs = [r.get(p, 0.0) for r in ok]
            cells.append(f"{statistics.median(xs):.3f} / {_pct(xs, 0.9):.3f}" if xs else "-")
        lines.append(f"| {source} | {len(ok)} / {len(rows)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _finish(results: list[dict[str, Any]], worker: Worker) -> None:
    """Share the Parquet flush out over the rows, and fill ``other``."""
    share = worker.flush / max(worker.rows, 1)
    for r in results:
        if r["ok"]:
            r["write"] = r.get("write", 0.0) + share
            r["total"] += share
            known = sum(r.get(p, 0.0) for p in PHASES if p not in ("wl", "other", "total"))
            r["other"] = max(0.0, r["total"] - known)


def compare(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> str:
    """Old / new per source, model by model (both traced back to back), and whether the graphs are identical."""
    by_id = {r["model_id"]: r for r in old}
    pairs = [(by_id[r["model_id"]], r) for r in new if r["model_id"] in by_id]
    same = sum(1 for a, b in pairs if a["ok"] and b["ok"] and a["digest"] == b["digest"])
    both = [(a, b) for a, b in pairs if a["ok"] and b["ok"]]
    lines = [f"identical graphs (every field a trace decides): {same} / {len(both)} traced by both; "
             f"ok only in old: {sum(a['ok'] and not b['ok'] for a, b in pairs)}, "
             f"ok only in new: {sum(b['ok'] and not a['ok'] for a, b in pairs)}"]
    for a, b in both:
        if a["digest"] != b["digest"]:
            lines.append(f"  DIFFERENT {a['model_id']}: arch_id {'same' if a['arch_id'] == b['arch_id'] else 'differs'}, "
                         f"capture {a['method']} -> {b['method']}, nodes {a['nodes']} -> {b['nodes']}")
    lines += ["", "| source | n | old median s | new median s | old / new (medians) [95 % CI] "
              "| median of per-model old / new [95 % CI] | sum old / sum new |", "|---|---:|---:|---:|---:|---:|---:|"]
    for source in SOURCES + ("all",):
        sel = [(a, b) for a, b in both if source in ("all", a["source"])]
        if not sel:
            continue
        ta, tb = [a["total"] for a, _ in sel], [b["total"] for _, b in sel]
        ratios = [a["total"] / b["total"] for a, b in sel]
        lo1, hi1, lo2, hi2 = _ratio_cis(ta, tb)
        lines.append(f"| {source} | {len(sel)} | {statistics.median(ta):.3f} | {statistics.median(tb):.3f} | "
                     f"{statistics.median(ta) / statistics.median(tb):.2f} [{lo1:.2f}, {hi1:.2f}] | "
                     f"{statistics.median(ratios):.2f} [{lo2:.2f}, {hi2:.2f}] | {sum(ta) / sum(tb):.2f} |")
    lines.append("(95 % CIs in brackets: 2 000 bootstrap resamples of the models, paired, seed 0)")
    return "\n".join(lines)


def _ratio_cis(old: list[float], new: list[float], n: int = 2000) -> tuple[float, float, float, float]:
    """95 % bootstrap CIs (models resampled with replacement, old and new paired) of the ratio of the medians and
    of the median per-model ratio."""
    import random

    rng = random.Random(0)
    idx = range(len(old))
    of_medians, per_model = [], []
    for _ in range(n):
        pick = [rng.choice(idx) for _ in idx]
        a, b = [old[i] for i in pick], [new[i] for i in pick]
        of_medians.append(statistics.median(a) / statistics.median(b))
        per_model.append(statistics.median(x / y for x, y in zip(a, b)))
    lo, hi = int(0.025 * n), int(0.975 * n) - 1
    of_medians.sort()
    per_model.sort()
    return of_medians[lo], of_medians[hi], per_model[lo], per_model[hi]


def _twin_table(warm: dict[str, dict[str, Any]], twins: dict[str, str]) -> str:
    """A Hub config's size (layers, width) may differ from the registry's default config of the same class, so
    besides the seconds the table gives milliseconds per graph node."""
    lines = ["| hf ref | s | nodes | registry twin | s | nodes | hf / registry (s) | hf / registry (ms per node) |",
             "|---|---:|---:|---|---:|---:|---:|---:|"]
    ratios, per_node = [], []
    for hf, reg in twins.items():
        a, b = warm.get(hf), warm.get(reg)
        if a and b and a["ok"] and b["ok"]:
            ratios.append(a["total"] / b["total"])
            per_node.append((a["total"] / a["nodes"]) / (b["total"] / b["nodes"]))
            lines.append(f"| {hf} | {a['total']:.3f} | {a['nodes']} | {reg} | {b['total']:.3f} | {b['nodes']} | "
                         f"{ratios[-1]:.2f} | {per_node[-1]:.2f} |")
    if ratios:
        lines.append(f"\nmedian hf / registry: {statistics.median(ratios):.2f} in seconds, "
                     f"{statistics.median(per_node):.2f} in ms per node ({len(ratios)} pairs)")
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--timm", type=int, default=40, help="timm refs (evenly spaced over list_models)")
    p.add_argument("--timm-filter", default="", help="glob over timm names")
    p.add_argument("--torchvision", type=int, default=20)
    p.add_argument("--transformers", type=int, default=40)
    p.add_argument("--hf", type=int, default=20, help="Hub refs from a crawl of the local Hub server")
    p.add_argument("--hf-repos", type=int, default=320, help="repos the local Hub is generated with")
    p.add_argument("--twins", action="store_true", help="also trace the registry ref of each hf ref's class")
    p.add_argument("--against", default="", help="another checkout (e.g. main): a second worker runs its code, "
                   "model by model alternating with this one, and the report gives old / new ratios")
    p.add_argument("--profile", type=int, default=0, help="cProfile the first N models of each source")
    p.add_argument("--timeout", type=float, default=120.0, help="per-model limit (s); the worker is replaced")
    p.add_argument("--json", default="", help="write per-model rows here")
    p.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--profile-ids", default="", help=argparse.SUPPRESS)
    p.add_argument("--shards", default="", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.serve:
        _serve(set(filter(None, args.profile_ids.split(","))), args.shards)
        return 0

    load_before = _load()
    refs = _samples(args)
    twins: dict[str, str] = {}
    if args.twins:
        for r in [r for r in refs if r.source == "hf"]:
            twin = _registry_twin(r)
            if twin is not None:
                twins[r.model_id] = twin.model_id
                if twin.model_id not in {x.model_id for x in refs}:
                    refs.append(twin)
    profile_ids = {r.model_id for source in SOURCES for r in [x for x in refs if x.source == source][: args.profile]}
    sides = {"new": CODE, **({"old": str(Path(args.against).resolve())} if args.against else {})}
    print(f"{len(refs)} refs; code: {sides}; load before: {load_before}", flush=True)

    shard_root = Path(tempfile.mkdtemp(prefix="nar-trace-profile-"))
    workers = {side: Worker(code, profile_ids, str(shard_root / side)) for side, code in sides.items()}
    results: dict[str, list[dict[str, Any]]] = {side: [] for side in sides}
    warm: dict[str, dict[str, dict[str, Any]]] = {side: {} for side in sides}

    def trace(side: str, ref: Any) -> dict[str, Any]:
        res = workers[side].run(ref, args.timeout)
        if res is None:  # hung or crashed: a fresh worker for the next ref
            workers[side].kill()
            workers[side] = Worker(sides[side], profile_ids, str(shard_root / side))
            res = {"model_id": ref.model_id, "source": ref.source, "ok": False, "stage": "worker",
                   "error": f"no result in {args.timeout:g} s", "total": args.timeout}
        return res

    t0 = time.perf_counter()
    for i, ref in enumerate(refs):
        order = list(sides) if i % 2 == 0 else list(reversed(sides))  # alternate who goes first
        line = []
        for side in order:
            res = trace(side, ref)
            results[side].append(res)
            line.append(f"{side} {res['total']:6.3f}s{'' if res['ok'] else ' ERR ' + res.get('error', '')[:60]}")
        print(f"[{i + 1}/{len(refs)}] {ref.model_id:58s} " + "  ".join(sorted(line)), flush=True)
    if twins:  # each pair again, registry ref first, both warm (the first pass paid the model-type imports)
        for hf, reg in twins.items():
            for side in sides:
                for model_id in (reg, hf):
                    warm[side][model_id] = trace(side, next(r for r in refs if r.model_id == model_id))
    for side, w in workers.items():
        w.close()
        _finish(results[side], w)
    wall = time.perf_counter() - t0
    load_after = _load()

    for side in sides:
        for r in results[side]:
            if "profile" in r:
                print(f"\n== cProfile [{side}] {r['model_id']} ({r['total']:.3f} s, profiled) ==\n{r.pop('profile')}")
    for side in sides:
        w = workers[side]
        print(f"\n[{side}: {sides[side]}] median / p90 seconds per phase (ok models; Parquet flush {w.flush:.2f} s for "
              f"{w.rows} rows, shared out in write)")
        print(table(results[side]))
        if twins:
            print(f"\n[{side}] warm pass, each Hub ref after its registry twin:\n" + _twin_table(warm[side], twins))
    if "old" in sides:
        print("\n" + compare(results["old"], results["new"]))
    fails = [r for r in results["new"] if not r["ok"]]
    if fails:
        print(f"\n{len(fails)} failed (new): " + ", ".join(f"{r['model_id']} ({r.get('stage')})" for r in fails[:20]))
    print(f"\n{wall:.0f} s wall\nload before: {load_before}\nload after:  {load_after}")
    if args.json:
        Path(args.json).write_text(json.dumps({"load_before": load_before, "load_after": load_after, "wall_s": wall,
                                               "code": sides, "twins": twins, "warm": warm, "rows": results},
                                              indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
