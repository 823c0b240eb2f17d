"""Flow `build`: crawl (Hub only) -> trace -> train -> evaluate -> embed -> publish, then example searches.

The main job of ``make run``: with the registries as source (no network) and the demo preset it
writes ``data/nar``, a checkpoint beside it, the dataset card, and returns the metrics table and the
top-5 neighbours of a few example architectures.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from flows import _prefect_env  # noqa: F401 - before prefect
from prefect import flow, task

from nar_data.config import DEFAULT_DATA_DIR, TRACE_TIMEOUT_S, TRACE_WORKERS

from flows._report import artifact_table, save_run_summary
from flows.crawl import crawl_hub
from flows.embed import embed_new
from flows.publish import upload, write_card
from flows.train import evaluate_encoders, train_encoder
from flows.trace import run_trace, select_refs

#: Example queries of the demo: a CNN, a vision transformer, a text transformer.
EXAMPLE_QUERIES = ("torchvision:resnet50", "torchvision:vit_b_16", "transformers:BertModel")


@task
def neighbours(out: str, ckpt: str, queries: list[str], k: int = 5) -> dict[str, list[dict[str, Any]]]:
    """Top-``k`` architectures of ``out`` for each query (a model id of the dataset, or built and traced now)."""
    import logging
    from collections import Counter

    from nar.search import Searcher
    from nar_data.parquet import read_table

    searcher = Searcher(out, ckpt, backend="numpy", embed_missing=False)
    models = read_table(out, "models", ["arch_id", "status"]).to_pylist()
    per_arch = Counter(m["arch_id"] for m in models if m["status"] == "ok")
    results: dict[str, list[dict[str, Any]]] = {}
    for query in queries:
        try:
            found = searcher.query(query, k=k)
        except Exception as e:  # noqa: BLE001 - an example that cannot be built is reported, not fatal
            logging.getLogger(__name__).warning("example query %s skipped: %s", query, e)
            continue
        results[query] = [{"model": h.model_id, "family": h.family, "score": h.score, "twin": h.twin,
                           "also": per_arch[h.arch_id] - 1, "arch_id": h.arch_id} for h in found.hits]
    return results


@flow(name="nar-build", log_prints=True)
def build_flow(out: str = str(DEFAULT_DATA_DIR), sources: list[str] = ["all"], preset: str | None = "demo",  # noqa: B006
               limit: int | None = None, workers: int = TRACE_WORKERS, timeout_s: float = TRACE_TIMEOUT_S,
               encoder: str = "nar",
               epochs: int | None = None, eval_encoders: list[str] = ["wl", "nar"],  # noqa: B006
               ckpt: str | None = None, endpoint: str | None = None, crawl_query: dict[str, Any] | None = None,
               repo_id: str | None = None, queries: list[str] = list(EXAMPLE_QUERIES),  # noqa: B006
               seed: int = 0, preload: list[str] | None = None, batches: int = 1) -> dict[str, Any]:
    """Everything in order; returns (and saves under ``OUT/_runs/``) the counts, metrics and neighbours.

    A build stopped by Ctrl-C, SIGTERM or a failed stage still saves what its finished stages returned, with
    ``"stopped"`` saying why.
    """
    from nar_model.checkpoint import default_checkpoint_path

    ckpt = ckpt or str(default_checkpoint_path(out, encoder))
    summary: dict[str, Any] = {"out": out, "sources": sources, "preset": preset}
    try:
        t0 = time.perf_counter()
        seconds: dict[str, float] = {}
        if "hf" in sources:
            summary["crawl"] = crawl_hub(out, endpoint, crawl_query)
            seconds["crawl"] = time.perf_counter() - t0
        refs = select_refs(sources, preset if "hf" not in sources else None, limit, data=out)
        # batches > 1 (a Dask/Ray cluster): one single-worker tracing pool per batch, spread over the cluster
        summary["trace"] = run_trace(refs, out, workers=workers if batches == 1 else 1, batches=batches,
                                     timeout_s=timeout_s, preload=preload)
        seconds["trace"] = time.perf_counter() - t0 - sum(seconds.values())
        version = train_encoder(out, ckpt, encoder, epochs, seed)
        seconds["train"] = time.perf_counter() - t0 - sum(seconds.values())
        metrics = evaluate_encoders(out, eval_encoders, epochs, seed) if eval_encoders else {"markdown": ""}
        seconds["evaluate"] = time.perf_counter() - t0 - sum(seconds.values())
        summary["embed"] = embed_new(out, ckpt)
        seconds["embed"] = time.perf_counter() - t0 - sum(seconds.values())
        summary["card"] = write_card(out, version, metrics["markdown"],
                                     {"encoder_version": version, "trace": summary["trace"]})
        if repo_id:
            summary["upload"] = upload(out, repo_id, endpoint)
        seconds["publish"] = time.perf_counter() - t0 - sum(seconds.values())
        summary["neighbours"] = neighbours(out, ckpt, list(queries)) if queries else {}
        seconds["search"] = time.perf_counter() - t0 - sum(seconds.values())
        summary.update(encoder_version=version, ckpt=ckpt, metrics=metrics["markdown"],
                       seconds={k: round(v, 1) for k, v in seconds.items()}, total_s=round(time.perf_counter() - t0, 1))
        artifact_table("counts", [{"stage": k, **{kk: vv for kk, vv in v.items() if isinstance(vv, (int, float))}}
                                  for k, v in summary.items() if k in ("crawl", "trace", "embed")],
                       "Counts of this run")
        summary["summary_file"] = str(save_run_summary(out, "build", summary))
        return summary
    except BaseException as e:  # keep the record of the stages that finished, then stop as asked
        save_run_summary(out, "build", {**summary, "stopped": f"{type(e).__name__}: {e}"})
        raise
