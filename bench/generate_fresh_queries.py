"""Out-of-sample check of the every-query conditioning bar: held-out queries never used to choose a setting.

`bench/generate_bench.py` scores query conditioning on the first ``--queries`` (30) held-out cells, and the
shipped guidance / temperature were chosen on those same queries. This script scores the next ones
(``held[START:STOP]``, default 30:90) with the generator's saved near settings, exactly as the acceptance run
does: the held-out cells are `generate_bench`'s (1 200 sampled at seed 1000, training hashes removed), the
reference is the p90 of the query's cosine to the generator's own 1 000 unconditional samples (seed 0), and each
query's 10 raw conditional samples (seed = query index) are decoded and repaired, never filtered or re-ranked::

    OMP_NUM_THREADS=1 PYTHONPATH=. .venv/bin/python bench/generate_fresh_queries.py data/hgnas-gen.pt --start 30 --stop 90

Prints the queries meeting the bar, the mean margin (median conditional cosine - p90) with a 95 % bootstrap CI,
the worst margins and the load.
"""

from __future__ import annotations

import argparse
import os

import numpy as np
import torch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("generator", help="a saved CellGenerator (generate_bench.py --save, or nar generate's)")
    ap.add_argument("--start", type=int, default=30, help="first held-out cell used as a query")
    ap.add_argument("--stop", type=int, default=90, help="one past the last")
    ap.add_argument("--guidance", type=float, default=None, help="default: the generator's near_guidance")
    ap.add_argument("--temperature", type=float, default=None, help="default: the generator's near_temperature")
    ap.add_argument("--per-query", type=int, default=10)
    args = ap.parse_args()
    torch.set_num_threads(1)

    from nar.generate import CellGenerator, embed_cells
    from nar_model.generate.cell import cell_hash, sample_cells

    gen = CellGenerator.load(args.generator)
    w = gen.near_guidance if args.guidance is None else args.guidance
    temp = gen.near_temperature if args.temperature is None else args.temperature
    held = [c for c in sample_cells(1200, 1000) if cell_hash(c) not in gen.train_hashes][:1000]
    q_emb = embed_cells(held[args.start:args.stop])
    _, uncond = gen.sample(1000, seed=0)
    p90 = np.percentile(embed_cells(uncond) @ q_emb.T, 90, axis=0)
    margins = []
    for i, q in enumerate(q_emb):
        _, cells = gen.sample(args.per_query, condition=q, guidance=w, seed=args.start + i, temperature=temp)
        margins.append(float(np.median(embed_cells(cells) @ q) - p90[i]))
    m = np.asarray(margins)
    rng = np.random.default_rng(0)
    boots = np.array([rng.choice(m, len(m)).mean() for _ in range(2000)])
    print(f"queries held[{args.start}:{args.stop}], guidance {w}, temperature {temp}: "
          f"{int((m >= 0).sum())} / {len(m)} meet the p90; margin mean {m.mean():+.4f} "
          f"(95 % CI {np.percentile(boots, 2.5):+.4f} to {np.percentile(boots, 97.5):+.4f}), "
          f"worst {np.sort(m)[:3].round(4).tolist()}; load {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
