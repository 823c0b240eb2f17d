"""Fixtures of the `nar ui` tests: hand-made graph families, a tiny dataset with a failure, a tiny checkpoint."""

from __future__ import annotations

from pathlib import Path

import pytest

from nar_data.schema import Graph, empty_row
from nar_data import hand
from nar_data.hand import BLOCK_FAMILIES

#: family -> (repeated block, residual, coarse kind): four of the hand-made block families
FAMILIES = {name: BLOCK_FAMILIES[name] for name in ("resnetish", "vggish", "vitish", "mlpish")}


def block_graph(family: str, repeats: int, width: int = 16) -> Graph:
    """input -> conv2d stem -> ``repeats`` x the family's block -> mean -> linear -> output."""
    block, residual, coarse = FAMILIES[family]
    return hand.block_graph(block, residual, repeats, width, f"hand:{family}-{repeats}-{width}",
                            family=family, coarse=coarse, source="hand", task="image-classification",
                            num_params=1000 * repeats,
                            flops=10**6 * repeats)


def tiny_graphs() -> list[Graph]:
    return [block_graph(f, r, w) for f in FAMILIES for r in (2, 3, 4) for w in (16, 32)]


@pytest.fixture(scope="session")
def graphs() -> list[Graph]:
    return tiny_graphs()


def write_dataset(root: Path, graphs: list[Graph]) -> Path:
    """``graphs`` + one ``models`` row each, and one failed model with its ``failures`` row."""
    from nar_data.parquet import write_shard

    write_shard(root, "graphs", graphs)
    models = []
    for g in graphs:
        row = empty_row("models")
        row.update(model_id=g.model_id, source=g.source, config_hash=g.config_hash, arch_id=g.arch_id,
                   family=g.family, coarse=g.coarse, task=g.task, status="ok")
        models.append(row)
    bad = empty_row("models")
    bad.update(model_id="hand:broken", source="hand", config_hash="broken", status="failed")
    write_shard(root, "models", models + [bad])
    fail = empty_row("failures")
    fail.update(model_id="hand:broken", source="hand", config_hash="broken", stage="trace",
                error_class="RuntimeError", message="forward raised on purpose")
    write_shard(root, "failures", [fail])
    return root


@pytest.fixture(scope="session")
def ui_dataset(tmp_path_factory: pytest.TempPathFactory, graphs: list[Graph]) -> tuple[Path, Path]:
    """``(data, ckpt)``: the tiny dataset (plus ``hand:resnetish-2-16-twin``, a second model with the graph of
    ``hand:resnetish-2-16``), a `wl` encoder fitted on it, its embeddings.

    WL, not `nar`: the first `nar` fit of a process pays ~40 s of one-off warm-up on this machine, and the page
    treats every encoder alike (a checkpoint without a motif vocabulary gets one fitted per graph pair)."""
    from nar_model.checkpoint import save_checkpoint
    from nar_model.config import EncoderConfig
    from nar_model.data import load_graphs
    from nar_model.embed import embedding_rows, write_embeddings
    from nar_model.encoders import get_encoder

    twin = graphs[0].replace(model_id=f"{graphs[0].model_id}-twin", config_hash="twin")
    root = write_dataset(tmp_path_factory.mktemp("ui-data"), graphs + [twin])
    ckpt = root / "_checkpoints" / "nar.pt"
    encoder = get_encoder("wl", EncoderConfig()).fit(load_graphs(root))
    version = save_checkpoint(encoder, ckpt)
    write_embeddings(root, embedding_rows(encoder, version, load_graphs(root).graphs))
    return root, ckpt
