"""Flow `train`: fit an encoder on the dataset's graphs, save a checkpoint, and evaluate it leak-free."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flows import _prefect_env  # noqa: F401 - before prefect
from prefect import flow, task

from flows._report import artifact_markdown, save_run_summary


@task
def train_encoder(out: str, ckpt: str, encoder: str = "nar", epochs: int | None = None, seed: int = 0,
                  max_nodes: int | None = None) -> str:
    """Fit ``encoder`` on every graph of ``out`` and write ``ckpt``; returns the encoder version."""
    from nar_model.checkpoint import record_checkpoint, save_checkpoint
    from nar_model.config import EncoderConfig
    from nar_model.data import load_graphs
    from nar_model.encoders import get_encoder

    overrides: dict[str, Any] = {"seed": seed} | ({"epochs": epochs} if epochs is not None else {})
    enc = get_encoder(encoder, EncoderConfig(), **overrides).fit(load_graphs(out, max_nodes=max_nodes), progress=True)
    version = save_checkpoint(enc, ckpt)
    record_checkpoint(out, ckpt, version)
    return version


@task
def evaluate_encoders(out: str, encoders: list[str], epochs: int | None = None, seed: int = 0,
                      max_nodes: int | None = None) -> dict[str, Any]:
    """The leak-free retrieval protocol (held-out families) for ``encoders``: results and a markdown table."""
    from nar_model.config import EncoderConfig
    from nar_model.data import load_graphs
    from nar_model.evaluation import Method, run_protocol, table1_markdown

    graphs = load_graphs(out, max_nodes=max_nodes)
    config = EncoderConfig(seed=seed) if epochs is None else EncoderConfig(seed=seed, epochs=epochs)
    results = run_protocol(graphs, [Method(e, e) for e in encoders], config, seed=seed, progress=True)
    markdown = table1_markdown({Path(out).name: results})
    artifact_markdown("metrics", markdown, f"Retrieval metrics on {out} (held-out families)")
    return {"results": results, "markdown": markdown}


@flow(name="nar-train", log_prints=True)
def train_flow(out: str, ckpt: str, encoder: str = "nar", epochs: int | None = None,
               eval_encoders: list[str] | None = None, seed: int = 0) -> dict[str, Any]:
    """Train + (optionally) evaluate; writes ``OUT/_runs/flow-train-*.json``."""
    version = train_encoder(out, ckpt, encoder, epochs, seed)
    metrics = evaluate_encoders(out, eval_encoders, epochs, seed) if eval_encoders else None
    summary = {"encoder_version": version, "ckpt": ckpt, "metrics": metrics and metrics["markdown"]}
    save_run_summary(out, "train", summary)
    return summary
