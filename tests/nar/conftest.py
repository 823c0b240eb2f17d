"""A tiny dataset for the nar tests, written without torch: hand graphs, models with planted twins,
random embeddings of one encoder version, and the checkpoint record that names that version."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from nar_data.parquet import write_shard
from nar_data.schema import Graph, empty_row
from nar_data.testing import hand_graph

VERSION = "test-0123456789ab"


def chain(ops: list[str], model_id: str, family: str, width: int) -> Graph:
    names = ["input", *ops, "output"]
    return hand_graph(names, [(i, i + 1) for i in range(len(names) - 1)], model_id=model_id,
                      shapes=[[1, width]] * len(names), family=family, task="image-classification",
                      num_params=1000 * width, flops=10_000 * width)


def graphs() -> list[Graph]:
    return [chain(["conv2d", "relu"] * 3, "timm:resnet50", "resnet", 8),
            chain(["conv2d", "relu"] * 4, "timm:resnet101", "resnet", 8),
            chain(["linear", "gelu"] * 2, "transformers:BertModel", "bert", 16),
            chain(["linear", "gelu"] * 3, "transformers:RobertaModel", "roberta", 16),
            chain(["conv2d", "batch_norm"] * 2, "timm:efficientnet_b0", "efficientnet", 4),
            chain(["conv2d", "batch_norm"] * 3, "torchvision:efficientnet_b0", "efficientnet", 5)]


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("nar-data")
    gs = graphs()
    write_shard(root, "graphs", gs)
    models = []
    for mid, aid in [(g.model_id, g.arch_id) for g in gs] + [
            ("torchvision:resnet50", gs[0].arch_id),  # a twin of timm:resnet50 (same graph)
            ("hf:org/bert-finetune", gs[2].arch_id)]:
        models.append({**empty_row("models"), "model_id": mid, "source": mid.split(":")[0], "arch_id": aid,
                       "status": "ok"})
    write_shard(root, "models", models)
    rng = np.random.default_rng(0)
    base = rng.normal(size=(len(gs), 8)).astype(np.float32)
    base[1] = base[0] + 0.1 * rng.normal(size=8)  # resnet101 near resnet50
    write_shard(root, "embeddings", [{"arch_id": g.arch_id, "encoder_version": VERSION, "vector": v}
                                     for g, v in zip(gs, base)])
    (root / "_checkpoints").mkdir()
    (root / "_checkpoints" / "latest.json").write_text(json.dumps({"path": "nar.pt", "encoder_version": VERSION}))
    return root
