"""Write routes of the local Hub: create repo, validate YAML, preupload, LFS, commit, tags."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from typing import Any

from .hub_http import HubError, Plumbing
from .hub_repo import HubRepo, git_blob_sha

__all__ = ["WriteRoutes"]


class WriteRoutes(Plumbing):
    """The routes ``huggingface_hub`` uploads through (``HfApi.upload_folder``, ``create_tag``, ...)."""

    def _r_validate_yaml(self, method: str, g: dict[str, str], query: dict[str, list[str]], rl: dict[str, str]) -> None:
        from nar_data.hub.card import CardError, split_front_matter

        content = json.loads(self._body or b"{}").get("content", "")
        try:
            split_front_matter(content)
        except CardError as e:
            raise HubError(400, None, str(e)) from None
        self._send_json(200, {"errors": [], "warnings": []}, rl, method)

    def _r_create_repo(self, method: str, g: dict[str, str], query: dict[str, list[str]], rl: dict[str, str]) -> None:
        if not self._authorized():
            raise HubError(401, None, "Invalid credentials in Authorization header")
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
            raise HubError(400, None, "sha256 of the uploaded content does not match the oid")
        with self.hub._lock:
            self.hub.lfs_objects[g["oid"]] = data
        self._send(200, b"", rl, method)

    def _r_lfs_verify(self, method: str, g: dict[str, str], query: dict[str, list[str]], rl: dict[str, str]) -> None:
        if g["oid"] not in self.hub.lfs_objects:
            raise HubError(404, None, "LFS object not uploaded")
        self._send_json(200, {"success": True}, rl, method)

    def _r_commit(self, method: str, g: dict[str, str], query: dict[str, list[str]], rl: dict[str, str]) -> None:
        repo = self._get_repo(g["type"], g["repo"])
        if not self._authorized():
            raise HubError(401, None, "Invalid credentials in Authorization header")
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
                    raise HubError(400, None, f"LFS object {value['oid']} of {value['path']} was not uploaded")
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
            raise HubError(401, None, "Invalid credentials in Authorization header")
        sha, _ = self._files_at(repo, g.get("rev"))
        tag = json.loads(self._body or b"{}").get("tag", "")
        with self.hub._lock:
            tags = repo.meta.setdefault("git_tags", {})
            if tag in tags:
                raise HubError(409, None, f"Tag {tag} already exists")
            tags[tag] = sha
        self._send_json(200, {"name": tag, "ref": f"refs/tags/{tag}", "targetCommit": sha}, rl, method)
