"""Must-reach figures of the Hub crawler, against the local Hub server with a generated hub.

    .venv/bin/python bench/crawl_bench.py                 # 10 000 repos, 10 kills (~3-5 min on 2 cores)
    .venv/bin/python bench/crawl_bench.py --repos 2000 --kills 3

Prints, for the README table:
  1. listing throughput (repos listed and parsed per second of listing);
  2. API economy of a first crawl (calls vs pages + new config hashes) and of a re-crawl with 1 % of the
     repos changed (calls vs pages + changed repos), plus how many rows the listing fingerprint gave a
     config hash different from a strict (fetch-every-config) crawl;
  3. kill -9 at N random points of a crawl, resumed each time: final tables vs an uninterrupted crawl;
  4. a 429 storm (30 % of calls): same tables, no extra failures.
"""

from __future__ import annotations

import argparse
import copy
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nar_data.hub import UNLIMITED, CallBudget, CrawlQuery, HubClient, HubCrawler, ListedRepo  # noqa: E402
from nar_data.parquet import read_table  # noqa: E402
from nar_data.testing.hub_fixtures import generate_repos, mutate_repo  # noqa: E402
from nar_data.testing.hub_server import running_hub  # noqa: E402

CHILD = """
import sys
sys.path.insert(0, {root!r})
from nar_data.hub import UNLIMITED, CallBudget, CrawlQuery, HubClient, HubCrawler
client = HubClient(endpoint={url!r}, token=False, budget=CallBudget(UNLIMITED), backoff_s=0.001)
progress = lambda summary, _: print("PAGE", summary.pages, flush=True)
s = HubCrawler({out!r}, client, canonical_configs=False, progress=progress).crawl(CrawlQuery(page_size={page}))
print("DONE", s.done, s.pages, flush=True)
"""


def client_for(url: str) -> HubClient:
    return HubClient(endpoint=url, token=False, budget=CallBudget(UNLIMITED), backoff_s=0.001)


def rows(out: Path, table: str) -> list[tuple]:
    data = read_table(out, table).to_pylist()
    return sorted(tuple((k, str(v)) for k, v in r.items() if k != "updated_at") for r in data)


def latest_hashes(out: Path) -> dict[str, str]:
    return {m["model_id"]: m["config_hash"] for m in read_table(out, "models").to_pylist()}


def line(name: str, value: str, target: str, ok: bool) -> None:
    print(f"| {name} | {value} | {target} | {'PASS' if ok else 'FAIL'} |", flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repos", type=int, default=10_000)
    ap.add_argument("--kills", type=int, default=10)
    ap.add_argument("--page-size", type=int, default=1000)
    ap.add_argument("--kill-page-size", type=int, default=200, help="smaller pages so kills land mid-crawl")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    tmp = Path(tempfile.mkdtemp(prefix="nar-crawl-bench-"))
    t = time.perf_counter()
    repos = generate_repos(args.repos, seed=args.seed)
    print(f"generated {len(repos)} fixture repos in {time.perf_counter() - t:.1f}s; work dir {tmp}", flush=True)
    results = []

    # 1. listing throughput ---------------------------------------------------------------------------
    with running_hub(copy.deepcopy(repos)) as hub:
        client = client_for(hub.url)
        list(client.list_pages(CrawlQuery(page_size=args.page_size).params()))  # warm the server's caches
        t = time.perf_counter()
        n = 0
        for page in client.list_pages(CrawlQuery(page_size=args.page_size).params()):
            n += sum(1 for item in page.items if ListedRepo.from_item(item))
        rate = n / (time.perf_counter() - t)
        results.append(("listing throughput", f"{rate:,.0f} repos/s ({n} repos, pages of {args.page_size})",
                        ">= 2000 repos/s", rate >= 2000))

    # 2. API economy ----------------------------------------------------------------------------------
    with running_hub(copy.deepcopy(repos)) as hub:
        first_dir = tmp / "first"
        s = HubCrawler(first_dir, client_for(hub.url), canonical_configs=False).crawl(CrawlQuery(page_size=args.page_size))
        print("first crawl: " + s.line(), flush=True)
        failed_fetches = sum(v for k, v in s.failed.items() if k in ("MalformedConfigError", "ConfigTooLargeError",
                                                                       "EntryNotFoundError"))
        useful = s.config_fetches - failed_fetches - s.fetches_known
        results.append(("first crawl: API calls", f"{s.api_calls} = {s.pages} pages", "<= pages",
                        s.api_calls <= s.pages))
        results.append(("first crawl: config fetches",
                        f"{s.config_fetches} for {s.new_configs} new config hashes ({s.listed} repos; "
                        f"{failed_fetches} on broken repos, {s.fetches_known} on repos the listing gave no "
                        f"parameter count for)", "<= 1 per new config hash",
                        useful <= s.new_configs))
        strict_dir = tmp / "strict"
        st = HubCrawler(strict_dir, client_for(hub.url), canonical_configs=False,
                        strict_configs=True).crawl(CrawlQuery(page_size=args.page_size))
        a, b = latest_hashes(first_dir), latest_hashes(strict_dir)
        differ = sum(1 for k in a if a[k] != b.get(k))
        results.append(("fingerprint reuse vs strict crawl", f"{differ} of {len(a)} rows with another config hash "
                        f"(strict: {st.config_fetches} fetches, {st.new_configs} hashes)", "report", True))
        changed = rng.sample([r for r in hub.repos.values() if "config.json" in r.files], max(1, len(repos) // 100))
        for repo in changed:
            mutate_repo(repo)
        s2 = HubCrawler(first_dir, client_for(hub.url), canonical_configs=False).crawl(CrawlQuery(page_size=args.page_size))
        print("re-crawl:    " + s2.line(), flush=True)
        results.append(("re-crawl, 1 % changed: calls",
                        f"{s2.api_calls} API + {s2.resolver_calls} resolver = {s2.api_calls + s2.resolver_calls} "
                        f"for {s2.pages} pages + {len(changed)} changed", "<= pages + changed",
                        s2.api_calls + s2.resolver_calls <= s2.pages + len(changed) and s2.changed == len(changed)))

    # 3. kill -9 resumption ---------------------------------------------------------------------------
    with running_hub(copy.deepcopy(repos)) as hub:
        ref_dir, kill_dir = tmp / "uninterrupted", tmp / "killed"
        code = CHILD.format(root=str(ROOT), url=hub.url, page=args.kill_page_size, out=str(ref_dir))
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
        full = time.perf_counter() - t
        total_pages = -(-len(repos) // args.kill_page_size)
        points = sorted(rng.sample(range(1, total_pages), min(args.kills, total_pages - 1)))
        kills, done_pages = 0, 0
        code = CHILD.format(root=str(ROOT), url=hub.url, page=args.kill_page_size, out=str(kill_dir))
        for point in points:  # kill when the crawl has committed `point` pages in all, plus a random instant
            if point <= done_pages:
                continue
            proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                    text=True)
            pages_here = 0
            for out_line in proc.stdout:  # type: ignore[union-attr]
                if out_line.startswith("PAGE"):
                    pages_here = int(out_line.split()[1])
                    if done_pages + pages_here >= point:
                        time.sleep(rng.uniform(0, 0.05))  # sometimes mid-page: shards written, commit not
                        os.kill(proc.pid, signal.SIGKILL)
                        kills += 1
                        break
            proc.wait()
            done_pages += pages_here
        final = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
        same = rows(kill_dir, "models") == rows(ref_dir, "models") and rows(kill_dir, "failures") == rows(ref_dir, "failures")
        n_ref, n_kill = len(read_table(ref_dir, "models")), len(read_table(kill_dir, "models"))
        results.append((f"kill -9 x{args.kills} then resume", f"{kills} kills mid-crawl at pages {points} of "
                        f"{total_pages} (uninterrupted crawl {full:.1f}s); "
                        f"models rows {n_kill} vs {n_ref} uninterrupted; tables equal: {same}",
                        "equal tables", same and kills == len(points) and "DONE True" in final.stdout))

    # 4. 429 storm ------------------------------------------------------------------------------------
    with running_hub(copy.deepcopy(repos), rate_limit_fraction=0.3, seed=args.seed + 1) as storm:
        storm_dir = tmp / "storm"
        t = time.perf_counter()
        s3 = HubCrawler(storm_dir, client_for(storm.url), canonical_configs=False).crawl(CrawlQuery(page_size=args.page_size))
        print("429 storm:   " + s3.line(), flush=True)
        with running_hub(copy.deepcopy(repos)) as calm:
            calm_dir = tmp / "calm"
            HubCrawler(calm_dir, client_for(calm.url), canonical_configs=False).crawl(CrawlQuery(page_size=args.page_size))
        same = rows(storm_dir, "models") == rows(calm_dir, "models") and \
            rows(storm_dir, "failures") == rows(calm_dir, "failures")
        results.append(("429 storm (30 % of calls)", f"{storm.statuses[429]} answers 429, {s3.retries} retries, "
                        f"{sum(s3.failed.values())} failures (all fixture bad repos), tables equal: {same}",
                        "same result, no failures", same and s3.done))

    print("\n| figure | measured | target | |\n|---|---|---|---|")
    for r in results:
        line(*r)
    return 0 if all(r[3] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
