"""Fixture repos of the local Hub (`hub_server`): files, commits, config/card excerpts, save/load to a folder."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

__all__ = ["HubRepo", "git_blob_sha", "load_repos", "save_repos"]


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def git_blob_sha(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _parse_card(readme: bytes | None) -> dict[str, Any] | None:
    """``cardData`` the way the Hub derives it: the README's YAML front matter, or nothing if malformed."""
    if not readme:
        return None
    from nar_data.hub.card import split_front_matter

    try:
        data, _ = split_front_matter(readme.decode("utf-8", "replace"))
    except ValueError:
        return None
    return data or None


@dataclass
class HubRepo:
    """One repo: files at the head commit, history of commits, and listing metadata.

    ``meta`` holds the Hub's top-level fields (``library_name``, ``pipeline_tag``, ``tags``,
    ``downloads``, ``likes``, ``gated``, ``private``, ``safetensors_total``) and test knobs
    (``missing_files``: listed in siblings but answering 404).
    """

    repo_id: str
    files: dict[str, bytes]
    repo_type: str = "model"
    sha: str = ""
    created_at: float = 0.0
    last_modified: float = 0.0
    meta: dict[str, Any] = field(default_factory=dict)
    history: dict[str, dict[str, bytes]] = field(default_factory=dict)  # commit sha -> files at that commit
    seq: int = 0  # creation order, the key of the listing cursor
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def create(cls, repo_id: str, files: dict[str, bytes], repo_type: str = "model", created_at: float | None = None,
               last_modified: float | None = None, **meta: Any) -> "HubRepo":
        now = time.time() if created_at is None else created_at
        repo = cls(repo_id=repo_id, files=dict(files), repo_type=repo_type, created_at=now,
                   last_modified=last_modified if last_modified is not None else now, meta=meta)
        repo.sha = repo._commit_sha("")
        repo.history[repo.sha] = dict(repo.files)
        return repo

    def _commit_sha(self, parent: str) -> str:
        h = hashlib.sha1(f"{self.repo_type}/{self.repo_id}\0{parent}".encode())
        for path in sorted(self.files):
            h.update(path.encode() + b"\0" + git_blob_sha(self.files[path]).encode())
        return h.hexdigest()

    def commit(self, changes: dict[str, bytes | None], at: float | None = None) -> "HubRepo":
        """Apply ``changes`` (``None`` deletes a file) as a new commit; returns ``self``."""
        for path, data in changes.items():
            if data is None:
                self.files.pop(path, None)
            else:
                self.files[path] = data
        self.sha = self._commit_sha(self.sha)
        self.history[self.sha] = dict(self.files)
        self.last_modified = at if at is not None else max(self.last_modified + 3600, time.time())
        self._cache.clear()
        return self

    # -- what the Hub derives from the files
    def config_excerpt(self) -> dict[str, Any] | None:
        if "config" not in self._cache:
            excerpt = None
            raw = self.files.get("config.json")
            if raw is not None and len(raw) < 5_000_000:
                try:
                    cfg = json.loads(raw)
                except ValueError:
                    cfg = None
                if isinstance(cfg, dict):  # the Hub exposes only a few keys of config.json
                    excerpt = {k: cfg[k] for k in ("architectures", "model_type", "auto_map", "architecture")
                               if k in cfg}
            self._cache["config"] = excerpt
        return self._cache["config"]

    def card_data(self) -> dict[str, Any] | None:
        if "card" not in self._cache:
            self._cache["card"] = _parse_card(self.files.get("README.md"))
        return self._cache["card"]

    def info(self) -> dict[str, Any]:
        """Every field the Hub can return for this repo (the listing picks from it)."""
        if "info" in self._cache:
            return self._cache["info"]
        m = self.meta
        author = self.repo_id.split("/")[0] if "/" in self.repo_id else ""
        info: dict[str, Any] = {
            "_id": hashlib.md5(self.repo_id.encode()).hexdigest()[:24], "id": self.repo_id, "author": author,
            "sha": self.sha, "lastModified": _iso(self.last_modified), "createdAt": _iso(self.created_at),
            "private": bool(m.get("private", False)), "disabled": False, "gated": m.get("gated", False),
            "downloads": int(m.get("downloads", 0)), "likes": int(m.get("likes", 0)),
            "tags": list(m.get("tags", [])), "siblings": [{"rfilename": p} for p in sorted(self.files)],
            "trendingScore": 0,
        }
        if self.repo_type == "model":
            info["modelId"] = self.repo_id
            info["library_name"] = m.get("library_name")
            info["pipeline_tag"] = m.get("pipeline_tag")
            if info["library_name"] is None:
                del info["library_name"]
            if info["pipeline_tag"] is None:
                del info["pipeline_tag"]
            if (cfg := self.config_excerpt()) is not None:
                info["config"] = cfg
            if m.get("safetensors_total"):
                info["safetensors"] = {"parameters": {"F32": int(m["safetensors_total"])},
                                       "total": int(m["safetensors_total"])}
        if (card := self.card_data()) is not None:
            info["cardData"] = card
        self._cache["info"] = info
        return info


def save_repos(repos: Iterable[HubRepo], folder: str | Path) -> Path:
    """Write repos as ``folder/<org>/<name>/files`` plus ``_meta.json`` (for demos and inspection)."""
    folder = Path(folder)
    for repo in repos:
        root = folder / repo.repo_id
        root.mkdir(parents=True, exist_ok=True)
        for path, data in repo.files.items():
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_bytes(data)
        (root / "_meta.json").write_text(json.dumps({"repo_type": repo.repo_type, "created_at": repo.created_at,
                                                     "last_modified": repo.last_modified, **repo.meta}))
    return folder


def load_repos(folder: str | Path) -> list[HubRepo]:
    """Repos saved by `save_repos` (every folder holding a ``_meta.json``), in creation order."""
    out = []
    for meta_path in sorted(Path(folder).glob("*/*/_meta.json")):
        root = meta_path.parent
        meta = json.loads(meta_path.read_text())
        files = {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*")
                 if p.is_file() and p.name != "_meta.json"}
        out.append(HubRepo.create(str(root.relative_to(folder)), files, repo_type=meta.pop("repo_type", "model"),
                                  created_at=meta.pop("created_at", None), last_modified=meta.pop("last_modified", None),
                                  **meta))
    return sorted(out, key=lambda r: r.created_at)
