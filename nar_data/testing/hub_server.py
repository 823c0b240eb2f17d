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

Repos (files, commits, card/config excerpts) are `hub_repo.HubRepo`. Errors carry ``X-Error-Code`` (``RepoNotFound``, ``EntryNotFound``, ``RevisionNotFound``,
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
import hashlib
import json
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlparse

from .hub_repo import HubRepo, git_blob_sha, load_repos, save_repos

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


class _HubError(Exception):
    def __init__(self, status: int, code: str | None, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


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
                raise _HubError(400, None, "Invalid cursor") from None
        candidates: Iterable[HubRepo] = (r for r in self._order if r.repo_type == "model" and r.seq > after)
        sort = q.get("sort")
        if sort:
            key = {"downloads": lambda r: r.meta.get("downloads", 0), "likes": lambda r: r.meta.get("likes", 0),
                   "lastModified": lambda r: r.last_modified, "createdAt": lambda r: r.created_at}.get(sort)
            if key is None:
                raise _HubError(400, None, f"Invalid sort {sort!r}")
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


_REPO = r"(?P<repo>[^/]+(?:/[^/]+)?)"
_ROUTES = [
    ("GET", "list_models", re.compile(r"^/api/models$")),
    ("GET", "whoami", re.compile(r"^/api/whoami-v2$")),
    ("POST", "create_repo", re.compile(r"^/api/repos/create$")),
    ("POST", "validate_yaml", re.compile(r"^/api/validate-yaml$")),
    ("GET", "repo_info", re.compile(r"^/api/(?P<type>models|datasets|spaces)/" + _REPO +
                                     r"(?:/revision/(?P<rev>[^/]+))?$")),
    ("GET", "tree", re.compile(r"^/api/(?P<type>models|datasets|spaces)/" + _REPO +
                               r"/tree/(?P<rev>[^/]+)(?:/(?P<path>.*))?$")),
    ("POST", "paths_info", re.compile(r"^/api/(?P<type>models|datasets|spaces)/" + _REPO + r"/paths-info/(?P<rev>[^/]+)$")),
    ("POST", "preupload", re.compile(r"^/api/(?P<type>models|datasets|spaces)/" + _REPO + r"/preupload/(?P<rev>[^/]+)$")),
    ("POST", "commit", re.compile(r"^/api/(?P<type>models|datasets|spaces)/" + _REPO + r"/commit/(?P<rev>[^/]+)$")),
    ("POST", "lfs_batch", re.compile(r"^/(?:(?P<type>datasets|spaces)/)?" + _REPO + r"\.git/info/lfs/objects/batch$")),
    ("PUT", "lfs_upload", re.compile(r"^/_lfs/(?P<oid>[0-9a-f]{64})$")),
    ("POST", "lfs_verify", re.compile(r"^/_lfs/verify/(?P<oid>[0-9a-f]{64})$")),
    ("GET", "resolve", re.compile(r"^/(?:(?P<type>datasets|spaces)/)?" + _REPO + r"/resolve/(?P<rev>[^/]+)/(?P<path>.+)$")),
    # release tags and refs, as `HfApi.create_tag` / `list_repo_refs` call them
    ("POST", "create_tag", re.compile(r"^/api/(?P<type>models|datasets|spaces)/" + _REPO + r"/tag/(?P<rev>[^/]+)$")),
    ("GET", "list_refs", re.compile(r"^/api/(?P<type>models|datasets|spaces)/" + _REPO + r"/refs$")),
]


class _Handler(BaseHTTPRequestHandler):
    """One request. Routes are matched in order; HEAD is served by the GET route without a body."""

    hub: HubServer
    protocol_version = "HTTP/1.1"  # keep-alive: the client reuses one connection
    disable_nagle_algorithm = True  # small responses must not wait for delayed ACKs (40 ms each)
    server_version = "nar-hub/1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    # -- plumbing
    def _dispatch(self, method: str) -> None:
        hub = self.hub
        url = urlparse(self.path)
        path = unquote(url.path)
        self._body = self._read_body() if method in ("POST", "PUT") else b""
        auth = self.headers.get("Authorization", "")
        if auth:
            with hub._lock:
                hub.seen_authorization.append(auth)
        for route_method, name, pattern in _ROUTES:
            if route_method != (method if method != "HEAD" else "GET"):
                continue
            match = pattern.match(path)
            if not match:
                continue
            kind = "resolvers" if name == "resolve" else "api" if name not in ("lfs_upload", "lfs_verify") else "other"
            with hub._lock:
                hub.calls[name] += 1
            status, rl_headers = hub._admit(kind)
            if status is not None:
                headers = dict(rl_headers)
                if status == 429 and hub.retry_after >= 0:
                    headers["Retry-After"] = str(hub.retry_after)
                return self._send_json(status, {"error": "Too Many Requests" if status == 429 else "Unavailable"},
                                       headers, method)
            try:
                getattr(self, f"_r_{name}")(method, match.groupdict(), parse_qs(url.query), rl_headers)
            except _HubError as e:
                headers = dict(rl_headers)
                if e.code:
                    headers["X-Error-Code"] = e.code
                headers["X-Error-Message"] = e.message
                self._send_json(e.status, {"error": e.message}, headers, method)
            return
        with hub._lock:
            hub.calls["unknown"] += 1
        self._send_json(404, {"error": f"No route for {method} {path}"}, {}, method)

    def _read_body(self) -> bytes:
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            return self.rfile.read(n)
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        return b""

    def _send(self, status: int, body: bytes, headers: dict[str, str], method: str,
              content_type: str = "application/json") -> None:
        with self.hub._lock:
            self.hub.statuses[status] += 1
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers.items():
            self.send_header(k, v)
        self._headers_buffer.append(b"\r\n")  # headers and body in one write
        if method != "HEAD":
            self._headers_buffer.append(body)
        self.flush_headers()

    def _send_json(self, status: int, obj: Any, headers: dict[str, str], method: str) -> None:
        self._send(status, json.dumps(obj, separators=(",", ":")).encode(), headers, method)

    def _authorized(self) -> bool:
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            return False
        return self.hub.tokens is None or auth[len("Bearer "):] in self.hub.tokens

    def _get_repo(self, repo_type: str | None, repo_id: str) -> HubRepo:
        rtype = (repo_type or "models").rstrip("s")
        repo = self.hub.repos.get((rtype, repo_id))
        if repo is None or (repo.meta.get("private") and not self._authorized()):
            raise _HubError(404 if self._authorized() else 401, "RepoNotFound", "Repository not found")
        return repo

    @staticmethod
    def _files_at(repo: HubRepo, rev: str | None) -> tuple[str, dict[str, bytes]]:
        rev = unquote(rev or "main")
        rev = repo.meta.get("git_tags", {}).get(rev, rev)  # a release tag names its commit (issue 5 section)
        if rev in ("main", repo.sha):
            return repo.sha, repo.files
        if rev in repo.history:
            return rev, repo.history[rev]
        raise _HubError(404, "RevisionNotFound", f"Invalid rev id: {rev}")

    # -- read routes
    def _r_list_models(self, method: str, g: dict[str, str], query: dict[str, list[str]], rl: dict[str, str]) -> None:
        items, next_path = self.hub.list_models(query)
        headers = dict(rl)
        if next_path:
            host = self.headers.get("Host", "127.0.0.1")
            headers["Link"] = f'<http://{host}{next_path}>; rel="next"'
        self._send_json(200, items, headers, method)

    def _r_whoami(self, method: str, g: dict[str, str], query: dict[str, list[str]], rl: dict[str, str]) -> None:
        if not self._authorized():
            raise _HubError(401, None, "Invalid credentials in Authorization header")
        self._send_json(200, {"type": "user", "name": "nar-user", "fullname": "nar test user", "orgs": [],
                              "auth": {"type": "access_token", "accessToken": {"role": "write"}}}, rl, method)

    def _r_repo_info(self, method: str, g: dict[str, str], query: dict[str, list[str]], rl: dict[str, str]) -> None:
        repo = self._get_repo(g["type"], g["repo"])
        sha, files = self._files_at(repo, g.get("rev"))
        info = dict(repo.info())
        if sha != repo.sha:
            info["sha"] = sha
            info["siblings"] = [{"rfilename": p} for p in sorted(files)]
        if query.get("expand"):
            info = HubServer._select(info, query)
        if query.get("blobs", [""])[-1] in ("True", "true", "1"):
            info["siblings"] = [{"rfilename": p, "size": len(files[p]), "blobId": git_blob_sha(files[p])}
                                for p in sorted(files)]
        self._send_json(200, info, rl, method)

    def _r_resolve(self, method: str, g: dict[str, str], query: dict[str, list[str]], rl: dict[str, str]) -> None:
        repo = self._get_repo(g["type"], g["repo"])
        if repo.meta.get("gated") and not self._authorized():
            raise _HubError(401, "GatedRepo", "Access to this model is restricted; you must be authenticated")
        sha, files = self._files_at(repo, g.get("rev"))
        path = g["path"]
        if path not in files or path in repo.meta.get("missing_files", ()):
            raise _HubError(404, "EntryNotFound", f"{path} does not exist on {g['rev']}")
        data = files[path]
        etag = f'"{git_blob_sha(data)}"'
        headers = {**rl, "ETag": etag, "X-Repo-Commit": sha, "Accept-Ranges": "bytes"}
        content_type = "application/json" if path.endswith(".json") else "application/octet-stream"
        self._send(200, data, headers, method, content_type)

    def _r_tree(self, method: str, g: dict[str, str], query: dict[str, list[str]], rl: dict[str, str]) -> None:
        repo = self._get_repo(g["type"], g["repo"])
        _, files = self._files_at(repo, g.get("rev"))
        prefix = (g.get("path") or "").strip("/")
        recursive = query.get("recursive", [""])[-1] in ("True", "true", "1")
        entries: dict[str, dict[str, Any]] = {}
        for path in sorted(files):
            if prefix and not path.startswith(prefix + "/"):
                continue
            rest = path[len(prefix) + 1:] if prefix else path
            parts = rest.split("/")
            if len(parts) > 1 and not recursive:
                folder = f"{prefix}/{parts[0]}" if prefix else parts[0]
                entries.setdefault(folder, {"type": "directory", "oid": "0" * 40, "size": 0, "path": folder})
                continue
            if recursive:
                for i in range(1, len(parts)):
                    folder = "/".join(([prefix] if prefix else []) + parts[:i])
                    entries.setdefault(folder, {"type": "directory", "oid": "0" * 40, "size": 0, "path": folder})
            entries[path] = self._file_entry(path, files[path])
        if prefix and not entries:
            raise _HubError(404, "EntryNotFound", f"{prefix} does not exist")
        self._send_json(200, list(entries.values()), rl, method)

    def _file_entry(self, path: str, data: bytes) -> dict[str, Any]:
        entry: dict[str, Any] = {"type": "file", "oid": git_blob_sha(data), "size": len(data), "path": path}
        if len(data) >= 10_000_000 or path.endswith((".parquet", ".safetensors", ".bin")):
            entry["lfs"] = {"oid": hashlib.sha256(data).hexdigest(), "size": len(data), "pointerSize": 130}
        return entry

    def _r_paths_info(self, method: str, g: dict[str, str], query: dict[str, list[str]], rl: dict[str, str]) -> None:
        repo = self._get_repo(g["type"], g["repo"])
        _, files = self._files_at(repo, g.get("rev"))
        form = parse_qs(self._body.decode()) if self._body and not self._body.startswith(b"{") else {}
        if self._body.startswith(b"{"):
            paths = json.loads(self._body).get("paths", [])
        else:
            paths = form.get("paths", [])
        out = []
        for p in paths:
            if p in files:
                out.append(self._file_entry(p, files[p]))
            elif any(f.startswith(p.rstrip("/") + "/") for f in files):
                out.append({"type": "directory", "oid": "0" * 40, "size": 0, "path": p})
        self._send_json(200, out, rl, method)

    # -- write routes
    def _r_validate_yaml(self, method: str, g: dict[str, str], query: dict[str, list[str]], rl: dict[str, str]) -> None:
        from nar_data.hub.card import CardError, split_front_matter

        content = json.loads(self._body or b"{}").get("content", "")
        try:
            split_front_matter(content)
        except CardError as e:
            raise _HubError(400, None, str(e)) from None
        self._send_json(200, {"errors": [], "warnings": []}, rl, method)

    def _r_create_repo(self, method: str, g: dict[str, str], query: dict[str, list[str]], rl: dict[str, str]) -> None:
        if not self._authorized():
            raise _HubError(401, None, "Invalid credentials in Authorization header")
        body = json.loads(self._body or b"{}")
        repo_type = body.get("type") or "model"
        repo_id = f"{body['organization']}/{body['name']}" if body.get("organization") else f"nar-user/{body['name']}"
        prefix = "" if repo_type == "model" else f"{repo_type}s/"
        url = f"http://{self.headers.get('Host')}/{prefix}{repo_id}"
        with self.hub._lock:
            if (repo_type, repo_id) in self.hub.repos:
                if body.get("exist_ok"):
                    return self._send_json(200, {"url": url, "name": repo_id}, rl, method)
                # like the Hub, a 409 still names the repo's url (`HfApi.create_repo(exist_ok=True)` reads it)
                return self._send_json(409, {"error": "You already created this repo", "url": url}, rl, method)
            self.hub.add(HubRepo.create(repo_id, {".gitattributes": b"*.parquet filter=lfs diff=lfs merge=lfs -text\n"},
                                        repo_type=repo_type, private=bool(body.get("private"))))
        self._send_json(200, {"url": url, "name": repo_id}, rl, method)

    def _r_preupload(self, method: str, g: dict[str, str], query: dict[str, list[str]], rl: dict[str, str]) -> None:
        repo = self._get_repo(g["type"], g["repo"])
        files = json.loads(self._body).get("files", [])
        out = []
        for f in files:
            lfs = f.get("size", 0) >= 10_000_000 or f["path"].endswith((".parquet", ".safetensors", ".bin", ".arrow"))
            existing = repo.files.get(f["path"])
            out.append({"path": f["path"], "uploadMode": "lfs" if lfs else "regular", "shouldIgnore": False,
                        "oid": git_blob_sha(existing) if existing is not None and not lfs else None})
        self._send_json(200, {"files": out, "commitOid": repo.sha}, rl, method)

    def _r_lfs_batch(self, method: str, g: dict[str, str], query: dict[str, list[str]], rl: dict[str, str]) -> None:
        self._get_repo(g.get("type"), g["repo"])
        body = json.loads(self._body)
        host = self.headers.get("Host")
        objects = []
        for obj in body.get("objects", []):
            entry: dict[str, Any] = {"oid": obj["oid"], "size": obj["size"]}
            if obj["oid"] not in self.hub.lfs_objects:
                entry["actions"] = {
                    "upload": {"href": f"http://{host}/_lfs/{obj['oid']}"},
                    "verify": {"href": f"http://{host}/_lfs/verify/{obj['oid']}"},
                }
            objects.append(entry)
        self._send(200, json.dumps({"transfer": "basic", "objects": objects}).encode(), rl, method,
                   "application/vnd.git-lfs+json")

    def _r_lfs_upload(self, method: str, g: dict[str, str], query: dict[str, list[str]], rl: dict[str, str]) -> None:
        data = self._body
        if hashlib.sha256(data).hexdigest() != g["oid"]:
            raise _HubError(400, None, "sha256 of the uploaded content does not match the oid")
        with self.hub._lock:
            self.hub.lfs_objects[g["oid"]] = data
        self._send(200, b"", rl, method)

    def _r_lfs_verify(self, method: str, g: dict[str, str], query: dict[str, list[str]], rl: dict[str, str]) -> None:
        if g["oid"] not in self.hub.lfs_objects:
            raise _HubError(404, None, "LFS object not uploaded")
        self._send_json(200, {"success": True}, rl, method)

    def _r_commit(self, method: str, g: dict[str, str], query: dict[str, list[str]], rl: dict[str, str]) -> None:
        repo = self._get_repo(g["type"], g["repo"])
        if not self._authorized():
            raise _HubError(401, None, "Invalid credentials in Authorization header")
        changes: dict[str, bytes | None] = {}
        for line in self._body.decode().splitlines():
            if not line.strip():
                continue
            op = json.loads(line)
            key, value = op["key"], op["value"]
            if key == "file":
                content = value["content"]
                changes[value["path"]] = (base64.b64decode(content) if value.get("encoding") == "base64"
                                          else content.encode())
            elif key == "lfsFile":
                data = self.hub.lfs_objects.get(value["oid"])
                if data is None:
                    raise _HubError(400, None, f"LFS object {value['oid']} of {value['path']} was not uploaded")
                changes[value["path"]] = data
            elif key == "deletedFile":
                changes[value["path"]] = None
            elif key == "deletedFolder":
                for p in list(repo.files):
                    if p.startswith(value["path"].rstrip("/") + "/"):
                        changes[p] = None
        with self.hub._lock:
            repo.commit(changes, at=time.time())
        prefix = "" if repo.repo_type == "model" else f"{repo.repo_type}s/"
        host = self.headers.get("Host")
        self._send_json(200, {"commitUrl": f"http://{host}/{prefix}{repo.repo_id}/commit/{repo.sha}",
                              "commitOid": repo.sha, "success": True}, rl, method)

    # Tags live in ``repo.meta["git_tags"]`` (tag -> commit sha) and resolve as revisions.
    def _r_create_tag(self, method: str, g: dict[str, str], query: dict[str, list[str]], rl: dict[str, str]) -> None:
        repo = self._get_repo(g["type"], g["repo"])
        if not self._authorized():
            raise _HubError(401, None, "Invalid credentials in Authorization header")
        sha, _ = self._files_at(repo, g.get("rev"))
        tag = json.loads(self._body or b"{}").get("tag", "")
        with self.hub._lock:
            tags = repo.meta.setdefault("git_tags", {})
            if tag in tags:
                raise _HubError(409, None, f"Tag {tag} already exists")
            tags[tag] = sha
        self._send_json(200, {"name": tag, "ref": f"refs/tags/{tag}", "targetCommit": sha}, rl, method)

    def _r_list_refs(self, method: str, g: dict[str, str], query: dict[str, list[str]], rl: dict[str, str]) -> None:
        repo = self._get_repo(g["type"], g["repo"])
        tags = repo.meta.get("git_tags", {})
        self._send_json(200, {"branches": [{"name": "main", "ref": "refs/heads/main", "targetCommit": repo.sha}],
                              "converts": [], "tags": [{"name": t, "ref": f"refs/tags/{t}", "targetCommit": c}
                                                       for t, c in sorted(tags.items())]}, rl, method)


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
