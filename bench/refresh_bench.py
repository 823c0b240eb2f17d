"""Refresh vs full build on a local Hub: time, API calls, traces, embeddings and uploaded files.

    .venv/bin/python bench/refresh_bench.py --repos 10000 --change 0.01 [--search convnext] [--encoder wl]

1. a local Hub with ``--repos`` fixture repos (plus a local dataset repo to publish to);
2. full build = `refresh` flow into an empty folder (crawl -> trace -> train/embed -> card -> upload);
3. ``--change`` of the repos get a new commit (half of them card-only, half new fine-tunes of known bases);
4. `refresh` again; prints both times, the ratio, the Hub calls of each, and checks the refreshed dataset
   equals a full rebuild of the final Hub state (``--check``).
Prefect's ephemeral API start-up is excluded (one warm-up flow run before timing).
"""

from __future__ import annotations

import argparse
import copy
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repos", type=int, default=10000)
    ap.add_argument("--change", type=float, default=0.01, help="fraction of repos changed before the refresh")
    ap.add_argument("--search", default=None, help="crawl only repos whose id contains this (faster runs)")
    ap.add_argument("--encoder", default="wl")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--check", action="store_true", help="also rebuild from scratch and compare datasets")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    os.environ.setdefault("HF_TOKEN", "hf_nar_bench")
    os.environ.setdefault("HF_HUB_DISABLE_XET", "1")
    from flows.refresh import refresh_flow  # first: sets nar's Prefect defaults (start-up timeout)
    from prefect import flow
    from nar_data.parquet import read_table
    from nar_data.testing.hub_fixtures import generate_repos, mutate_repo
    from nar_data.testing.hub_server import HubRepo, running_hub

    @flow
    def warm() -> int:
        return 1

    warm()
    root = Path(args.out or tempfile.mkdtemp(prefix="nar-refresh-bench-"))
    t = time.perf_counter()
    repos = generate_repos(args.repos)
    print(f"{len(repos)} fixture repos in {time.perf_counter() - t:.1f}s; data under {root}")
    query = {"search": args.search} if args.search else None
    with running_hub(copy.deepcopy(repos)) as hub:
        params = dict(endpoint=hub.url, crawl_query=query, encoder=args.encoder, workers=args.workers,
                      ckpt=str(root / "enc.pt"), repo_id="nar/bench", quota="none")
        t = time.perf_counter()
        full = refresh_flow(out=str(root / "nar"), **params)
        full_s = time.perf_counter() - t
        full_calls = dict(hub.calls)
        models = [r for r in hub.repos.values() if r.repo_type == "model"
                  and (not args.search or args.search in r.repo_id)]
        k = max(1, int(args.change * len(models)))
        rng = random.Random(0)
        picked = rng.sample(models, k)
        for i, r in enumerate(picked):
            if i % 2 == 0:
                mutate_repo(r, "bench")
            else:
                hub.add(HubRepo.create(f"bench-new/{r.repo_id.split('/')[-1]}-{i}", dict(r.files), **r.meta))
        hub.reset_counters()
        t = time.perf_counter()
        inc = refresh_flow(out=str(root / "nar"), **params)
        inc_s = time.perf_counter() - t
        inc_calls = dict(hub.calls)
        print(f"full build: {full_s:.1f}s, crawl {full['crawl']['listed']} listed, traced {full['trace']['traced']}, "
              f"embedded {full['embed']['embedded']}, uploaded {len(full['upload']['uploaded'])} files; calls {full_calls}")
        print(f"refresh after {k} changes ({100 * k / len(models):.1f}%): {inc_s:.1f}s = {100 * inc_s / full_s:.1f}% "
              f"of the full build; new {inc['crawl']['new']}, changed {inc['crawl']['changed']}, config fetches "
              f"{inc['crawl']['config_fetches']}, traced {inc['trace']['traced']}, embedded {inc['embed']['embedded']}, "
              f"uploaded {len(inc['upload']['uploaded'])} files; calls {inc_calls}")
        print(f"stage seconds: full {full['seconds']}, refresh {inc['seconds']}")
        if args.check:
            t = time.perf_counter()
            refresh_flow(out=str(root / "rebuilt"), **{**params, "repo_id": None})
            print(f"rebuild: {time.perf_counter() - t:.1f}s")

    if args.check:
        def state(out: Path) -> tuple:
            latest = {r["model_id"]: (r["sha"], r["arch_id"], r["status"])
                      for r in read_table(out, "models", ["model_id", "sha", "arch_id", "status"]).to_pylist()}
            emb = {r["arch_id"]: tuple(r["vector"]) for r in read_table(out, "embeddings", ["arch_id", "vector"]).to_pylist()}
            return latest, emb

        a, b = state(root / "nar"), state(root / "rebuilt")
        print(f"refreshed == rebuilt: models {a[0] == b[0]}, embeddings {a[1] == b[1]}")


if __name__ == "__main__":
    main()
