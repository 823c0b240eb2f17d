"""Graphs of schema version 1 (no node attributes) are refused with a re-trace hint; other tables still read."""

import pyarrow.parquet as pq
import pytest

from nar_data.errors import SchemaError
from nar_data.parquet import read_graphs, read_table, write_shard
from nar_data.schema import SCHEMA_VERSION, empty_row
from nar_data.testing import make_graph


def _set_version(path, version: int) -> None:  # noqa: ANN001
    table = pq.read_table(path)
    meta = table.schema.metadata[b"nar"].replace(f'"schema_version": {SCHEMA_VERSION}'.encode(),
                                                 f'"schema_version": {version}'.encode())
    pq.write_table(table.replace_schema_metadata({b"nar": meta}), path)


def test_old_graphs_shard_says_to_retrace(tmp_path):
    _set_version(write_shard(tmp_path, "graphs", [make_graph("cnn")]), 1)
    with pytest.raises(SchemaError, match="without the node attributes") as info:
        read_graphs(tmp_path)
    assert "nar trace --data" in str(info.value) and "\n" not in str(info.value)


def test_old_models_shard_still_reads(tmp_path):
    # the models table did not change at version 2: an old dataset's model rows (and arch_ids) stay readable
    _set_version(write_shard(tmp_path, "models", [{**empty_row("models"), "model_id": "m"}]), 1)
    assert read_table(tmp_path, "models").column("model_id").to_pylist() == ["m"]


def test_graph_attrs_roundtrip(tmp_path):
    g = make_graph("cnn")
    write_shard(tmp_path, "graphs", [g])
    (back,) = read_graphs(tmp_path)
    assert back.attrs == g.attrs and sum(1 for a in back.attrs if a) == 3
