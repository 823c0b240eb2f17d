"""Trace coverage, speed, memory and dedup of the library registries (the issue-2 must-reach table).

    python bench/trace_coverage.py --source all --workers 2 --out data/full      # the whole registries
    python bench/trace_coverage.py --preset demo --out data/demo                 # the demo preset
    python bench/trace_coverage.py --report-only --out data/full                 # just print an existing run

Traces (resuming whatever ``--out`` already holds), then prints per source: listed models, traced, coverage,
median/p90 seconds per model (one worker's wall time, worker start excluded), models per minute, node counts,
the top failure classes, the top-5 models by worker RSS and how many models collapse to how many arch_ids.
``--markdown`` prints the README table.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time


def markdown(cov: dict, stats: dict, wall: dict) -> str:
    lines = ["| source | models | traced | coverage | median s | p90 s | models/min | nodes (median) | arch_ids |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]

    def f(x: float, fmt: str = ".2f") -> str:
        return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, fmt)

    for name, c in cov["sources"].items():
        s = stats["per_source"].get(name, {})
        lines.append(f"| {name} | {c['models']} | {c['ok']} | {100 * c['success']:.1f} % | {f(s.get('median_s'))} | "
                     f"{f(s.get('p90_s'))} | {f(s.get('models_per_min'), '.0f')} | {f(c['nodes']['median'], '.0f')} | "
                     f"{c['arch_ids']} |")
    t = cov["total"]
    lines.append(f"| **all** | {t['models']} | {t['ok']} | {100 * t['success']:.1f} % | | | | | {t['arch_ids']} |")
    lines.append("")
    lines.append("Top-5 worker RSS: " + ", ".join(f"`{m['model_id']}` {m['rss_mib']:.0f} MiB" for m in stats["top_rss"]))
    if wall:
        lines.append(f"Wall time of this run: {wall['seconds']:.0f} s with {wall['workers']} worker(s).")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--source", action="append", default=None, help="timm | torchvision | transformers | all")
    ap.add_argument("--preset", default=None)
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", default="data/full")
    ap.add_argument("--report-only", action="store_true")
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()

    from nar_data.coverage import coverage, run_stats

    wall = {}
    if not args.report_only:
        from nar_data.presets import iter_refs
        from nar_data.dataset import trace_to_dataset

        refs = list(iter_refs(args.source or ["all"], args.preset, args.limit))
        start = time.perf_counter()
        done = [0]

        def progress(event, ref, outcome):  # noqa: ANN001
            done[0] += 1
            if done[0] % 50 == 0:
                print(f"  {done[0]}/{len(refs)} {ref.model_id}", file=sys.stderr, flush=True)

        s = trace_to_dataset(refs, args.out, workers=args.workers, progress=progress)
        wall = {"seconds": time.perf_counter() - start, "workers": args.workers}
        print(f"traced {s.traced}, reused {s.reused}, skipped {s.skipped}, failed {s.failed} in {wall['seconds']:.0f} s")
    cov, stats = coverage(args.out), run_stats(args.out)
    if args.markdown:
        print(markdown(cov, stats, wall))
    else:
        print(json.dumps({"coverage": cov, "runs": stats, "wall": wall}, indent=1))
        print(markdown(cov, stats, wall))
    return 0


if __name__ == "__main__":
    sys.exit(main())
