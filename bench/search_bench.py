"""How long a search takes, per query form: as a fresh ``nar search`` process and inside a warm server.

For each query it prints the wall time of ``nar search QUERY --json`` as a fresh process, the latency of the
same query sent to a running ``nar search-server`` (the answering process's own time, and the round trip),
and each as a ratio to ``python -c "import numpy"`` measured in the same run (a machine-load yardstick),
plus whether the fresh process imported torch. For a query that builds a model it also times importing the
library that defines the model: a second fresh process imports ``torch`` and that library first, timed, then
runs the same search, and what is left of its wall after the import and the query's own build + trace +
embed (its ``seconds``) is nar's overhead (interpreter start, CLI, dataset and checkpoint), all measured in
one process so that a load change between runs does not leak into it. Run on a built dataset:

    python bench/search_bench.py --data data/nar [--repeat 3] [--hub]

``--hub`` also starts the local Hub server with its fixture repos and times the ``hf:`` forms against it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: (form, query); the dataset forms first. ``{config}`` / ``{folder}`` are written to a temporary folder.
QUERIES = [
    ("dataset model id", "torchvision:resnet50"),
    ("bare name", "resnet50"),
    ("dataset arch_id", "{arch_id}"),
    ("registry, unknown name", "timm:not_a_model"),
    ("registry, unseen", "timm:resnet18d"),
    ("transformers registry", "transformers:bert"),
    ("local config.json", "{config}"),
]
HUB_QUERIES = [
    ("hf: transformers", "hf:Qwen/Qwen2.5-0.5B"),
    ("hf: timm config", "hf:timm/resnet50.a1_in1k"),
    ("hf: sentence-transformers", "hf:sentence-transformers/all-MiniLM-L6-v2"),
]
#: The library a query's model is built with (imported only by the forms that build one).
LIBRARY = {"timm:resnet18d": "timm", "{config}": "transformers", "hf:Qwen/Qwen2.5-0.5B": "transformers",
           "hf:timm/resnet50.a1_in1k": "timm", "hf:sentence-transformers/all-MiniLM-L6-v2": "transformers"}
TINY_BERT = {"model_type": "bert", "architectures": ["BertModel"], "hidden_size": 64, "num_hidden_layers": 2,
             "num_attention_heads": 2, "intermediate_size": 128, "vocab_size": 1000}
PROBE = ("import os, sys, runpy, time; sys.argv = ['nar', *sys.argv[1:]]\n"
         "lib = os.environ.get('NAR_BENCH_PREIMPORT')\n"
         "if lib:\n    t = time.perf_counter(); __import__('torch'); __import__(lib)\n"
         "    print(f'IMPORT={time.perf_counter() - t:.3f}', file=sys.stderr)\n"
         "def report():\n    print('TORCH=' + str('torch' in sys.modules), file=sys.stderr); sys.stderr.flush()\n"
         "_exit = os._exit\nos._exit = lambda code: (report(), _exit(code))  # `nar search` skips teardown\n"
         "try:\n    runpy.run_module('flows.cli', run_name='__main__')\nexcept SystemExit as e:\n    code = e.code\n"
         "report(); sys.exit(code)")


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", **(extra or {})}


def wall(cmd: list[str], env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
    return time.perf_counter() - start, proc


def numpy_wall(repeat: int) -> float:
    return statistics.median(wall([sys.executable, "-c", "import numpy"], _env())[0] for _ in range(repeat))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=os.environ.get("NAR_DATA_DIR", "data/nar"))
    ap.add_argument("--repeat", type=int, default=3, help="fresh processes per query (median)")
    ap.add_argument("--hub", action="store_true", help="also time hf: queries against the local Hub server")
    args = ap.parse_args()
    data = Path(args.data)

    from nar.dataset import DatasetView

    view = DatasetView(data)
    tmp = Path(tempfile.mkdtemp(prefix="nar-search-bench-"))
    (tmp / "config.json").write_text(json.dumps(TINY_BERT))
    fill = {"arch_id": view.arch_of.get("torchvision:resnet50", next(iter(view.labels))), "config": str(tmp / "config.json")}
    queries = [(form, q.format(**fill)) for form, q in QUERIES]
    library = {q.format(**fill): lib for q, lib in LIBRARY.items()}
    extra_env: dict[str, str] = {"HF_HOME": str(tmp / "hf")}
    hub = None
    if args.hub:
        from nar_data.testing.hub_fixtures import generate_repos
        from nar_data.testing.hub_server import HubServer

        hub = HubServer(generate_repos(80))
        hub.start()
        extra_env["HF_ENDPOINT"] = hub.url
        queries += HUB_QUERIES
    env = _env(extra_env)

    base = numpy_wall(args.repeat)
    fresh: dict[str, tuple[float, str, bool]] = {}
    overhead: dict[str, tuple[float, float]] = {}  # query -> (library import s, nar overhead s)
    for form, query in queries:
        times, ok, torch = [], "ok", False
        for _ in range(args.repeat if not form.endswith(("unseen", "config.json")) and "hf:" not in form else 1):
            t, proc = wall([sys.executable, "-c", PROBE, "search", query, "--data", str(data), "--json",
                            "--no-server"], env)
            times.append(t)
            torch = "TORCH=True" in proc.stderr
            ok = "ok" if proc.returncode == 0 else "error: " + proc.stderr.strip().splitlines()[0][:60]
        fresh[query] = (statistics.median(times), ok, torch)
        if query in library:  # the same search after a timed `import torch, LIB` in the same process
            t, proc = wall([sys.executable, "-c", PROBE, "search", query, "--data", str(data), "--json",
                            "--no-server"], {**env, "NAR_BENCH_PREIMPORT": library[query]})
            imported = float(proc.stderr.split("IMPORT=", 1)[1].split()[0])
            seconds = float(json.loads(proc.stdout)["seconds"]) if proc.returncode == 0 else float("nan")
            overhead[query] = (imported, t - imported - seconds)

    # the same queries through a warm server (its own time and the client's round trip)
    server = subprocess.Popen([sys.executable, "-m", "flows.cli", "search-server", "--data", str(data)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    served: dict[str, tuple[float, float]] = {}
    try:
        line = server.stdout.readline()
        url = line.rsplit(" at ", 1)[-1].strip()
        from nar_model.service import SearchServiceError, remote_search

        for _, query in queries:
            start = time.perf_counter()
            try:
                answer = remote_search(url, {"query": query, "k": 10})
                inside = float(answer["seconds"])
            except SearchServiceError:
                inside = float("nan")
            served[query] = (inside, time.perf_counter() - start)
    finally:
        server.terminate()
        server.wait(30)
        if hub is not None:
            hub.stop()

    load = os.getloadavg()
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; `python -c \"import numpy\"` = {base:.2f} s "
          f"(median of {args.repeat}); data {data} ({len(view)} architectures)\n")
    print("| form | query | fresh process (s) | x numpy | torch imported | server: query (s) | server: round trip (s) "
          "| x numpy | import torch + library (s) | nar overhead (s) | result |")
    print("|---|---|---:|---:|---|---:|---:|---:|---:|---:|---|")
    for form, query in queries:
        t, ok, torch = fresh[query]
        inside, trip = served[query]
        shown = query if len(query) < 40 else "…" + query[-38:]
        imported, own = (f"{x:.2f}" for x in overhead[query]) if query in overhead else ("-", "-")
        print(f"| {form} | `{shown}` | {t:.2f} | {t / base:.1f} | {'yes' if torch else 'no'} | {inside:.3f} | "
              f"{trip:.3f} | {trip / base:.2f} | {imported} | {own} | {ok} |")


if __name__ == "__main__":
    main()
