"""Screenshots of each view of `nar ui` (PNG), taken in headless Chromium driven by Playwright.

Starts `nar ui --data DATA` on a free 127.0.0.1 port (or uses --url), searches QUERY, and saves
``progress.png`` (an unseen model only), ``search.png``, ``explain.png``, ``graph.png``, ``graph-ops.png``, ``map.png`` and ``dataset.png`` under
--out. Prints the time to each view and the number of requests that left 127.0.0.1 (must be 0).

    python bench/ui_screenshots.py --data data/nar --query timm:resnet50 --out data/ui-shots
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(data: str, port: int) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "flows.cli", "ui", "--data", data, "--port", str(port)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 300
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"nar ui exited: {proc.stderr.read().decode()[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=1) as r:
                if not json.loads(r.read()).get("warming"):  # encoder and tracer loaded
                    return proc
        except OSError:
            pass
        time.sleep(0.5)
    proc.kill()
    raise RuntimeError("nar ui did not answer /api/health within 300 s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="data/nar")
    ap.add_argument("--url", help="A running `nar ui` (default: start one over --data).")
    ap.add_argument("--query", default="timm:resnet50")
    ap.add_argument("--match-rank", type=int, default=2, help="Result row shown in the graph view.")
    ap.add_argument("--out", default="data/ui-shots")
    ap.add_argument("--chromium", default=os.environ.get("NAR_CHROMIUM", "/usr/bin/chromium"))
    ap.add_argument("--width", type=int, default=1440)
    ap.add_argument("--height", type=int, default=900)
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    proc = None
    url = args.url
    if url is None:
        port = free_port()
        t0 = time.perf_counter()
        proc = start_server(args.data, port)
        print(f"server ready (encoder and tracer loaded) in {time.perf_counter() - t0:.1f} s")
        url = f"http://127.0.0.1:{port}"
    outside: list[str] = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=args.chromium, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": args.width, "height": args.height}, device_scale_factor=1)
            page.on("request", lambda r: None if r.url.startswith(("http://127.0.0.1", "data:"))
                    else outside.append(r.url))
            page.goto(url)
            t0 = time.perf_counter()
            page.fill("#query", args.query)
            page.click("#search-btn")
            try:  # an unseen model: the status line while it is built and traced
                page.wait_for_selector("#status.running >> text=/build|trac/", timeout=5_000)
                page.screenshot(path=str(out / "progress.png"))
            except Exception:  # noqa: BLE001 - a query of the dataset answers before there is anything to show
                pass
            page.wait_for_selector("#results tbody tr", timeout=300_000)
            print(f"results in {time.perf_counter() - t0:.2f} s")
            page.screenshot(path=str(out / "search.png"))
            row = page.locator("#results tbody tr.hit").nth(args.match_rank - 1)
            row.locator(".explain-btn").click()
            page.wait_for_selector("tr.explanation .explain", timeout=60_000)
            page.screenshot(path=str(out / "explain.png"))
            t0 = time.perf_counter()
            row.locator(".graph-btn").click()
            page.wait_for_selector("#graph-match .scatterlayer .point", timeout=60_000)
            print(f"graph view in {time.perf_counter() - t0:.2f} s")
            page.wait_for_timeout(500)
            page.screenshot(path=str(out / "graph.png"))
            page.check("#show-ops")
            page.wait_for_timeout(800)
            page.screenshot(path=str(out / "graph-ops.png"))
            t0 = time.perf_counter()
            page.click("#tabs button[data-tab=map]")
            page.wait_for_selector("#map .scatterlayer .point", timeout=300_000)
            print(f"map in {time.perf_counter() - t0:.2f} s")
            page.wait_for_timeout(500)
            page.screenshot(path=str(out / "map.png"))
            page.click("#tabs button[data-tab=dataset]")
            page.wait_for_selector("#coverage tbody tr", timeout=60_000)
            page.wait_for_timeout(500)
            page.screenshot(path=str(out / "dataset.png"), full_page=True)
            browser.close()
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)
    print(f"requests off 127.0.0.1: {len(outside)} {outside[:5]}")
    for f in sorted(out.glob("*.png")):
        print(f"{f} {f.stat().st_size // 1024} KiB")


if __name__ == "__main__":
    main()
