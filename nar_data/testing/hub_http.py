"""HTTP plumbing of the local Hub: the route table, request dispatch, replies, errors, auth and revisions."""

from __future__ import annotations

import json
import re
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlparse

from .hub_repo import HubRepo

if TYPE_CHECKING:
    from .hub_server import HubServer

__all__ = ["HubError", "Plumbing", "ROUTES"]


class HubError(Exception):
    """An error reply: HTTP status, the Hub's ``X-Error-Code`` and a message."""

    def __init__(self, status: int, code: str | None, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


_REPO = r"(?P<repo>[^/]+(?:/[^/]+)?)"
ROUTES = [
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


class Plumbing(BaseHTTPRequestHandler):
    """One request: routes are matched in order (HEAD is served by the GET route without a body); the route
    methods ``_r_<name>`` come from the `hub_read` and `hub_write` mixins."""

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
        for route_method, name, pattern in ROUTES:
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
            except HubError as e:
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
            raise HubError(404 if self._authorized() else 401, "RepoNotFound", "Repository not found")
        return repo

    @staticmethod
    def _files_at(repo: HubRepo, rev: str | None) -> tuple[str, dict[str, bytes]]:
        rev = unquote(rev or "main")
        rev = repo.meta.get("git_tags", {}).get(rev, rev)  # a release tag names its commit
        if rev in ("main", repo.sha):
            return repo.sha, repo.files
        if rev in repo.history:
            return rev, repo.history[rev]
        raise HubError(404, "RevisionNotFound", f"Invalid rev id: {rev}")
