"""Every command's --help has examples, and the cheap ones run as written on a tiny dataset at data/nar."""

from __future__ import annotations

import shlex

import pytest

from flows.cli import app
from flows.commands._errors import run_with_error_mapping

#: Commands whose examples run in seconds offline. The others list the Hub, start servers or trace
#: hundreds of models; their examples are checked for form only.
CHEAP = ("coverage", "doctor", "train", "eval", "embed", "publish")
#: Examples of cheap commands that take minutes (5-fold training) or need a Hub (an upload).
SLOW_EXAMPLES = ("--folds", "--repo-id")


def _commands() -> list[str]:
    import typer

    return sorted(typer.main.get_command(app).commands)


def _help(command: str, capsys) -> str:
    assert run_with_error_mapping(app, [command, "--help"]) == 0
    return capsys.readouterr().out


def examples(text: str) -> list[str]:
    """The ``nar ...`` lines of the Example(s) section of a help text."""
    import re

    parts = re.split(r"\n\s*Examples?:\s*\n", text, maxsplit=1)
    lines = parts[1].split("Options:", 1)[0].splitlines() if len(parts) == 2 else []
    return [line.strip() for line in lines if line.strip().startswith("nar ")]


def test_every_command_has_runnable_looking_examples(capsys) -> None:
    for command in _commands():
        found = examples(_help(command, capsys))
        assert found, f"`nar {command} --help` has no example"
        assert all(e.split()[1] in _commands() for e in found), found
    assert "pip install 'nar[ray]'" in " ".join(_help("build", capsys).split())  # brackets survive the renderer


@pytest.fixture
def tiny_dataset(tmp_path, monkeypatch):
    """``./data/nar`` in a fresh working directory: 4 families x 3 hand-written graphs."""
    from nar_data.parquet import write_shard
    from nar_data.testing import hand_graph

    graphs = []
    for f, block in enumerate((["conv2d", "relu"], ["linear", "gelu"], ["conv2d", "batch_norm", "relu"],
                               ["linear", "layer_norm", "softmax"])):
        for depth in range(1, 4):
            ops = ["input", *(block * depth), "output"]
            graphs.append(hand_graph(ops, [(i, i + 1) for i in range(len(ops) - 1)], model_id=f"hand:f{f}-{depth}",
                                     family=f"family{f}", coarse="cnn" if f % 2 == 0 else "mlp"))
    write_shard(tmp_path / "data" / "nar", "graphs", graphs)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NAR_DATA_DIR", raising=False)
    return tmp_path / "data" / "nar"


def test_cheap_examples_run_as_written(tiny_dataset, capsys) -> None:
    ran = []
    for command in CHEAP:
        for example in examples(_help(command, capsys)):
            if any(s in example for s in SLOW_EXAMPLES):
                continue
            code = run_with_error_mapping(app, shlex.split(example)[1:])
            output = capsys.readouterr()
            assert code == 0, (example, output.out[-2000:], output.err[-2000:])
            ran.append(example)
    assert len(ran) >= 8, ran
    assert (tiny_dataset / "_checkpoints" / "latest.json").is_file()  # `nar train` recorded its checkpoint
