"""The fault suite: inject every fault the tracing and crawling paths must survive, and print one table.

Each fault runs a few times; a row counts what went wrong over all its runs, against an uninterrupted
reference run of the same work:

- ``crashes``: the run died with a traceback (anything but a failure row, a one-line error, or the exit
  code of the signal it was sent),
- ``rows_lost``: models of the reference whose latest row differs in the final dataset (after the re-run that
  resumes), plus graphs (config hashes) of the reference missing from it,
- ``duplicate_rows``: graphs traced twice (one config hash in two rows) and models rows written twice (same
  model, config hash, status and arch_id),
- ``corrupt_shards``: Parquet files left on disk that do not read back.

Faults: a worker that raises, hangs, exhausts memory or segfaults; ``kill -9`` of a trace at random moments
(each followed by a re-run that must equal the reference); SIGINT and SIGTERM of ``nar trace`` (exit 130 /
143, rows kept); two traces writing one dataset at once; a disk that fills up mid-write (``ENOSPC`` injected at
the shard write); a truncated shard; 429 storms and 5xx answers from the local Hub; mutated ``config.json``
files (wrong types, missing keys, huge sizes, unknown model types, ``auto_map``) crawled and traced.

    python bench/faults.py                          # every fault, default run counts
    python bench/faults.py --only kill9,sigint --kill-runs 5 --json /tmp/faults.json

Everything runs on 127.0.0.1 and in temporary folders.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

NAR = [sys.executable, "-m", "flows.cli"]
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "NAR_DEBUG": "0", "NAR_TESTING_SOURCE": "1"}
os.environ["NAR_TESTING_SOURCE"] = "1"  # the tiny and misbehaving models are a source here (and in the workers)


# -- the work every tracing fault repeats -----------------------------------------------------------------

def _replicas(n: int) -> list[Any]:
    """``n`` copies of each good tiny model, as distinct refs (distinct config hashes)."""
    from dataclasses import replace

    from nar_data.sources import get_source
    from nar_data.testing import TINY_MODELS

    base = [r for r in get_source("testing").iter_refs() if r.name in TINY_MODELS]
    return [replace(r, name=f"{r.name}-{i}", config_hash=f"{r.config_hash}-{i}") for i in range(n) for r in base]


def _drive(data: str, n: int, fail_writes_after: int) -> int:
    """Child process: trace the replicas into ``data`` (the body every tracing fault kills or breaks)."""
    from flows import steps

    if fail_writes_after >= 0:  # a disk that fills up: the shard write raises ENOSPC after K shards
        import errno

        import pyarrow.parquet as pq

        real, calls = pq.write_table, [0]

        def full_disk(*args: Any, **kwargs: Any) -> Any:
            calls[0] += 1
            if calls[0] > fail_writes_after:
                raise OSError(errno.ENOSPC, "No space left on device")
            return real(*args, **kwargs)

        pq.write_table = full_disk
    try:
        steps.trace(_replicas(n), data, workers=1, timeout_s=60, preload=("nar_data.testing",))
    except OSError as e:
        print(f"error: {e}", file=sys.stderr)  # the one line a user would see
        return 1
    return 0


def _drive_cmd(data: Path, n: int, fail_writes_after: int = -1) -> list[str]:
    return [sys.executable, __file__, "_drive", str(data), str(n), str(fail_writes_after)]


def _state(data: Path) -> dict[str, Any]:
    """What a dataset holds: the latest status per model, graph rows per config hash, unreadable shards."""
    from nar_data.parquet import bad_shards, read_table

    bad = [str(p) for p, _ in bad_shards(data)] if data.exists() else []
    out: dict[str, Any] = {"models": {}, "graph_rows": {}, "corrupt": bad, "model_dups": 0}
    if not data.exists():
        return out
    models = read_table(data, "models", on_bad_files="skip").to_pydict()
    keys: dict[tuple, int] = {}
    for mid, h, status, aid in zip(models.get("model_id", []), models.get("config_hash", []),
                                   models.get("status", []), models.get("arch_id", [])):
        out["models"][mid] = (status, aid)
        keys[(mid, h, status, aid)] = keys.get((mid, h, status, aid), 0) + 1
    out["model_dups"] = sum(c - 1 for c in keys.values() if c > 1)  # one models row written twice
    graphs = read_table(data, "graphs", columns=["config_hash"], on_bad_files="skip").to_pydict()
    for h in graphs.get("config_hash", []):
        out["graph_rows"][h] = out["graph_rows"].get(h, 0) + 1
    return out


def _compare(ref: dict[str, Any], got: dict[str, Any]) -> dict[str, int]:
    """Models whose latest row differs from the reference, plus graphs of the reference missing, are lost."""
    lost = sum(1 for m, v in ref["models"].items() if got["models"].get(m) != v)
    lost += sum(1 for h in ref["graph_rows"] if h not in got["graph_rows"])
    dup = sum(c - 1 for c in got["graph_rows"].values() if c > 1) + got["model_dups"]
    return {"rows_lost": lost, "duplicate_rows": dup, "corrupt_shards": len(got["corrupt"])}


def _row(fault: str, runs: int, crashes: int, counts: list[dict[str, int]], note: str = "") -> dict[str, Any]:
    total = {k: sum(c[k] for c in counts) for k in ("rows_lost", "duplicate_rows", "corrupt_shards")}
    return {"fault": fault, "runs": runs, "crashes": crashes, **total, "note": note}


def _last_line(text: str) -> str:
    lines = [line for line in (text or "").splitlines() if line.strip()]
    return lines[-1].strip()[:300] if lines else ""


def _crashed(proc: subprocess.CompletedProcess | Any, allowed: tuple[int, ...] = (0,)) -> bool:
    err = proc.stderr if isinstance(proc.stderr, str) else (proc.stderr or b"").decode(errors="replace")
    return proc.returncode not in allowed or "Traceback (most recent call last)" in err


class Suite:
    def __init__(self, tmp: Path, args: argparse.Namespace) -> None:
        self.tmp, self.args, self.rng = tmp, args, random.Random(args.seed)
        self._reference: dict[str, Any] | None = None
        self._reference_s = 0.0

    def reference(self) -> dict[str, Any]:
        """The uninterrupted run every tracing fault is compared with (and its wall time)."""
        if self._reference is None:
            data = self.tmp / "reference"
            start = time.perf_counter()
            subprocess.run(_drive_cmd(data, self.args.replicas), env=ENV, check=True, capture_output=True)
            self._reference_s = time.perf_counter() - start
            self._reference = _state(data)
        return self._reference

    def resume(self, data: Path) -> bool:
        """Re-run the same work into ``data``; True if that re-run crashed."""
        proc = subprocess.run(_drive_cmd(data, self.args.replicas), env=ENV, capture_output=True, text=True)
        return _crashed(proc)

    # -- faults -------------------------------------------------------------------------------------------

    def worker_faults(self) -> list[dict[str, Any]]:
        """A model that raises, hangs, exhausts memory or segfaults: a classified failure row, the run goes on."""
        from flows import steps
        from nar_data.parquet import read_table
        from nar_data.sources import get_source

        want = {"raise": "RuntimeError", "sleep": "WorkerTimeout", "oom": "WorkerMemoryExceeded",
                "segfault": "WorkerCrashed"}
        rows = []
        refs = list(get_source("testing").iter_refs(names=[*want, "mlp", "cnn"]))
        for bad, cls in want.items():
            crashes, counts, notes = 0, [], []
            for run in range(self.args.worker_runs):
                data = self.tmp / f"worker-{bad}-{run}"
                try:
                    steps.trace([r for r in refs if r.name in (bad, "mlp", "cnn")], data, workers=1, timeout_s=45,
                                memory_limit=1 << 30, preload=("nar_data.testing",))
                except Exception as e:  # noqa: BLE001 - counting crashes is the point
                    crashes += 1
                    notes.append(type(e).__name__)
                    continue
                fails = read_table(data, "failures").to_pydict()
                got = dict(zip(fails["model_id"], fails["error_class"]))
                models = _state(data)["models"]
                lost = sum(1 for m in ("testing:mlp", "testing:cnn") if models.get(m, ("",))[0] != "ok")
                lost += got.get(f"testing:{bad}") != cls
                if got.get(f"testing:{bad}") != cls:
                    notes.append(f"{bad} -> {got.get(f'testing:{bad}')}")
                counts.append({"rows_lost": lost, "duplicate_rows": 0, "corrupt_shards": len(_state(data)["corrupt"])})
            rows.append(_row(f"worker {bad} ({cls})", self.args.worker_runs, crashes, counts, "; ".join(notes)))
        return rows

    def kill9(self) -> list[dict[str, Any]]:
        """``kill -9`` of the whole process group at a random moment, then a re-run that must equal the reference."""
        ref = self.reference()
        crashes, counts = 0, []
        for run in range(self.args.kill_runs):
            data = self.tmp / f"kill9-{run}"
            proc = subprocess.Popen(_drive_cmd(data, self.args.replicas), env=ENV, start_new_session=True,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(self.rng.uniform(0.2, max(self._reference_s, 1.0)))
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            crashes += self.resume(data)
            counts.append(_compare(ref, _state(data)))
        return [_row("kill -9 at a random moment + re-run", self.args.kill_runs, crashes, counts)]

    def signals(self) -> list[dict[str, Any]]:
        """SIGINT / SIGTERM of `nar trace`: exit 130 / 143 with one line, rows kept, a re-run completes."""
        rows = []
        ref_data = self.tmp / "cli-reference"
        subprocess.run([*NAR, "trace", "--source", "testing", "--data", str(ref_data), "--workers", "1"], env=ENV,
                       check=True, capture_output=True)
        ref = _state(ref_data)
        for sig, code in ((signal.SIGINT, 130), (signal.SIGTERM, 143)):
            crashes, counts, notes = 0, [], []
            for run in range(self.args.signal_runs):
                data = self.tmp / f"{sig.name}-{run}"
                proc = subprocess.Popen([*NAR, "trace", "--source", "testing", "--data", str(data), "--workers", "1"],
                                        env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                time.sleep(self.rng.uniform(2.0, 8.0))
                proc.send_signal(sig)
                try:
                    _, err = proc.communicate(timeout=120)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    _, err = proc.communicate()
                    notes.append("did not stop within 120 s")
                finished = proc.returncode == 0  # the run ended before the signal came
                if (proc.returncode != code and not finished) or "Traceback" in err:
                    crashes += 1
                    notes.append(f"exit {proc.returncode}: {err.strip().splitlines()[-1] if err.strip() else ''}")
                rerun = subprocess.run([*NAR, "trace", "--source", "testing", "--data", str(data), "--workers", "1"],
                                       env=ENV, capture_output=True, text=True)
                crashes += _crashed(rerun)
                counts.append(_compare(ref, _state(data)))
            rows.append(_row(f"{sig.name} of nar trace (exit {code})", self.args.signal_runs, crashes, counts,
                             "; ".join(notes)))
        return rows

    def concurrent(self) -> list[dict[str, Any]]:
        """Two traces writing one dataset at once."""
        ref = self.reference()
        crashes, counts, notes = 0, [], []
        for run in range(self.args.concurrent_runs):
            data = self.tmp / f"concurrent-{run}"
            procs = [subprocess.Popen(_drive_cmd(data, self.args.replicas), env=ENV, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True) for _ in range(2)]
            for p in procs:
                _, err = p.communicate()
                if "Traceback" in err:
                    crashes += 1
                elif p.returncode:
                    notes.append(err.strip().splitlines()[-1] if err.strip() else f"exit {p.returncode}")
            crashes += self.resume(data)
            counts.append(_compare(ref, _state(data)))
        return [_row("two traces into one dataset at once", self.args.concurrent_runs, crashes, counts,
                     "; ".join(dict.fromkeys(notes)))]

    def disk_full(self) -> list[dict[str, Any]]:
        """ENOSPC at the K-th shard write: a one-line error, no partial shard; a re-run completes."""
        ref = self.reference()
        crashes, counts, notes = 0, [], []
        for run in range(self.args.disk_runs):
            data = self.tmp / f"diskfull-{run}"
            proc = subprocess.run(_drive_cmd(data, self.args.replicas, fail_writes_after=1 + run), env=ENV,
                                  capture_output=True, text=True)
            if "Traceback" in proc.stderr:
                crashes += 1
                notes.append(proc.stderr.strip().splitlines()[-1])
            crashes += self.resume(data)
            counts.append(_compare(ref, _state(data)))
        return [_row("disk full at a shard write (ENOSPC)", self.args.disk_runs, crashes, counts,
                     "; ".join(dict.fromkeys(notes)))]

    def truncated(self) -> list[dict[str, Any]]:
        """A truncated shard: named in one line by readers and doctor; `doctor --fix` + re-run restores it."""
        ref = self.reference()
        crashes, counts, notes = 0, [], []
        for run in range(self.args.truncate_runs):
            data = self.tmp / f"truncated-{run}"
            subprocess.run(_drive_cmd(data, self.args.replicas), env=ENV, check=True, capture_output=True)
            shards = sorted((data / "graphs").glob("*.parquet"))
            victim = self.rng.choice(shards)
            victim.write_bytes(victim.read_bytes()[: victim.stat().st_size // 2])
            cov = subprocess.run([*NAR, "coverage", "--data", str(data)], env=ENV, capture_output=True, text=True)
            if "Traceback" in cov.stderr or victim.name not in cov.stdout + cov.stderr:
                crashes += 1
                notes.append("coverage did not name the bad shard")
            fix = subprocess.run([*NAR, "doctor", "--data", str(data), "--fix"], env=ENV, capture_output=True,
                                 text=True)
            crashes += _crashed(fix, (0, 1))
            crashes += self.resume(data)
            counts.append(_compare(ref, _state(data)))
        return [_row("truncated shard (coverage, doctor --fix, re-run)", self.args.truncate_runs, crashes, counts,
                     "; ".join(dict.fromkeys(notes)))]

    def hub(self) -> list[dict[str, Any]]:
        """429 storms and 5xx answers from the local Hub: the crawl finishes with the same rows as a clean one."""
        from nar_data.testing.hub_fixtures import generate_repos
        from nar_data.testing.hub_server import HubServer

        repos = generate_repos(self.args.hub_repos, seed=0)

        def crawl(data: Path, **faults: Any) -> tuple[subprocess.CompletedProcess, dict[str, Any]]:
            with HubServer(repos, retry_after=0, seed=self.rng.randrange(1 << 30), **faults) as hub:
                env = {**ENV, "HF_ENDPOINT": hub.url, "HF_HOME": str(self.tmp / "hf-home"),
                       "NAR_CACHE_DIR": str(self.tmp / "nar-cache")}
                proc = subprocess.run([*NAR, "crawl", "--endpoint", hub.url, "--data", str(data), "--quota", "none"],
                                      env=env, capture_output=True, text=True)
            models = _state(data)["models"]
            return proc, models

        _, clean = crawl(self.tmp / "hub-clean")
        rows = []
        for name, faults in (("429 storm (30 % of calls)", {"rate_limit_fraction": 0.3}),
                             ("5xx answers (20 % of calls)", {"error_fraction": 0.2})):
            crashes, counts, notes = 0, [], []
            for run in range(self.args.hub_runs):
                proc, got = crawl(self.tmp / f"hub-{next(iter(faults))}-{run}", **faults)
                if _crashed(proc):
                    crashes += 1
                    notes.append(proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "")
                lost = sum(1 for m in clean if m not in got)
                counts.append({"rows_lost": lost, "duplicate_rows": 0, "corrupt_shards": 0})
            rows.append(_row(f"local Hub: {name}", self.args.hub_runs, crashes, counts, "; ".join(notes)))
        return rows

    def mutated_configs(self) -> list[dict[str, Any]]:
        """Mutated config.json files crawled and traced: each a models row (ok or failed), never a crash."""
        from nar_data.testing.hub_fixtures import load_base_configs
        from nar_data.testing.hub_repo import HubRepo
        from nar_data.testing.hub_server import HubServer

        bases = list(load_base_configs().items())
        repos = []
        for i in range(self.args.mutations):
            repo_id, cfg = bases[i % len(bases)]
            repos.append(HubRepo.create(f"mutants/m{i:03d}", {"config.json": _mutate(cfg, self.rng),
                                                               "README.md": b"---\nlibrary_name: transformers\n---\n"},
                                        library_name="transformers", pipeline_tag="feature-extraction",
                                        tags=["transformers"]))
        data = self.tmp / "mutants"
        with HubServer(repos, retry_after=0) as hub:
            env = {**ENV, "HF_ENDPOINT": hub.url, "HF_HOME": str(self.tmp / "hf-home-m"),
                   "NAR_CACHE_DIR": str(self.tmp / "nar-cache-m")}
            crawl = subprocess.run([*NAR, "crawl", "--endpoint", hub.url, "--data", str(data), "--quota", "none",
                                    "--strict-configs"], env=env, capture_output=True, text=True)
            trace = subprocess.run([*NAR, "trace", "--source", "hf", "--data", str(data), "--workers", "2",
                                    "--timeout", "60"], env=env, capture_output=True, text=True)
        crashes = int(_crashed(crawl)) + int(_crashed(trace))
        state = _state(data)
        lost = sum(1 for r in repos if f"hf:{r.repo_id}" not in state["models"])
        statuses = [s for s, _ in state["models"].values()]
        note = f"{statuses.count('ok')} ok, {statuses.count('failed')} failed rows"
        for name, proc in (("crawl", crawl), ("trace", trace)):
            if _crashed(proc):
                note += f"; {name} exit {proc.returncode}: {_last_line(proc.stderr)}"
        return [_row(f"{self.args.mutations} mutated config.json (crawl + trace)", 1, crashes,
                     [{"rows_lost": lost, "duplicate_rows": sum(c - 1 for c in state["graph_rows"].values() if c > 1)
                       + state["model_dups"],
                       "corrupt_shards": len(state["corrupt"])}], note)]


def _mutate(cfg: dict[str, Any], rng: random.Random) -> bytes:
    """One hostile variant of a real config: wrong types, missing keys, huge sizes, unknown types, auto_map."""
    cfg = copy.deepcopy(cfg)
    kind = rng.choice(["wrong_type", "missing", "huge", "unknown_type", "auto_map", "negative", "not_json"])
    keys = [k for k, v in cfg.items() if isinstance(v, (int, float, str)) and k != "model_type"] or ["hidden_size"]
    key = rng.choice(keys)
    if kind == "wrong_type":
        cfg[key] = rng.choice(["abc", [1, 2], {"x": 1}, None, True])
    elif kind == "missing":
        for k in rng.sample(keys, min(3, len(keys))):
            cfg.pop(k, None)
    elif kind == "huge":
        for k in ("hidden_size", "num_hidden_layers", "vocab_size", "intermediate_size"):
            if k in cfg:
                cfg[k] = 10 ** rng.randint(6, 12)
    elif kind == "unknown_type":
        cfg["model_type"] = f"not-a-model-{rng.randrange(1000)}"
    elif kind == "auto_map":
        cfg["auto_map"] = {"AutoModel": "modeling_evil.EvilModel"}
    elif kind == "negative":
        cfg[key] = -abs(cfg[key]) if isinstance(cfg[key], (int, float)) else cfg[key]
    else:
        return b'{"model_type": "bert", "hidden_size": '
    return json.dumps(cfg).encode()


FAULTS: dict[str, Callable[[Suite], list[dict[str, Any]]]] = {
    "worker": Suite.worker_faults, "kill9": Suite.kill9, "signals": Suite.signals, "concurrent": Suite.concurrent,
    "diskfull": Suite.disk_full, "truncated": Suite.truncated, "hub": Suite.hub, "configs": Suite.mutated_configs,
}


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_drive":
        sys.exit(_drive(sys.argv[2], int(sys.argv[3]), int(sys.argv[4])))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", default=",".join(FAULTS), help=f"comma-separated among {', '.join(FAULTS)}")
    ap.add_argument("--replicas", type=int, default=15, help="copies of each tiny model in the traced work")
    ap.add_argument("--kill-runs", type=int, default=20)
    ap.add_argument("--worker-runs", type=int, default=2)
    ap.add_argument("--signal-runs", type=int, default=2)
    ap.add_argument("--concurrent-runs", type=int, default=2)
    ap.add_argument("--disk-runs", type=int, default=3)
    ap.add_argument("--truncate-runs", type=int, default=2)
    ap.add_argument("--hub-runs", type=int, default=2)
    ap.add_argument("--hub-repos", type=int, default=120)
    ap.add_argument("--mutations", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", dest="json_path", default=None, help="write {'faults': [...]} to this path")
    args = ap.parse_args()
    unknown = set(args.only.split(",")) - set(FAULTS)
    if unknown:
        ap.error(f"unknown fault {sorted(unknown)[0]!r}; valid: {', '.join(FAULTS)}")
    load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print(f"# {load}")
    print("| fault | runs | crashes | rows lost | duplicate rows | corrupt shards | note |")
    print("|---|---|---|---|---|---|---|")
    rows = []
    with tempfile.TemporaryDirectory(prefix="nar-faults-") as tmp:
        suite = Suite(Path(tmp), args)
        for name in args.only.split(","):
            for r in FAULTS[name](suite):
                rows.append(r)
                print(f"| {r['fault']} | {r['runs']} | {r['crashes']} | {r['rows_lost']} | {r['duplicate_rows']} | "
                      f"{r['corrupt_shards']} | {r['note']} |", flush=True)
    if args.json_path:
        Path(args.json_path).write_text(json.dumps({"load": load, "faults": [
            {k: r[k] for k in ("fault", "runs", "crashes", "rows_lost", "duplicate_rows", "corrupt_shards")}
            for r in rows]}, indent=1))


if __name__ == "__main__":
    main()
