"""Bad shards: readers' on_bad_files policy, coverage listing them, doctor finding and quarantining them."""

from __future__ import annotations

import logging

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from nar_data.coverage import coverage
from nar_data.doctor import QUARANTINE_DIR, diagnose, repair
from nar_data.errors import SchemaError
from nar_data.parquet import bad_shards, is_dataset, read_graphs, read_table, shard_paths, write_shard
from nar_data.schema import empty_row
from nar_data.testing import make_graph


def _model(name: str) -> dict:
    row = empty_row("models")
    row.update(model_id=f"testing:{name}", source="testing", config_hash=name, status="ok", arch_id=name)
    return row


@pytest.fixture
def dataset(tmp_path):
    write_shard(tmp_path, "graphs", [make_graph("mlp")])
    write_shard(tmp_path, "graphs", [make_graph("cnn")])
    write_shard(tmp_path, "models", [_model("mlp"), _model("cnn")])
    return tmp_path


def _truncate(path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def test_readers_error_warn_or_skip_a_truncated_shard(dataset, caplog) -> None:
    first, _ = shard_paths(dataset, "graphs")
    _truncate(first)
    with pytest.raises(SchemaError, match=first.name):
        read_graphs(dataset)
    with caplog.at_level(logging.WARNING, logger="nar_data.parquet"):
        assert [g.model_id for g in read_graphs(dataset, on_bad_files="warn")] == ["testing:cnn"]
    assert first.name in caplog.text
    assert read_table(dataset, "graphs", ["model_id"], on_bad_files="skip").num_rows == 1
    with pytest.raises(ValueError, match="error, warn, skip"):
        read_table(dataset, "graphs", on_bad_files="ignore")  # type: ignore[arg-type]


def test_a_foreign_file_is_a_bad_shard_and_coverage_lists_it(dataset) -> None:
    foreign = dataset / "models" / "notes.parquet"
    pq.write_table(pa.table({"x": [1]}), foreign)
    assert [p for p, _ in bad_shards(dataset)] == [foreign]
    cov = coverage(dataset)  # the readable rows still count
    assert cov["total"]["models"] == 2 and [b["path"] for b in cov["bad_shards"]] == [str(foreign)]


def test_doctor_finds_and_quarantines_without_deleting(dataset) -> None:
    bad = shard_paths(dataset, "graphs")[0]
    _truncate(bad)
    (dataset / ".tmp").mkdir(exist_ok=True)
    orphan = dataset / ".tmp" / "graphs-x.parquet.999999999.tmp"  # a pid that cannot run
    orphan.write_bytes(b"half")
    write_shard(dataset, "models", [_model("mlp")])  # a duplicate row
    report = diagnose(dataset)
    levels = {f.check: f.level for f in report.findings}
    assert levels == {"bad shards": "error", "versions": "ok", "duplicate rows": "warn", "temp files": "warn"}
    assert not report.ok and "nar doctor --data" in report.findings[0].fix
    moves = repair(report)
    assert sorted(src for src, _ in moves) == sorted([str(bad), str(orphan)])
    for _, dest in moves:  # moved, not deleted
        assert (dataset / QUARANTINE_DIR) in type(bad)(dest).parents and type(bad)(dest).is_file()
    assert diagnose(dataset).ok and read_graphs(dataset)  # readable again


def test_not_a_dataset(tmp_path) -> None:
    assert not is_dataset(tmp_path) and not is_dataset(tmp_path / "missing")
    with pytest.raises(FileNotFoundError, match="not a nar dataset"):
        diagnose(tmp_path)
