import datasets
import numpy as np
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest

from nar_data.errors import SchemaError
from nar_data.parquet import TableWriter, clean_tmp, read_graphs, read_table, shard_paths, write_shard
from nar_data.schema import GRAPHS_SCHEMA, SCHEMA_VERSION, Graph, empty_row
from nar_data.testing import hand_graph, make_graph


def test_graph_validates_lengths_and_edges():
    with pytest.raises(ValueError, match="op_name"):
        hand_graph(["input", "relu"], [(0, 1)]).replace(op_name=["input"])
    with pytest.raises(ValueError, match="out of range"):
        hand_graph(["input", "relu"], [(0, 5)])


def test_schema_is_derived_from_graph_fields():
    import dataclasses

    names = [f.name for f in dataclasses.fields(Graph)]
    assert GRAPHS_SCHEMA.names[: len(names)] == names
    assert GRAPHS_SCHEMA.field("op").type == pa.list_(pa.int32())


def test_graph_roundtrip_through_parquet_and_datasets(tmp_path):
    graphs = [make_graph(n) for n in ("mlp", "cnn", "transformer_block")]
    path = write_shard(tmp_path, "graphs", graphs)
    assert path.parent == tmp_path / "graphs"
    back = read_graphs(tmp_path)
    assert [g.arch_id for g in back] == [g.arch_id for g in graphs]
    for a, b in zip(graphs, back):
        assert a.op_name == b.op_name and a.shape == b.shape and a.module == b.module
        np.testing.assert_array_equal(a.src, b.src)
        np.testing.assert_array_equal(a.params, b.params)
    assert pads.dataset(str(tmp_path / "graphs"), format="parquet").count_rows() == 3
    ds = datasets.load_dataset("parquet", data_files=str(tmp_path / "graphs" / "*.parquet"), split="train")
    assert ds[1]["op_name"] == graphs[1].op_name
    assert ds[2]["num_nodes"] == graphs[2].num_nodes


def test_writer_buffers_into_shards_and_appends(tmp_path):
    with TableWriter(tmp_path, "failures", rows_per_shard=2) as w:
        for i in range(5):
            w.write({**empty_row("failures"), "model_id": f"m{i}", "stage": "build"})
    assert len(shard_paths(tmp_path, "failures")) == 3
    write_shard(tmp_path, "failures", [{**empty_row("failures"), "model_id": "m5"}])
    assert read_table(tmp_path, "failures").column("model_id").to_pylist() == [f"m{i}" for i in range(6)]


def test_reader_rejects_foreign_and_wrong_version_files(tmp_path):
    (tmp_path / "graphs").mkdir()
    pq.write_table(pa.table({"x": [1]}), tmp_path / "graphs" / "foreign.parquet")
    with pytest.raises(SchemaError, match="not a nar shard"):
        read_table(tmp_path, "graphs")
    (tmp_path / "graphs" / "foreign.parquet").unlink()
    path = write_shard(tmp_path, "graphs", [make_graph("mlp")])
    table = pq.read_table(path)
    meta = table.schema.metadata[b"nar"].replace(f'"schema_version": {SCHEMA_VERSION}'.encode(), b'"schema_version": 999')
    pq.write_table(table.replace_schema_metadata({b"nar": meta}), path)
    with pytest.raises(SchemaError, match="schema version 999"):
        read_table(tmp_path, "graphs")


def test_reader_rejects_table_in_wrong_folder(tmp_path):
    path = write_shard(tmp_path, "failures", [empty_row("failures")])
    (tmp_path / "models").mkdir()
    path.rename(tmp_path / "models" / path.name)
    with pytest.raises(SchemaError, match="wrong folder"):
        read_table(tmp_path, "models")


def test_bad_row_names_the_column(tmp_path):
    with pytest.raises(SchemaError, match="missing column 'stage'"):
        row = empty_row("failures")
        del row["stage"]
        write_shard(tmp_path, "failures", [row])


def test_clean_tmp_removes_leftovers_of_dead_writers(tmp_path):
    (tmp_path / ".tmp").mkdir()
    (tmp_path / ".tmp" / "graphs-x.parquet.999999999.tmp").write_bytes(b"partial")
    assert clean_tmp(tmp_path) == 1
    assert not any((tmp_path / ".tmp").iterdir())
    assert read_table(tmp_path, "graphs").num_rows == 0


def test_shard_stamps_sort_in_time_order() -> None:
    """Shard and crawl-run names sort by ``sortable_stamp``: one clock reading, so a later stamp never sorts first."""
    import re

    from nar_data.schema import sortable_stamp

    stamps = [sortable_stamp() for _ in range(20000)]
    assert all(re.fullmatch(r"\d{8}T\d{12}", s) for s in stamps[:10])
    assert stamps == sorted(stamps)
