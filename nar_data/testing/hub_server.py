"""A local Hugging Face Hub for tests and demos: stdlib HTTP on 127.0.0.1, seeded from fixture repos.

It speaks enough of the Hub's HTTP API for the real ``huggingface_hub`` client::

    GET  /api/models                      cursor pagination (Link: <...>; rel="next"), filters, expand
    GET  /api/{models,datasets}/{id}[/revision/{rev}]
    HEAD/GET /{id}/resolve/{rev}/{path}    (and /datasets/{id}/resolve/...) with ETag, X-Repo-Commit
    GET  /api/{type}s/{id}/tree/{rev}[/{path}], POST /api/{type}s/{id}/paths-info/{rev}
    POST /api/repos/create, /api/validate-yaml, /api/{type}s/{id}/preupload/{rev}, /api/{type}s/{id}/commit/{rev}
    POST /{prefix}{id}.git/info/lfs/objects/batch, PUT /_lfs/{oid}, POST /_lfs/verify/{oid}
    POST /api/{type}s/{id}/tag/{rev}, GET /api/{type}s/{id}/refs
    GET  /api/whoami-v2

Repos (files, commits, card/config excerpts) are `hub_repo.HubRepo`; the HTTP plumbing is ``hub_http``, the
routes ``hub_read`` and ``hub_write``; this module holds the server state (repos, counters, rate limits). Errors carry ``X-Error-Code`` (``RepoNotFound``, ``EntryNotFound``, ``RevisionNotFound``,
``GatedRepo``) like the Hub. Every response carries ``RateLimit`` / ``RateLimit-Policy`` headers;
fault injection (``rate_limit_fraction``, ``error_fraction``) and a server-side quota make the 429
and 5xx paths testable. ``calls`` counts requests by route::

    with running_hub(generate_repos(300)) as hub:
        api = HfApi(endpoint=hub.url)
        next(iter(api.list_models(limit=5)))
        hub.calls["list_models"]  # 1
"""

from __future__ import annotations

import base64
import json
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from .hub_http import HubError
from .hub_read import ReadRoutes
from .hub_repo import HubRepo, load_repos, save_repos
from .hub_write import WriteRoutes

__all__ = ["HubRepo", "HubServer", "running_hub", "load_repos", "save_repos"]

#: Page size of `/api/models` when the client gives no ``limit`` (the Hub caps pages at 1000).
PAGE_SIZE = 1000


# Fields of a listing item without ``expand`` (the Hub's defaults), and with ``full=True``.
_DEFAULT_FIELDS = ("_id", "id", "likes", "trendingScore", "private", "downloads", "tags", "pipeline_tag",
                   "library_name", "createdAt", "modelId")
_FULL_FIELDS = _DEFAULT_FIELDS + ("author", "sha", "lastModified", "gated", "disabled", "siblings")
_EXPAND_ALIASES = {"library_name": "library_name", "pipeline_tag": "pipeline_tag", "config": "config",
                   "cardData": "cardData"}


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:  # a client hanging up is not news
        pass


class HubServer:
    """The local Hub. ``start()`` returns its URL (``http://127.0.0.1:<port>``); ``stop()`` ends it.

    Args:
        repos: fixture repos, or a folder written by `save_repos`.
        rate_limit_fraction: answer this fraction of requests with 429 (a "storm"), seeded by ``seed``.
        error_fraction: answer this fraction with 503 (retryable server errors).
        quota: ``(calls, window_seconds)`` of API calls per window, enforced with 429 like the Hub;
            resolver calls (file downloads) are counted apart, as on the Hub.
        page_size: listing page size when the client gives no ``limit``.
        tokens: accepted bearer tokens (``None``: any token is accepted); holders may read gated repos.
        retry_after: seconds the injected 429s ask the client to wait (``RateLimit`` ``t=`` and ``Retry-After``).
        port: 0 picks a free port (tests); a fixed one for demos.
    """

    def __init__(self, repos: Iterable[HubRepo] | str | Path = (), *, rate_limit_fraction: float = 0.0,
                 error_fraction: float = 0.0, quota: tuple[int, float] | None = None, page_size: int = PAGE_SIZE,
                 tokens: Iterable[str] | None = None, seed: int = 0, retry_after: int = 0, port: int = 0) -> None:
        if isinstance(repos, (str, Path)):
            repos = load_repos(repos)
        self.repos: dict[tuple[str, str], HubRepo] = {}
        self._order: list[HubRepo] = []
        for repo in repos:
            self.add(repo)
        self.rate_limit_fraction, self.error_fraction = rate_limit_fraction, error_fraction
        self.quota, self.page_size = quota, page_size
        self.tokens = set(tokens) if tokens is not None else None
        self.retry_after, self.port = retry_after, port
        self._rng = random.Random(seed)
        self._lock = threading.RLock()
        self._window: dict[str, list[float]] = {"api": [], "resolvers": []}
        self.calls: Counter[str] = Counter()
        self.statuses: Counter[int] = Counter()
        self.lfs_objects: dict[str, bytes] = {}
        self.seen_authorization: list[str] = []
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    # -- repos
    def add(self, repo: HubRepo) -> HubRepo:
        key = (repo.repo_type, repo.repo_id)
        if key not in self.repos:
            repo.seq = len(self._order) + 1
            self._order.append(repo)
        self.repos[key] = repo
        return repo

    def repo(self, repo_id: str, repo_type: str = "model") -> HubRepo:
        return self.repos[(repo_type, repo_id)]

    def reset_counters(self) -> None:
        with self._lock:
            self.calls.clear()
            self.statuses.clear()

    # -- lifecycle
    def start(self) -> str:
        server = self

        class Handler(_Handler):
            hub = server

        self._httpd = _QuietServer(("127.0.0.1", self.port), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="nar-hub-server", daemon=True)
        self._thread.start()
        return self.url

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> "HubServer":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- fault injection and quota (called by the handler under the lock)
    def _admit(self, kind: str) -> tuple[int | None, dict[str, str]]:
        """``(status to fail with or None, rate-limit headers)`` for one request of ``kind``."""
        with self._lock:
            now = time.monotonic()
            limit, window = self.quota if self.quota else (10**9, 300.0)
            if kind == "resolvers":
                limit *= 6  # the Hub's resolver quota is separate and larger
            calls = self._window.setdefault(kind, [])
            while calls and calls[0] <= now - window:
                calls.pop(0)
            reset = int(window - (now - calls[0])) + 1 if calls else int(window)
            if self.quota and len(calls) >= limit:
                return 429, self._rl_headers(kind, 0, reset, limit, window)
            if self.rate_limit_fraction and self._rng.random() < self.rate_limit_fraction:
                return 429, self._rl_headers(kind, 0, self.retry_after, limit, window)
            if self.error_fraction and self._rng.random() < self.error_fraction:
                return 503, {}
            calls.append(now)
            return None, self._rl_headers(kind, max(0, limit - len(calls)), reset, limit, window)

    @staticmethod
    def _rl_headers(kind: str, remaining: int, reset: int, limit: int, window: float) -> dict[str, str]:
        return {"RateLimit": f'"{kind}";r={remaining};t={reset}',
                "RateLimit-Policy": f'"fixed window";"{kind}";q={limit};w={int(window)}'}

    # -- listing
    def list_models(self, query: dict[str, list[str]]) -> tuple[list[dict[str, Any]], str | None]:
        q = {k: v[-1] for k, v in query.items()}
        filters = query.get("filter", [])
        limit = min(int(q.get("limit", self.page_size)), self.page_size)
        after = 0
        if q.get("cursor"):
            try:
                after = json.loads(base64.urlsafe_b64decode(q["cursor"].encode()))["after"]
            except (ValueError, KeyError, TypeError):
                raise HubError(400, None, "Invalid cursor") from None
        candidates: Iterable[HubRepo] = (r for r in self._order if r.repo_type == "model" and r.seq > after)
        sort = q.get("sort")
        if sort:
            key = {"downloads": lambda r: r.meta.get("downloads", 0), "likes": lambda r: r.meta.get("likes", 0),
                   "lastModified": lambda r: r.last_modified, "createdAt": lambda r: r.created_at}.get(sort)
            if key is None:
                raise HubError(400, None, f"Invalid sort {sort!r}")
            # sorted listings paginate by position in the sorted order (cursor "after" = rank)
            ranked = sorted((r for r in self._order if r.repo_type == "model"), key=key,
                            reverse=q.get("direction", "-1") == "-1")
            candidates = (r for i, r in enumerate(ranked, 1) if i > after)
            ranks = {id(r): i for i, r in enumerate(ranked, 1)}
        page: list[HubRepo] = []
        for repo in candidates:
            if self._match(repo, q, filters):
                page.append(repo)
                if len(page) > limit:
                    break
        more = len(page) > limit
        page = page[:limit]
        items = [self._select(r.info(), query) for r in page]
        if not more or not page:
            return items, None
        last = ranks[id(page[-1])] if sort else page[-1].seq
        cursor = base64.urlsafe_b64encode(json.dumps({"after": last}).encode()).decode()
        params = [(k, v) for k, vs in query.items() if k != "cursor" for v in vs] + [("cursor", cursor)]
        return items, "/api/models?" + urlencode(params)

    @staticmethod
    def _match(repo: HubRepo, q: dict[str, str], filters: list[str]) -> bool:
        m = repo.meta
        if m.get("private"):
            return False
        if q.get("search") and q["search"].lower() not in repo.repo_id.lower():
            return False
        if q.get("author") and repo.repo_id.split("/")[0] != q["author"]:
            return False
        if q.get("pipeline_tag") and m.get("pipeline_tag") != q["pipeline_tag"]:
            return False
        if q.get("library") and m.get("library_name") != q["library"]:
            return False
        tags = set(m.get("tags", [])) | {m.get("library_name"), m.get("pipeline_tag")}
        if any(f not in tags for f in filters):
            return False
        if q.get("gated") in ("true", "True") and not m.get("gated"):
            return False
        return True

    @staticmethod
    def _select(info: dict[str, Any], query: dict[str, list[str]]) -> dict[str, Any]:
        expand = query.get("expand", [])
        if expand:
            keys = ["_id", "id", *(_EXPAND_ALIASES.get(e, e) for e in expand)]
        elif query.get("full", [""])[-1] in ("True", "true", "1"):
            keys = list(_FULL_FIELDS)
        else:
            keys = list(_DEFAULT_FIELDS)
        if not expand:
            if query.get("config", [""])[-1] in ("True", "true", "1"):
                keys.append("config")
            if query.get("cardData", [""])[-1] in ("True", "true", "1"):
                keys.append("cardData")
        out = {k: info[k] for k in keys if k in info}
        if "safetensors" in keys and "safetensors" not in out:
            out.pop("safetensors", None)
        return out


class _Handler(ReadRoutes, WriteRoutes):
    """One request to the local Hub: the plumbing plus the read and write routes."""


@contextmanager
def running_hub(repos: Iterable[HubRepo] | str | Path = (), **kwargs: Any) -> Iterator[HubServer]:
    """A started `HubServer` for the ``with`` block (any test dir can use it); stopped afterwards."""
    server = HubServer(repos, **kwargs)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> None:
    """``python -m nar_data.testing.hub_server [--repos N | --folder DIR] [--port P]``: a demo Hub until Ctrl-C."""
    import argparse

    ap = argparse.ArgumentParser(description="Serve fixture repos as a local Hugging Face Hub (for demos).")
    ap.add_argument("--repos", type=int, default=320, help="generate this many fixture repos")
    ap.add_argument("--folder", help="serve repos saved with save_repos() instead")
    ap.add_argument("--port", type=int, default=0, help="0 = any free port")
    ap.add_argument("--rate-limit-fraction", type=float, default=0.0)
    args = ap.parse_args(argv)
    if args.folder:
        repos: Iterable[HubRepo] | str = args.folder
    else:
        from .hub_fixtures import generate_repos

        repos = generate_repos(args.repos)
    server = HubServer(repos, rate_limit_fraction=args.rate_limit_fraction, port=args.port)
    url = server.start()
    print(f"local Hub with {len(server.repos)} repos at {url}\n  nar crawl --endpoint {url} --out data/demo-hub", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
