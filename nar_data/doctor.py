"""Check a dataset folder and say how to repair it: bad shards, versions, duplicate rows, orphan temp files.

`diagnose` only reads. `repair` moves what the readers refuse (bad shards, temp files of writers that
died) into ``DATA/_quarantine/<UTC stamp>/`` under their relative paths; it never deletes, so a moved
file can be put back by hand. Duplicate rows are reported, not rewritten: shards are immutable and the
readers already keep one row per key.
"""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from .parquet import TMP_DIR, bad_shards, is_dataset, orphan_tmp_files, read_metadata, read_table, shard_paths
from .schema import SCHEMA_VERSION, SCHEMAS, TRACER_VERSION

__all__ = ["QUARANTINE_DIR", "DoctorReport", "Finding", "diagnose", "repair"]

QUARANTINE_DIR = "_quarantine"
#: The columns that identify one row of each table (a second row with the same key is a duplicate).
ROW_KEYS: dict[str, tuple[str, ...]] = {
    "models": ("model_id", "config_hash", "status", "arch_id"),
    "graphs": ("config_hash", "arch_id"),
    "failures": ("model_id", "config_hash", "stage", "error_class", "tracer_version"),
    "embeddings": ("arch_id", "encoder_version"),
}

Level = Literal["ok", "info", "warn", "error"]


@dataclass
class Finding:
    """One check's result: ``level``, what it found, how to repair it, and the files concerned."""

    check: str
    level: Level
    message: str
    fix: str = ""
    paths: list[str] = field(default_factory=list)


@dataclass
class DoctorReport:
    root: str
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No ``error`` finding (warnings do not stop a reader)."""
        return all(f.level != "error" for f in self.findings)

    @property
    def movable(self) -> list[Path]:
        """The files `repair` moves to the quarantine folder."""
        return [Path(p) for f in self.findings if f.check in ("bad shards", "temp files") for p in f.paths]

    def to_dict(self) -> dict[str, Any]:
        return {"root": self.root, "ok": self.ok, "findings": [asdict(f) for f in self.findings]}


def _check_shards(root: Path) -> Finding:
    bad = bad_shards(root, deep=True)
    if not bad:
        total = sum(len(shard_paths(root, t)) for t in SCHEMAS)
        return Finding("bad shards", "ok", f"all {total} shards read")
    reasons = "; ".join(r for _, r in bad[:3]) + (" ..." if len(bad) > 3 else "")
    tables = {p.parent.name for p, _ in bad}
    after = ("re-run the step that wrote them: `nar trace` on the same folder re-traces the models whose graph or "
             "models row is gone" + (", `nar embed` re-embeds arch_ids without a vector" if "embeddings" in tables
                                     else ""))
    return Finding("bad shards", "error", f"{len(bad)} shard(s) cannot be read: {reasons}",
                   f"`nar doctor --data {root} --fix` moves them to {root}/{QUARANTINE_DIR}/; then {after}",
                   [str(p) for p, _ in bad])


def _check_versions(root: Path) -> Finding:
    schemas: Counter[str] = Counter()
    tracers: Counter[str] = Counter()
    for table in sorted(SCHEMAS):
        for path in shard_paths(root, table):
            try:
                meta = read_metadata(path)
            except Exception:  # noqa: BLE001 - a bad shard is the shards check's finding
                continue
            schemas[str(meta.get("schema_version"))] += 1
            if table in ("graphs", "failures"):
                tracers[str(meta.get("tracer_version"))] += 1
    old_schema = set(schemas) - {str(SCHEMA_VERSION)}
    old_tracer = set(tracers) - {TRACER_VERSION}
    if not old_schema and not old_tracer:
        return Finding("versions", "ok", f"schema {SCHEMA_VERSION}, tracer {TRACER_VERSION}")
    seen = "; ".join(f"{what} {', '.join(f'{v} ({n} shards)' for v, n in sorted(c.items()))}"
                     for what, c in (("schema", schemas), ("tracer", tracers)) if c)
    return Finding("versions", "info", f"{seen}; this nar writes schema {SCHEMA_VERSION}, tracer {TRACER_VERSION}",
                   "shards a reader refuses are listed under bad shards; models that failed with an older tracer "
                   "are retried by `nar trace --retry-failed`")


def _check_duplicates(root: Path) -> Finding:
    counts = {}
    for table, key in ROW_KEYS.items():
        t = read_table(root, table, list(key), on_bad_files="skip")
        rows = Counter(zip(*(t.column(c).to_pylist() for c in key)))
        extra = sum(n - 1 for n in rows.values() if n > 1)
        if extra:
            counts[table] = extra
    if not counts:
        return Finding("duplicate rows", "ok", "no duplicate rows")
    text = ", ".join(f"{t} {n}" for t, n in counts.items())
    return Finding("duplicate rows", "warn", f"duplicate rows: {text}",
                   "harmless: readers keep one row per key; two `nar trace` runs on one folder at once cause "
                   "them, so run one at a time")


def _check_tmp(root: Path) -> Finding:
    folder = root / TMP_DIR
    orphans = [str(p) for p in orphan_tmp_files(root)]
    if not orphans:
        return Finding("temp files", "ok", "no orphan temp files")
    return Finding("temp files", "warn", f"{len(orphans)} temp file(s) of writers that are gone in {folder}",
                   f"`nar doctor --data {root} --fix` moves them to {root}/{QUARANTINE_DIR}/ (the next write "
                   "would also clear them)", orphans)


def diagnose(root: str | os.PathLike) -> DoctorReport:
    """Check the dataset at ``root``; nothing is changed.

    Raises:
        FileNotFoundError: ``root`` is not a nar dataset folder.
    """
    root = Path(root)
    if not is_dataset(root):
        raise FileNotFoundError(f"{root} is not a nar dataset (no shards of {', '.join(sorted(SCHEMAS))}); pass the "
                                "folder `nar trace` or `nar build` wrote")
    report = DoctorReport(str(root))
    report.findings = [_check_shards(root), _check_versions(root), _check_duplicates(root), _check_tmp(root)]
    return report


def repair(report: DoctorReport) -> list[tuple[str, str]]:
    """Move the report's bad shards and orphan temp files into ``ROOT/_quarantine/<stamp>/``; never deletes.

    Returns:
        ``(from, to)`` for every file moved. A ``moved.json`` beside them lists the same pairs.
    """
    root = Path(report.root)
    files = [p for p in report.movable if p.exists()]
    if not files:
        return []
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    target = root / QUARANTINE_DIR / stamp
    moves = []
    for path in files:
        dest = target / path.relative_to(root)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(path), str(dest))
        moves.append((str(path), str(dest)))
    (target / "moved.json").write_text(json.dumps([{"from": a, "to": b} for a, b in moves], indent=1))
    return moves
