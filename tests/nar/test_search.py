"""`nar.search` and `nar search`: twins first, readable results, JSON, and no torch for a dataset query."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nar.errors import QueryError
from nar.search import Searcher, search

ROOT = Path(__file__).resolve().parents[2]


def _cli(args: list[str], data: Path) -> subprocess.CompletedProcess:
    """``nar ARGS`` as a fresh process with NAR_DATA_DIR=data; prints whether torch got imported."""
    code = ("import os, sys; sys.argv = ['nar', *sys.argv[1:]]\n"
            "def report():\n    print('TORCH', 'torch' in sys.modules, file=sys.stderr); sys.stderr.flush()\n"
            "_exit = os._exit\nos._exit = lambda code: (print('FAST_EXIT', file=sys.stderr), report(), _exit(code))\n"
            "from flows.cli import main\n"
            "try:\n    main()\nexcept SystemExit as e:\n    code = e.code\n"
            "report(); sys.exit(code)")
    env = {**os.environ, "NAR_DATA_DIR": str(data), "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, timeout=120)


def test_cli_dataset_query_needs_no_options_and_no_torch(tiny_data: Path) -> None:
    r = _cli(["search", "timm:resnet50", "-k", "2"], tiny_data)
    assert r.returncode == 0, r.stderr
    assert "TORCH False" in r.stderr
    assert "FAST_EXIT" in r.stderr  # leaves without the interpreter's teardown, its output flushed (below)
    rows = [line for line in r.stdout.splitlines() if line.startswith("│")]
    # the twin comes first and is marked; the query itself is not a hit
    assert "torchvision:resnet50" in rows[0] and "identical graph" in rows[0]
    assert "timm:resnet101" in rows[1] and not any("timm:resnet50 " in row for row in rows)
    for col in ("rank", "score", "model", "family", "task", "parameters", "FLOPs"):
        assert col in r.stdout
    j = _cli(["search", "resnet50", "--json", "-k", "2"], tiny_data)
    assert j.returncode == 0 and "TORCH False" in j.stderr, j.stderr
    d = json.loads(j.stdout)
    assert d["query"]["title"] == "timm:resnet50" and d["hits"][0]["mark"] == "identical graph"
    assert [h["rank"] for h in d["hits"]] == [1, 2, 3]


def test_cli_unknown_name_is_one_line_before_torch(tiny_data: Path) -> None:
    r = _cli(["search", "timm:not_a_model"], tiny_data)
    assert r.returncode == 1 and "TORCH False" in r.stderr and "FAST_EXIT" in r.stderr
    assert r.stderr.startswith("Error: timm ") and "has no model 'not_a_model'" in r.stderr
    assert "Traceback" not in r.stderr and r.stdout == ""
    missing = _cli(["search", "timm:resnet50", "--data", str(tiny_data / "nope")], tiny_data)
    assert missing.returncode == 1 and "no dataset at" in missing.stderr and "make run" in missing.stderr


def test_searcher_twins_neighbours_and_explanations(tiny_data: Path) -> None:
    s = Searcher(tiny_data)
    r = s.query("timm:resnet50", k=3, explain=True)
    assert r.query.in_dataset and r.query.form == "dataset" and r.twins_total == 1
    assert [h.model_id for h in r.twins] == ["torchvision:resnet50"] and r.hits[0].score == 1.0
    assert r.hits[1].model_id == "timm:resnet101" and len(r.hits) == 1 + 3
    assert r.hits[1].explanation["summary"].startswith("both: ")
    assert r.hits[0].explanation is None  # a twin needs no explanation: it is the same graph
    bert = s.query("transformers:BertModel", k=1)
    assert [h.model_id for h in bert.twins] == ["hf:org/bert-finetune"]
    with pytest.raises(QueryError, match="has no model"):
        s.query("torchvision:not_a_model")


class _FakeEncoder:
    """Stands in for the checkpoint's encoder: unseen graphs get a fixed vector."""

    def __init__(self) -> None:
        self.calls = 0

    def embed(self, graphs: list) -> np.ndarray:
        self.calls += 1
        return np.ones((len(graphs), 8), dtype=np.float32)


@pytest.fixture(scope="module")
def data_with_module(tiny_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny dataset plus the graph of nar_data.testing's tiny MLP (as ``planted:mlp``)."""
    from nar_data.parquet import write_shard
    from nar_data.schema import empty_row
    from nar_data.testing import tiny_model
    from nar_data.tracing import trace_module

    root = tmp_path_factory.mktemp("with-module")
    shutil.copytree(tiny_data, root, dirs_exist_ok=True)
    module, args = tiny_model("mlp")
    g = trace_module(module, args, model_id="planted:mlp", source="planted")
    write_shard(root, "graphs", [g])
    write_shard(root, "models", [{**empty_row("models"), "model_id": "planted:mlp", "arch_id": g.arch_id,
                                  "status": "ok"}])
    version = json.loads((root / "_checkpoints" / "latest.json").read_text())["encoder_version"]
    write_shard(root, "embeddings", [{"arch_id": g.arch_id, "encoder_version": version,
                                      "vector": np.full(8, 0.5, dtype=np.float32)}])
    return root


def test_module_queries_trace_the_users_module(data_with_module: Path) -> None:
    from nar_data.testing import tiny_model

    s = Searcher(data_with_module)
    fake = _FakeEncoder()
    s._encoder = fake
    lines: list[str] = []
    module, args = tiny_model("mlp")
    r = s.query(module, args, k=2, progress=lines.append)
    # the same architecture as the planted one: found as its twin, nothing embedded
    assert r.query.form == "module" and r.query.title == "MLP (nn.Module)" and r.query.in_dataset
    assert r.hits[0].twin and r.hits[0].model_id == "planted:mlp" and fake.calls == 0
    assert lines == ["tracing MLP (nn.Module) ..."]
    wider, wider_args = tiny_model("mlp", width=16)
    r = s.query(wider, tuple(wider_args[0].shape), k=2)  # input given as a shape
    assert not r.query.in_dataset and not r.twins and fake.calls == 1 and len(r.hits) == 2
    with pytest.raises(QueryError, match="pass example inputs or input shapes"):
        s.query(module)


def test_search_function_is_the_documented_entry_point(tiny_data: Path) -> None:
    r = search("resnet50", k=1, data=tiny_data)
    assert r.query.title == "timm:resnet50" and r.hits[0].twin and json.loads(json.dumps(r.to_dict()))
