"""`nar ui` in a real browser: Debian's headless Chromium driven by Playwright, over a tiny dataset.

Chromium is required: without it (or without Playwright) this test fails with how to install it, so CI
cannot pass silently. Locally, ``NAR_UI_BROWSER_OPTIONAL=1`` turns that failure into a skip.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

SHARED_FILL = "rgb(242, 142, 43)"  # the page's colour of a motif both graphs have


def _chromium() -> str:
    """The Chromium executable, or a failure (a skip with NAR_UI_BROWSER_OPTIONAL=1) saying how to get one."""
    path = os.environ.get("NAR_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    problem = None
    if not Path(path).is_file():
        problem = f"no Chromium at {path}: apt-get update && apt-get install -y chromium (or set NAR_CHROMIUM)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        problem = "Playwright is missing: pip install -e '.[ui]'"
    if problem:
        if os.environ.get("NAR_UI_BROWSER_OPTIONAL") == "1":
            pytest.skip(f"browser test skipped (NAR_UI_BROWSER_OPTIONAL=1): {problem}")
        pytest.fail(f"the browser test cannot run: {problem}; set NAR_UI_BROWSER_OPTIONAL=1 to skip it locally")
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(ui_dataset: tuple[Path, Path]) -> Iterator[str]:
    """``nar ui`` on a free 127.0.0.1 port, stopped afterwards."""
    _chromium()  # no browser: fail (or skip) before starting anything
    data, ckpt = ui_dataset
    port = _free_port()
    cmd = [sys.executable, "-m", "flows.cli", "ui", "--data", str(data), "--ckpt", str(ckpt), "--port", str(port),
           "--map", "pca", "--no-warm"]  # no unseen model here: skip loading the tracer
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=os.environ.copy())
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            if proc.poll() is not None:
                pytest.fail(f"nar ui exited with {proc.returncode}: {proc.stderr.read().decode()[-3000:]}")
            try:
                urllib.request.urlopen(f"{url}/api/health", timeout=1)
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("nar ui did not answer /api/health within 180 s")
                time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_search_explain_graph_map_and_dataset_in_chromium(server: str) -> None:
    chromium = _chromium()
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=60_000)  # a loaded machine: the first search may take a while
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.set_default_timeout(60_000)
            page.on("request", lambda r: requests.append(r.url))
            page.goto(server)

            # search: a model of the dataset; the other model with its very graph comes first, marked
            page.fill("#query", "hand:resnetish-2-16")
            page.click("#search-btn")
            expect(page.locator("#status")).to_contain_text("matches among 24 architectures")
            rows = page.locator("#results tbody tr.hit")
            expect(rows).to_have_count(11)  # the twin, then the k=10 nearest other architectures
            expect(rows.first.locator(".twin")).to_have_text("identical graph")
            expect(rows.first.locator("td.model")).to_contain_text("hand:resnetish-2-16-twin")
            expect(rows.nth(1).locator(".twin")).to_have_count(0)
            expect(page.locator("#status")).to_contain_text("matches among 24 architectures")
            second = rows.nth(1).locator("td.model").inner_text()

            # the explanation, one click away
            rows.nth(1).locator(".explain-btn").click()
            explanation = page.locator("tr.explanation .explain")
            expect(explanation).to_contain_text("shared motifs")
            expect(explanation).to_contain_text("side by side")
            assert explanation.locator(".summary").inner_text().strip()

            # the graph view: both macro graphs, shared motifs highlighted in both, then the operators
            rows.nth(1).locator(".graph-btn").click()
            expect(page.locator("#tab-graph")).to_be_visible()
            expect(page.locator("#gq-title")).to_contain_text("hand:resnetish-2-16")
            expect(page.locator("#gm-title")).to_contain_text(second.strip())
            for side in ("#graph-query", "#graph-match"):
                points = page.locator(f"{side} .scatterlayer .point")
                expect(points.first).to_be_attached()
                fills = points.evaluate_all("ps => ps.map(p => p.style.fill)")
                assert SHARED_FILL in fills, (side, fills)
            macro_points = page.locator("#graph-query .scatterlayer .point").count()
            page.check("#show-ops")
            expect(page.locator("#graph-query .scatterlayer .point")).to_have_count(17)  # the query's operators
            assert macro_points < 17

            # the map: every architecture, the query as a star; a click on a point searches its neighbours
            page.click("#tabs button[data-tab=map]")
            expect(page.locator("#map-info")).to_contain_text("24 architectures")
            expect(page.locator("#map .legend")).to_contain_text("query: hand:resnetish-2-16")
            expect(page.locator("#map .legend")).to_contain_text("cnn")
            point = page.locator("#map .scatterlayer .trace").first.locator(".point").first
            box = point.bounding_box()
            page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            expect(page.locator("#query")).to_have_value(re.compile(r"^[0-9a-f]{32}$"))
            expect(page.locator("#status")).to_contain_text("matches among 24 architectures")

            # a query that cannot be resolved: its one-line reason
            page.fill("#query", "no-such-model")
            page.click("#search-btn")
            expect(page.locator("#status.failed")).to_contain_text("no-such-model")

            # the dataset page: coverage per source, failures by class, op histogram
            page.click("#tabs button[data-tab=dataset]")
            expect(page.locator("#coverage tbody")).to_contain_text("hand")
            expect(page.locator("#failures")).to_contain_text("trace/RuntimeError")
            expect(page.locator("#ops-hist .bars .point").first).to_be_attached()
        finally:
            browser.close()
    outside = [u for u in requests if not u.startswith((server, "data:"))]
    assert not outside, f"the page loaded assets from outside 127.0.0.1: {outside}"
    assert any(u.endswith("/vendor/plotly.min.js") for u in requests)
