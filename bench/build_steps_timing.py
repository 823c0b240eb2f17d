"""Time `make run`'s train + evaluate + embed steps (what `flows.build.build_flow` calls) on a copy of a dataset.

    .venv/bin/python bench/build_steps_timing.py --data data/nar --work data/nar-timing

The copy keeps the source dataset untouched (embed writes rows of the new encoder version).
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from pathlib import Path

from flows import steps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True, help="dataset to copy (read only)")
    ap.add_argument("--work", type=Path, required=True, help="where the copy goes (replaced)")
    ap.add_argument("--eval", default="wl,nar", help="encoders of the evaluate step (build_flow's default)")
    args = ap.parse_args()
    shutil.rmtree(args.work, ignore_errors=True)
    shutil.copytree(args.data, args.work)
    t0 = time.perf_counter()
    version = steps.train(args.work, None, "nar")["encoder_version"]
    t1 = time.perf_counter()
    metrics = steps.evaluate(args.work, [e for e in args.eval.split(",") if e])
    t2 = time.perf_counter()
    embedded = steps.embed(args.work)["embedded"]
    t3 = time.perf_counter()
    print(f"{version}: train {t1 - t0:.1f}s, evaluate {t2 - t1:.1f}s, embed {t3 - t2:.1f}s ({embedded} graphs), "
          f"total {t3 - t0:.1f}s; load {os.getloadavg()[0]:.1f}")
    print(metrics["markdown"])


if __name__ == "__main__":
    main()
