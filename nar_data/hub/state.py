"""Crawl state under ``DIR/_crawl/state.sqlite``: cursor per query, sha per repo, known configs, budget.

SQLite gives what a resumable crawl needs for free: one transaction per listing page commits the
cursor, the repos' shas, the learned config hashes and the budget window together, and survives
``kill -9`` at any instant (a killed transaction is rolled back on the next open). Rows of that page
go to Parquet shards with names fixed by ``(run, page)``, written *before* the commit, so a page that
is redone after a kill replaces its own shards instead of duplicating them.

Tables:
  repos(model_id, sha, config_hash, status, error_class, fingerprint, ref)   one per crawled repo (ref: JSON
        of library / task / meta, what the tracing pool needs to write the repo's row)
  fingerprints(fp, params, config_hash, unit)  listing fingerprint -> config hash learned from a fetch
        (unit: head width + 1 of label heads, 0 = exact parameter match only)
  configs(config_hash, model_id, library, kind, task, config, meta)      one representative per config hash
  runs(query, run_id, stamp, next_path, page, listed, done)             cursor of each query's current run
  budget(kind, t)                                                       recent call times (the window)
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..schema import sortable_stamp

__all__ = ["CrawlState", "RepoState", "RunState", "STATE_DIR"]

STATE_DIR = "_crawl"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS repos (model_id TEXT PRIMARY KEY, sha TEXT, config_hash TEXT, status TEXT,
                                  error_class TEXT, fingerprint TEXT, ref TEXT);
CREATE TABLE IF NOT EXISTS fingerprints (fp TEXT, params INTEGER, config_hash TEXT, unit INTEGER,
                                         PRIMARY KEY (fp, params));
CREATE TABLE IF NOT EXISTS configs (config_hash TEXT PRIMARY KEY, model_id TEXT, library TEXT, kind TEXT,
                                    task TEXT, config TEXT, meta TEXT, revision TEXT);
CREATE TABLE IF NOT EXISTS runs (query TEXT PRIMARY KEY, run_id TEXT, stamp TEXT, next_path TEXT, page INTEGER,
                                 listed INTEGER, done INTEGER, params TEXT);
CREATE TABLE IF NOT EXISTS budget (kind TEXT, t REAL);
"""


@dataclass(frozen=True)
class RepoState:
    sha: str
    config_hash: str
    status: str
    error_class: str
    fingerprint: str


@dataclass
class RunState:
    query: str
    run_id: str
    stamp: str  # run start, "20261123T193000"; shard names sort by it
    next_path: str | None  # cursor of the next page to fetch; None = from the start
    page: int  # index of that page within the run
    listed: int  # repos listed so far in this run
    done: bool


class CrawlState:
    """The persistent state of crawls writing into one dataset folder."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.dir = Path(root) / STATE_DIR
        self.dir.mkdir(parents=True, exist_ok=True)
        self.path = self.dir / "state.sqlite"
        self.db = sqlite3.connect(self.path, isolation_level=None, timeout=60)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(_SCHEMA)

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Everything inside commits together or not at all."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # -- repos
    def repo(self, model_id: str) -> RepoState | None:
        row = self.db.execute("SELECT sha, config_hash, status, error_class, fingerprint FROM repos WHERE model_id=?",
                              (model_id,)).fetchone()
        return RepoState(*row) if row else None

    def repos(self, model_ids: list[str]) -> dict[str, RepoState]:
        out: dict[str, RepoState] = {}
        for i in range(0, len(model_ids), 500):
            chunk = model_ids[i:i + 500]
            marks = ",".join("?" * len(chunk))
            for mid, *rest in self.db.execute(
                    f"SELECT model_id, sha, config_hash, status, error_class, fingerprint FROM repos "
                    f"WHERE model_id IN ({marks})", chunk):
                out[mid] = RepoState(*rest)
        return out

    def put_repo(self, model_id: str, state: RepoState, ref: dict[str, Any] | None = None) -> None:
        self.db.execute("INSERT OR REPLACE INTO repos VALUES (?,?,?,?,?,?,?)",
                        (model_id, state.sha, state.config_hash, state.status, state.error_class, state.fingerprint,
                         json.dumps(ref or {}, sort_keys=True, default=str)))

    def buildable_repos(self) -> Iterator[tuple[str, str, str, dict[str, Any]]]:
        """``(model_id, sha, config_hash, ref fields)`` of every repo with a config hash, in crawl order."""
        for mid, sha, h, ref in self.db.execute("SELECT model_id, sha, config_hash, ref FROM repos "
                                                "WHERE config_hash != '' ORDER BY rowid"):
            yield mid, sha, h, json.loads(ref or "{}")

    def count_repos(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM repos").fetchone()[0]

    # -- configs
    def fingerprints(self, fp: str) -> list[tuple[int, str, int]]:
        """``(params, config_hash, unit)`` of every fetched repo with listing key ``fp``."""
        return list(self.db.execute("SELECT params, config_hash, unit FROM fingerprints WHERE fp=?", (fp,)))

    def put_fingerprint(self, fp: str, params: int, config_hash: str, unit: int) -> None:
        self.db.execute("INSERT OR IGNORE INTO fingerprints VALUES (?,?,?,?)", (fp, params, config_hash, unit))

    def has_config(self, config_hash: str) -> bool:
        return self.db.execute("SELECT 1 FROM configs WHERE config_hash=?", (config_hash,)).fetchone() is not None

    def put_config(self, config_hash: str, model_id: str, library: str, kind: str, task: str,
                   config: dict[str, Any], meta: dict[str, Any], revision: str) -> bool:
        """Record a representative for a config hash; False if one was already known."""
        cur = self.db.execute("INSERT OR IGNORE INTO configs VALUES (?,?,?,?,?,?,?,?)",
                              (config_hash, model_id, library, kind, task, json.dumps(config, sort_keys=True),
                               json.dumps(meta, sort_keys=True, default=str), revision))
        return cur.rowcount > 0

    def configs(self) -> Iterator[dict[str, Any]]:
        """Every representative config, oldest first (what the tracing pool gets as refs)."""
        for row in self.db.execute("SELECT config_hash, model_id, library, kind, task, config, meta, revision "
                                   "FROM configs ORDER BY rowid"):
            h, mid, lib, kind, task, cfg, meta, rev = row
            yield {"config_hash": h, "model_id": mid, "library": lib, "kind": kind, "task": task,
                   "config": json.loads(cfg), "meta": json.loads(meta), "revision": rev}

    # -- runs
    def run(self, query: str) -> RunState | None:
        row = self.db.execute("SELECT query, run_id, stamp, next_path, page, listed, done FROM runs WHERE query=?",
                              (query,)).fetchone()
        if not row:
            return None
        return RunState(row[0], row[1], row[2], row[3], row[4], row[5], bool(row[6]))

    def start_run(self, query: str, params: Any) -> RunState:
        stamp = sortable_stamp()
        run = RunState(query, f"{stamp}-{query[:8]}", stamp, None, 0, 0, False)
        with self.transaction():
            self.save_run(run, params)
        return run

    def save_run(self, run: RunState, params: Any = None) -> None:
        self.db.execute("INSERT OR REPLACE INTO runs VALUES (?,?,?,?,?,?,?,?)",
                        (run.query, run.run_id, run.stamp, run.next_path, run.page, run.listed, int(run.done),
                         json.dumps(params, default=str) if params is not None else None))

    # -- budget
    def budget_snapshot(self) -> dict[str, list[float]]:
        out: dict[str, list[float]] = {}
        for kind, t in self.db.execute("SELECT kind, t FROM budget"):
            out.setdefault(kind, []).append(t)
        return out

    def save_budget(self, snapshot: dict[str, list[float]]) -> None:
        self.db.execute("DELETE FROM budget")
        self.db.executemany("INSERT INTO budget VALUES (?,?)", [(k, t) for k, ts in snapshot.items() for t in ts])
