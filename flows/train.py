"""Flow `train`: fit an encoder on the dataset's graphs, save a checkpoint, and evaluate it leak-free."""

from __future__ import annotations

from typing import Any

from flows import _prefect_env  # noqa: F401 - before prefect
from prefect import flow, task

from flows import steps
from flows._report import artifact_markdown, save_run_summary


@task
def train_encoder(out: str, ckpt: str, encoder: str = "nar", epochs: int | None = None, seed: int = 0,
                  max_nodes: int | None = None) -> str:
    """Fit ``encoder`` on every graph of ``out``, write ``ckpt`` and record it; returns the encoder version."""
    return steps.train(out, ckpt, encoder, epochs=epochs, seed=seed, max_nodes=max_nodes,
                       progress=True)["encoder_version"]


@task
def evaluate_encoders(out: str, encoders: list[str], epochs: int | None = None, seed: int = 0,
                      max_nodes: int | None = None) -> dict[str, Any]:
    """The leak-free retrieval protocol (held-out families) for ``encoders``: results and a markdown table."""
    metrics = steps.evaluate(out, encoders, epochs=epochs, seed=seed, max_nodes=max_nodes, progress=True)
    artifact_markdown("metrics", metrics["markdown"], f"Retrieval metrics on {out} (held-out families)")
    return metrics


@flow(name="nar-train", log_prints=True)
def train_flow(out: str, ckpt: str, encoder: str = "nar", epochs: int | None = None,
               eval_encoders: list[str] | None = None, seed: int = 0) -> dict[str, Any]:
    """Train + (optionally) evaluate; writes ``OUT/_runs/flow-train-*.json``."""
    version = train_encoder(out, ckpt, encoder, epochs, seed)
    metrics = evaluate_encoders(out, eval_encoders, epochs, seed) if eval_encoders else None
    summary = {"encoder_version": version, "ckpt": ckpt, "metrics": metrics and metrics["markdown"]}
    save_run_summary(out, "train", summary)
    return summary
