"""The dataset's recorded checkpoint: written by train/build, read by search/embed."""

import json

import pytest

from nar_model.checkpoint import dataset_checkpoint, default_checkpoint_path, record_checkpoint


def test_record_then_read_relative_to_the_dataset(tmp_path):
    data = tmp_path / "ds"
    ckpt = default_checkpoint_path(data, "gin")
    ckpt.parent.mkdir(parents=True)
    ckpt.write_bytes(b"x")
    record = record_checkpoint(data, ckpt, "gin-abc")
    assert json.loads(record.read_text())["path"] == "_checkpoints/gin.pt"  # the folder can move
    moved = tmp_path / "moved"
    data.rename(moved)
    assert dataset_checkpoint(moved) == moved / "_checkpoints" / "gin.pt"


def test_outside_checkpoint_is_absolute_and_a_gone_one_says_what_to_run(tmp_path):
    outside = tmp_path / "elsewhere.pt"
    outside.write_bytes(b"x")
    record_checkpoint(tmp_path / "ds", outside)
    assert dataset_checkpoint(tmp_path / "ds") == outside.resolve()
    outside.unlink()
    with pytest.raises(FileNotFoundError, match="nar train --data"):
        dataset_checkpoint(tmp_path / "ds")


def test_unrecorded_dataset_falls_back_to_nar_pt_else_explains(tmp_path):
    with pytest.raises(FileNotFoundError, match="records no checkpoint"):
        dataset_checkpoint(tmp_path)
    default_checkpoint_path(tmp_path).parent.mkdir()
    default_checkpoint_path(tmp_path).write_bytes(b"x")
    assert dataset_checkpoint(tmp_path) == tmp_path / "_checkpoints" / "nar.pt"
