"""Where a source's traces spend their time, summed over a sample: cProfile of build + trace, or seconds per op.

`bench/trace_profile.py` splits each model's seconds into phases; this script looks inside them, over many models
of one source in one warmed-up process (evenly spaced over the source's listing, as trace_profile samples):

    .venv/bin/python bench/trace_hotspots.py --source timm -n 40                    # cProfile, by own time
    .venv/bin/python bench/trace_hotspots.py --source timm -n 40 --sort cumulative
    .venv/bin/python bench/trace_hotspots.py --source timm -n 80 --build-only       # the build alone
    .venv/bin/python bench/trace_hotspots.py --source timm -n 40 --ops              # seconds per op below the recorder

``--ops`` times every op the recorder's bottom dispatch mode runs (`MetaResults.run`: a cache hit or the op's meta
kernel), summed per op over the sample, without cProfile's overhead. Prints the wall seconds and ``uptime`` load;
on a shared machine compare runs made back to back.
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import os
import pstats
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _sample(source: str, n: int) -> list:
    from nar_data.sources import get_source

    refs = list(get_source(source).iter_refs())
    step = len(refs) / max(n, 1)
    return [refs[int(i * step)] for i in range(min(n, len(refs)))]


def _run(refs: list, build_only: bool) -> None:
    from nar_data.sources import get_source
    from nar_data.tracing import trace_built

    for ref in refs:
        source = get_source(ref.source)
        try:
            built = source.build(ref)
            if not build_only:
                trace_built(ref, built, source.labels(ref))
        except Exception as e:  # noqa: BLE001 - a failing model is reported, not fatal
            print(f"failed {ref.model_id}: {type(e).__name__}", file=sys.stderr)


def _op_times(refs: list) -> None:
    from nar_data.build import meta_results

    seconds: dict[str, float] = collections.defaultdict(float)
    calls: collections.Counter[str] = collections.Counter()
    run = meta_results.MetaResults.run

    def timed(self: object, func: object, args: tuple, kwargs: dict) -> object:
        start = time.perf_counter()
        try:
            return run(self, func, args, kwargs)
        finally:
            seconds[str(func)] += time.perf_counter() - start
            calls[str(func)] += 1

    meta_results.MetaResults.run = timed  # type: ignore[method-assign]
    try:
        _run(refs, build_only=False)
    finally:
        meta_results.MetaResults.run = run  # type: ignore[method-assign]
    print(f"ops below the recorder: {sum(calls.values())} calls, {sum(seconds.values()):.2f} s")
    for name, s in sorted(seconds.items(), key=lambda kv: -kv[1])[:30]:
        print(f"{s:8.3f} s {calls[name]:8d} calls {1e6 * s / calls[name]:8.1f} us/call  {name}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--source", default="timm")
    p.add_argument("-n", type=int, default=40, help="models, evenly spaced over the listing")
    p.add_argument("--build-only", action="store_true", help="profile source.build only")
    p.add_argument("--ops", action="store_true", help="seconds per op below the recorder instead of cProfile")
    p.add_argument("--sort", default="tottime", help="pstats sort key (tottime, cumulative, ...)")
    p.add_argument("--lines", type=int, default=40)
    args = p.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from nar_data._warm import warm_up

    warm_up()
    refs = _sample(args.source, args.n)
    load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    start = time.perf_counter()
    if args.ops:
        _op_times(refs)
    else:
        prof = cProfile.Profile()
        prof.enable()
        _run(refs, args.build_only)
        prof.disable()
        pstats.Stats(prof).sort_stats(args.sort).print_stats(args.lines)
    print(f"{len(refs)} {args.source} models, {time.perf_counter() - start:.1f} s wall")
    print(f"load before: {load}\nload after:  {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")


if __name__ == "__main__":
    main()
