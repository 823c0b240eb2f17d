"""Sharded, append-only, atomically written Parquet tables.

A dataset is a folder laid out like a Hugging Face dataset repo::

    DIR/models/models-20261123T101500Z-1a2b3c4d-00000.parquet
    DIR/graphs/graphs-....parquet
    DIR/failures/...
    DIR/embeddings/...

Each shard is written to ``DIR/.tmp/`` first, flushed to disk, then renamed into place, so a reader
(or a crash at any instant, ``kill -9`` included) never sees a half-written shard: a killed run loses
at most the rows still in its buffer. Nothing is ever rewritten in place; appends are new shards.
Every shard carries ``{"table", "schema_version", ...}`` in its Parquet metadata and readers refuse
files of another table or schema version with a message that says which file and why.

A shard that cannot be read (truncated, foreign, another table or schema version) is a *bad file*.
Readers take ``on_bad_files`` as the ``datasets`` library does: ``"error"`` (default) raises a
`SchemaError` naming the file, ``"warn"`` logs it and reads the rest, ``"skip"`` reads the rest
silently. `bad_shards` lists them; ``nar doctor --fix`` moves them out of the way.
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.parquet as pq

from .errors import SchemaError
from .schema import (METADATA_KEY, READABLE_SINCE, SCHEMA_VERSION, SCHEMAS, TRACER_VERSION, FailureRow, Graph, ModelRow,
                     sortable_stamp)

#: A row as a table takes it: a dict, or one of the row types of `nar_data.schema`.
Row = dict[str, Any] | Graph | ModelRow | FailureRow

logger = logging.getLogger(__name__)

TMP_DIR = ".tmp"
#: What a reader does with a shard it cannot read (the ``datasets`` convention).
OnBadFiles = Literal["error", "warn", "skip"]
ON_BAD_FILES: tuple[str, ...] = ("error", "warn", "skip")


def shard_paths(root: str | os.PathLike, table: str) -> list[Path]:
    """The shard files of ``table`` under ``root``, oldest first (names sort by write time)."""
    _check_table(table)
    folder = Path(root) / table
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.parquet") if not p.name.startswith("."))


def _check_table(table: str) -> None:
    if table not in SCHEMAS:
        raise ValueError(f"Unknown table {table!r}; valid tables: {sorted(SCHEMAS)}")


def _metadata(table: str, extra: dict[str, Any] | None) -> dict[bytes, bytes]:
    meta = {"table": table, "schema_version": SCHEMA_VERSION, "tracer_version": TRACER_VERSION}
    meta.update(extra or {})
    return {METADATA_KEY: json.dumps(meta, sort_keys=True).encode()}


def _as_dict(row: Row) -> dict[str, Any]:
    return row.to_row() if isinstance(row, (Graph, ModelRow, FailureRow)) else row


def to_arrow(table: str, rows: list[Row], extra_metadata: dict[str, Any] | None = None) -> pa.Table:
    """Cast ``rows`` (dicts or row objects: `Graph`, `ModelRow`, `FailureRow`) to the table's schema; missing keys
    are an error."""
    _check_table(table)
    schema = SCHEMAS[table]
    rows = [_as_dict(r) for r in rows]
    columns = {}
    for f in schema:
        try:
            columns[f.name] = pa.array([r[f.name] for r in rows], type=f.type)
        except KeyError as e:
            raise SchemaError(f"{table} row is missing column {e.args[0]!r}") from None
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError) as e:
            raise SchemaError(f"{table} column {f.name!r} does not fit {f.type}: {e}") from None
    return pa.Table.from_pydict(columns, schema=schema.with_metadata(_metadata(table, extra_metadata)))


def write_shard(root: str | os.PathLike, table: str, rows: list[Row] | pa.Table,
                extra_metadata: dict[str, Any] | None = None, prefix: str | None = None) -> Path | None:
    """Write one shard atomically and return its path (``None`` when there are no rows)."""
    data = rows if isinstance(rows, pa.Table) else to_arrow(table, rows, extra_metadata)
    if data.num_rows == 0:
        return None
    root = Path(root)
    (root / table).mkdir(parents=True, exist_ok=True)
    (root / TMP_DIR).mkdir(parents=True, exist_ok=True)
    stamp = sortable_stamp()
    name = f"{prefix or table}-{stamp}-{uuid.uuid4().hex[:8]}.parquet"
    tmp = root / TMP_DIR / (name + f".{os.getpid()}.tmp")
    pq.write_table(data, tmp, compression="zstd")
    with open(tmp, "rb+") as fh:  # make the bytes durable before they become visible
        os.fsync(fh.fileno())
    final = root / table / name
    os.replace(tmp, final)
    return final


def orphan_tmp_files(root: str | os.PathLike) -> list[Path]:
    """Temp files under ``ROOT/.tmp`` whose writer is gone (its pid no longer runs, or is this process)."""
    folder = Path(root) / TMP_DIR
    orphans = []
    for tmp in sorted(folder.glob("*.tmp")) if folder.is_dir() else []:
        try:
            pid = int(tmp.name.rsplit(".", 2)[-2])
        except ValueError:
            pid = -1
        if not (pid > 0 and _pid_alive(pid) and pid != os.getpid()):
            orphans.append(tmp)
    return orphans


def clean_tmp(root: str | os.PathLike) -> int:
    """Delete temp files left by writers that died (their pid no longer runs). Returns the count."""
    orphans = orphan_tmp_files(root)
    for tmp in orphans:
        tmp.unlink(missing_ok=True)
    return len(orphans)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class TableWriter:
    """Buffers rows of one table and flushes them as shards of ``rows_per_shard`` rows.

    A flush also happens every ``flush_seconds`` so a long run with rare results still persists them.
    Use as a context manager; ``close()`` flushes what is left.
    """

    def __init__(self, root: str | os.PathLike, table: str, rows_per_shard: int = 500,
                 flush_seconds: float = 30.0, extra_metadata: dict[str, Any] | None = None) -> None:
        _check_table(table)
        self.root, self.table = Path(root), table
        self.rows_per_shard, self.flush_seconds = rows_per_shard, flush_seconds
        self.extra_metadata = extra_metadata
        self._buffer: list[dict[str, Any]] = []
        self._last_flush = time.monotonic()
        self.written: list[Path] = []
        self.rows_written = 0

    def write(self, row: Row) -> None:
        self._buffer.append(_as_dict(row))
        if len(self._buffer) >= self.rows_per_shard or time.monotonic() - self._last_flush > self.flush_seconds:
            self.flush()

    def write_many(self, rows: Iterable[Row]) -> None:
        for row in rows:
            self.write(row)

    def flush(self) -> None:
        self._last_flush = time.monotonic()
        if not self._buffer:
            return
        path = write_shard(self.root, self.table, self._buffer, self.extra_metadata)
        self.rows_written += len(self._buffer)
        self._buffer = []
        if path is not None:
            self.written.append(path)

    def close(self) -> None:
        self.flush()

    def __enter__(self) -> "TableWriter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """The nar metadata of one shard; `SchemaError` if it has none."""
    try:
        meta = pq.read_schema(path).metadata or {}
    except (pa.ArrowInvalid, OSError) as e:
        raise SchemaError(f"{path} is not a readable Parquet file ({e}). Move it out of the dataset "
                          "(`nar doctor --fix` does) and re-run the step that wrote it.") from None
    if METADATA_KEY not in meta:
        raise SchemaError(f"{path} is not a nar shard (no '{METADATA_KEY.decode()}' metadata); "
                          "only files written by nar belong in a nar dataset folder.")
    return json.loads(meta[METADATA_KEY])


def _check_header(path: str | os.PathLike, table: str) -> None:
    """The shard's footer says it is ``table`` at this schema version (`SchemaError` otherwise)."""
    meta = read_metadata(path)
    if meta.get("table") != table:
        raise SchemaError(f"{path} holds table {meta.get('table')!r}, expected {table!r}; it is in the wrong folder.")
    version = meta.get("schema_version")
    if isinstance(version, int) and table == "graphs" and version < READABLE_SINCE[table]:
        raise SchemaError(f"{path} holds graphs of schema version {version}, without the node attributes this nar "
                          f"reads (version {SCHEMA_VERSION}); re-trace into a new folder: `nar trace --data NEW_DIR` "
                          "(docs/graph-attributes.md).")
    if not isinstance(version, int) or not READABLE_SINCE[table] <= version <= SCHEMA_VERSION:
        raise SchemaError(f"{path} has schema version {version}, this nar reads version "
                          f"{SCHEMA_VERSION}. Re-build the dataset with this version, or install the nar "
                          "release that wrote it.")


def read_shard(path: str | os.PathLike, table: str, columns: list[str] | None = None) -> pa.Table:
    _check_header(path, table)
    try:
        # ParquetFile, not pq.read_table: the latter imports pyarrow.dataset and pandas (~1-4 s) for one file
        data = pq.ParquetFile(path).read(columns=columns)
    except (pa.ArrowInvalid, OSError) as e:
        raise SchemaError(f"{path} is not a readable Parquet file ({e}). Move it out of the dataset "
                          "(`nar doctor --fix` does) and re-run the step that wrote it.") from None
    missing = set(columns or SCHEMAS[table].names) - set(data.column_names)
    if missing:
        raise SchemaError(f"{path} lacks columns {sorted(missing)} of table {table!r}.")
    return data


def _check_on_bad_files(on_bad_files: str) -> None:
    if on_bad_files not in ON_BAD_FILES:
        raise ValueError(f"on_bad_files={on_bad_files!r}; valid choices: {', '.join(ON_BAD_FILES)}")


def _shards(root: str | os.PathLike, table: str, columns: list[str] | None,
            on_bad_files: OnBadFiles) -> Iterator[pa.Table]:
    """The readable shards of ``table``, bad ones raised, logged or skipped per ``on_bad_files``."""
    _check_on_bad_files(on_bad_files)
    for path in shard_paths(root, table):
        try:
            part = read_shard(path, table, columns)
        except SchemaError as e:
            if on_bad_files == "error":
                raise
            if on_bad_files == "warn":
                logger.warning("skipping a bad shard: %s", e)
            continue
        yield part


def read_table(root: str | os.PathLike, table: str, columns: list[str] | None = None,
               on_bad_files: OnBadFiles = "error") -> pa.Table:
    """All shards of ``table`` concatenated, checked for table and schema version (empty if none).

    Raises:
        SchemaError: a shard cannot be read, with ``on_bad_files="error"``; the message names the file.
    """
    _check_table(table)
    schema = SCHEMAS[table]
    if columns:
        schema = pa.schema([schema.field(c) for c in columns])
    parts = [p.select(schema.names).cast(schema) for p in _shards(root, table, columns, on_bad_files)]
    if not parts:
        return schema.empty_table()
    return pa.concat_tables([p.replace_schema_metadata(None) for p in parts])


def iter_graphs(root: str | os.PathLike, on_bad_files: OnBadFiles = "error") -> Iterator[Graph]:
    """Every `Graph` of the ``graphs`` table, shard by shard, without loading all at once."""
    for part in _shards(root, "graphs", None, on_bad_files):
        for row in part.to_pylist():
            yield Graph.from_row(row)


def read_graphs(root: str | os.PathLike, unique: bool = True, on_bad_files: OnBadFiles = "error") -> list[Graph]:
    """All graphs; with ``unique`` only the first row of each ``arch_id``."""
    seen: set[str] = set()
    out = []
    for g in iter_graphs(root, on_bad_files):
        if unique and g.arch_id in seen:
            continue
        seen.add(g.arch_id)
        out.append(g)
    return out


def check_shard(path: str | os.PathLike, table: str, deep: bool = False) -> str | None:
    """Why the shard at ``path`` cannot be read as ``table``, or ``None``.

    ``deep``: decode every page too (finds damage inside the file, at the cost of reading it all);
    otherwise only the footer and nar metadata are checked (a truncated file fails there).
    """
    try:
        if deep:
            read_shard(path, table)
        else:
            _check_header(path, table)
    except SchemaError as e:
        return str(e)
    return None


def bad_shards(root: str | os.PathLike, tables: Iterable[str] | None = None,
               deep: bool = False) -> list[tuple[Path, str]]:
    """``(path, reason)`` of every shard of ``tables`` (default: all) the readers would refuse."""
    out = []
    for table in tables or sorted(SCHEMAS):
        for path in shard_paths(root, table):
            reason = check_shard(path, table, deep)
            if reason is not None:
                out.append((path, reason))
    return out


def is_dataset(root: str | os.PathLike) -> bool:
    """Whether ``root`` is a nar dataset folder: shards of some table, or the state of a crawl into it."""
    root = Path(root)
    return root.is_dir() and (any(shard_paths(root, t) for t in SCHEMAS) or (root / "_crawl").is_dir())
