"""Canonical op names and the frozen vocabulary."""

from __future__ import annotations

import pytest

from nar_data.vocab import INPUT, OUTPUT, UNK, _main, canonical, freeze, op_id, vocab_size, vocabulary


@pytest.mark.parametrize("raw, name", [
    ("aten.conv2d.default", "conv2d"), ("aten.relu_.default", "relu"), ("aten.reshape.default", "view"),
    ("aten._unsafe_view.default", "view"), ("aten.add.Tensor", "add"), ("aten.__and__.Tensor", "bitwise_and"),
    ("torchvision.nms.default", "torchvision.nms"), ("input", "input"), ("linear", "linear"),
])
def test_canonical_names(raw: str, name: str) -> None:
    assert canonical(raw) == name


def test_frozen_vocabulary_is_sorted_with_reserved_names_first() -> None:
    names = vocabulary()
    assert names[:3] == (UNK, INPUT, OUTPUT)
    assert list(names[3:]) == sorted(names[3:]) and len(set(names)) == len(names)
    assert op_id("conv2d") > 2 and op_id("linear") > 2 and op_id("scaled_dot_product_attention") > 2
    assert op_id("no_such_op") == 0 and vocab_size() == len(names)


def test_freeze_is_reproducible_and_counts(capsys: pytest.CaptureFixture[str], tmp_path) -> None:  # noqa: ANN001
    ops = ["aten.relu_.default", "aten.conv2d.default", "conv2d", "aten.add.Tensor"]
    assert freeze(ops) == [UNK, INPUT, OUTPUT, "add", "conv2d", "relu"]
    assert freeze(ops, min_count=2) == [UNK, INPUT, OUTPUT, "conv2d"]
    from nar_data.parquet import write_shard
    from nar_data.testing import make_graph

    write_shard(tmp_path, "graphs", [make_graph("cnn").to_row()])
    assert _main([str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("#") and lines[1:4] == [UNK, INPUT, OUTPUT] and "conv2d" in lines
