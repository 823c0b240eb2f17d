"""Read routes of the local Hub: listing, repo info, file resolve, tree, paths-info, refs, whoami."""

from __future__ import annotations

import hashlib
import json
from typing import Any
from urllib.parse import parse_qs

from .hub_http import HubError, Plumbing
from .hub_repo import git_blob_sha

__all__ = ["ReadRoutes"]


class ReadRoutes(Plumbing):
    """The ``GET`` (and ``paths-info``) routes."""

    def _r_list_models(self, method: str, g: dict[str, str], query: dict[str, list[str]], rl: dict[str, str]) -> None:
        items, next_path = self.hub.list_models(query)
        headers = dict(rl)
        if next_path:
            host = self.headers.get("Host", "127.0.0.1")
            headers["Link"] = f'<http://{host}{next_path}>; rel="next"'
        self._send_json(200, items, headers, method)

    def _r_whoami(self, method: str, g: dict[str, str], query: dict[str, list[str]], rl: dict[str, str]) -> None:
        if not self._authorized():
            raise HubError(401, None, "Invalid credentials in Authorization header")
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
            info = self.hub._select(info, query)
        if query.get("blobs", [""])[-1] in ("True", "true", "1"):
            info["siblings"] = [{"rfilename": p, "size": len(files[p]), "blobId": git_blob_sha(files[p])}
                                for p in sorted(files)]
        self._send_json(200, info, rl, method)

    def _r_resolve(self, method: str, g: dict[str, str], query: dict[str, list[str]], rl: dict[str, str]) -> None:
        repo = self._get_repo(g["type"], g["repo"])
        if repo.meta.get("gated") and not self._authorized():
            raise HubError(401, "GatedRepo", "Access to this model is restricted; you must be authenticated")
        sha, files = self._files_at(repo, g.get("rev"))
        path = g["path"]
        if path not in files or path in repo.meta.get("missing_files", ()):
            raise HubError(404, "EntryNotFound", f"{path} does not exist on {g['rev']}")
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
            raise HubError(404, "EntryNotFound", f"{prefix} does not exist")
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

    def _r_list_refs(self, method: str, g: dict[str, str], query: dict[str, list[str]], rl: dict[str, str]) -> None:
        repo = self._get_repo(g["type"], g["repo"])
        tags = repo.meta.get("git_tags", {})
        self._send_json(200, {"branches": [{"name": "main", "ref": "refs/heads/main", "targetCommit": repo.sha}],
                              "converts": [], "tags": [{"name": t, "ref": f"refs/tags/{t}", "targetCommit": c}
                                                       for t, c in sorted(tags.items())]}, rl, method)
