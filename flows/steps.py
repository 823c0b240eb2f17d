"""One function per pipeline step, called by the `nar` commands and by the Prefect flows' tasks alike.

The glue of a step (the Hub client and its budget, training overrides, which arch_ids still need a
vector, what the run summary holds) is written here once; a CLI command parses options, calls the
step and prints, and a flow task adds retries, caching and tags around the same call. Nothing here
imports Prefect or typer, so a command that runs one step starts without them.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from nar_data.config import TRACE_MEMORY_LIMIT, TRACE_TIMEOUT_S, TRACE_WORKERS
from nar_data.sources import ModelRef

from flows._progress import Reporter

__all__ = ["crawl_hf", "crawl_torch_hub", "embed", "evaluate", "publish", "select_refs", "trace", "train", "upload"]

PathLike = str | os.PathLike


def select_refs(sources: Sequence[str], preset: str | None = None, limit: int | None = None,
                names: Sequence[str] | None = None, data: PathLike | None = None) -> list[ModelRef]:
    """The refs of ``sources`` (``all`` = the registries), restricted to a preset and/or ``names``.

    ``data``: the dataset whose crawl state the ``hf`` source reads (what `nar crawl` found).
    """
    from nar_data.presets import iter_refs

    kwargs: dict[str, dict[str, Any]] = {}
    for name in sources:
        if names:
            kwargs.setdefault(name, {})["names"] = list(names)
        if name == "hf" and data is not None:
            kwargs.setdefault(name, {})["data"] = str(data)
    return list(iter_refs(list(sources), preset, limit, source_kwargs=kwargs))


def trace(refs: Sequence[ModelRef], data: PathLike, *, workers: int = TRACE_WORKERS,
          timeout_s: float = TRACE_TIMEOUT_S, memory_limit: int = TRACE_MEMORY_LIMIT, retry_failed: bool = False,
          preload: Sequence[str] | None = None, reporter: Reporter | None = None,
          exclusive: bool = True) -> dict[str, Any]:
    """Trace ``refs`` into ``data`` (resumable); returns the run's counts (``per_model`` left out).

    ``reporter`` advances once per ref with the running ok / failed / skipped counts and the rows written.
    """
    from nar_data.dataset import trace_to_dataset

    kwargs: dict[str, Any] = {"preload": tuple(preload)} if preload is not None else {}
    if reporter is not None:
        counts = {"ok": 0, "failed": 0, "skipped": 0}

        def progress(event: str, ref: ModelRef, outcome: Any) -> None:
            if event == "done":
                counts["ok" if outcome.ok else "failed"] += 1
            else:
                counts["ok" if event == "reuse" else "skipped"] += 1
            reporter.advance(rows=0 if event == "skip" else 1, **counts, last=ref.model_id)

        kwargs["progress"] = progress
    summary = trace_to_dataset(refs, data, workers=workers, timeout_s=timeout_s, memory_limit=memory_limit,
                               retry_failed=retry_failed, exclusive=exclusive, **kwargs)
    result = asdict(summary)
    result.pop("per_model")
    return result


def crawl_hf(data: PathLike, *, endpoint: str | None = None, query: dict[str, Any] | None = None,
             quota: str | None = None, on_budget: str = "wait", trust_remote_code: bool = False,
             strict_configs: bool = False, fetch_cards: bool = False, canonical_configs: bool = True,
             reporter: Reporter | None = None) -> dict[str, Any]:
    """One incremental crawl of a Hugging Face Hub into ``data`` (resumes an unfinished run of the same query).

    ``quota``: a client-side budget (``api=500/300,resolvers=3000/300`` or ``none``); default: the Hub's
    limits for anonymous or token use. Returns the `CrawlSummary` as a dict, also saved (interrupted or not)
    as ``DATA/_runs/flow-crawl-*.json``.
    """
    from flows._report import save_run_summary
    from nar_data.hub import ANONYMOUS, WITH_TOKEN, CallBudget, CrawlQuery, HubClient, HubCrawler, parse_quota

    q = dict(query or {})
    if "filter" in q:
        q["filter"] = tuple(q["filter"])
    client = HubClient(endpoint=endpoint)
    client.budget = CallBudget(parse_quota(quota) if quota else (WITH_TOKEN if client.has_token else ANONYMOUS),
                               on_exhausted=on_budget)

    live: dict[str, Any] = {}  # the running summary, as of the last committed page

    def progress(s: Any, c: Any) -> None:  # after each committed page: its rows are on disk
        live["summary"] = s
        if reporter is not None:
            reporter.update(done=s.listed, rows=s.new + s.changed, new=s.new, changed=s.changed,
                            failed=sum(s.failed.values()), api_calls=s.api_calls,
                            api_left=c.budget.left("api"), config_fetches=s.resolver_calls)

    def counts_of(summary: Any, interrupted: bool) -> dict[str, Any]:
        return {**asdict(summary), "failed": dict(summary.failed), "interrupted": interrupted}

    crawler = HubCrawler(data, client, trust_remote_code=trust_remote_code, strict_configs=strict_configs,
                         fetch_cards=fetch_cards, canonical_configs=canonical_configs, progress=progress)
    try:
        counts = counts_of(crawler.crawl(CrawlQuery(**q)), False)
    except BaseException:  # Ctrl-C, SIGTERM, a budget stop: the committed pages still get their summary
        if "summary" in live:
            save_run_summary(data, "crawl", counts_of(live["summary"], True))
        raise
    save_run_summary(data, "crawl", counts)
    return counts


def crawl_torch_hub(data: PathLike, limit: int | None = None) -> dict[str, Any]:
    """Write a pending ``models`` row for each allow-listed torch-hub entrypoint ``data`` does not have yet."""
    from nar_data.parquet import read_table, write_shard
    from nar_data.schema import ModelRow
    from nar_data.sources.torch_hub import TorchHubSource

    known = set(read_table(data, "models", ["model_id"]).column("model_id").to_pylist())
    source = TorchHubSource()
    rows = [ModelRow.from_ref(ref, status="pending", labels=source.labels(ref), tracer_version="")
            for ref in source.iter_refs(limit=limit) if ref.model_id not in known]
    write_shard(data, "models", rows)
    return {"new": len(rows), "known": len(known)}


def train(data: PathLike, ckpt: PathLike | None = None, encoder: str = "nar", *, epochs: int | None = None,
          motif_epochs: int | None = None, seed: int = 0, max_nodes: int | None = None, holdout: float = 0.0,
          progress: bool = False) -> dict[str, Any]:
    """Fit ``encoder`` on the graphs of ``data``, write ``ckpt`` and record it as the dataset's checkpoint.

    Args:
        ckpt: where to write (default ``DATA/_checkpoints/<encoder>.pt``).
        epochs, motif_epochs: override `EncoderConfig` (``None`` keeps its default).
        holdout: leave this fraction of families out of training (0 = train on all).

    Returns:
        ``{"encoder_version", "ckpt", "graphs", "seconds"}``.
    """
    from nar_model.checkpoint import default_checkpoint_path, record_checkpoint, save_checkpoint
    from nar_model.config import EncoderConfig
    from nar_model.data import load_graphs
    from nar_model.encoders import get_encoder
    from nar_model.splits import family_split

    path = Path(ckpt) if ckpt is not None else default_checkpoint_path(data, encoder)
    graphs = load_graphs(data, max_nodes=max_nodes)
    if not len(graphs):
        raise ValueError(f"{data} has no graphs to train on; run `nar trace --data {data}` first")
    if holdout > 0:
        graphs = graphs.subset(family_split(graphs.families, holdout, seed)[0])
    overrides: dict[str, Any] = {"seed": seed}
    if epochs is not None:
        overrides["epochs"] = epochs
    if motif_epochs is not None:
        overrides["motif_epochs"] = motif_epochs
    start = time.perf_counter()
    enc = get_encoder(encoder, EncoderConfig(), **overrides).fit(graphs, progress=progress)
    version = save_checkpoint(enc, path)
    record_checkpoint(data, path, version)
    return {"encoder_version": version, "ckpt": str(path), "graphs": len(graphs),
            "seconds": round(time.perf_counter() - start, 2)}


def evaluate(data: PathLike, encoders: Sequence[str], *, epochs: int | None = None, seed: int = 0,
             max_nodes: int | None = None, test_fraction: float = 0.3, folds: int = 0,
             progress: bool = False) -> dict[str, Any]:
    """The leak-free retrieval protocol (held-out families) for ``encoders``: ``{"results", "markdown"}``.

    Relevance is the catalog's (`nar.relevance.catalog_relevance`: taxonomy families, twins, kind + modality),
    as in ``bench/retrieval_bench.py``, not the graphs' own family labels.
    """
    from nar_model.config import EncoderConfig
    from nar_model.data import load_graphs
    from nar_model.evaluation import Method, run_protocol, table1_markdown
    from nar.relevance import catalog_relevance

    graphs = load_graphs(data, max_nodes=max_nodes)
    config = EncoderConfig(seed=seed) if epochs is None else EncoderConfig(seed=seed, epochs=epochs)
    relevance = catalog_relevance(graphs.graphs)
    results = run_protocol(graphs, [Method(e, e) for e in encoders], config, test_fraction, folds, seed,
                           progress=progress, relevance=relevance)
    return {"results": results, "markdown": table1_markdown({Path(data).name: results})}


def embed(data: PathLike, ckpt: PathLike | None = None, *, batch_size: int = 64, out: PathLike | None = None,
          chunk: int = 512, reporter: Reporter | None = None) -> dict[str, Any]:
    """Embed the graphs of ``data`` whose arch_id has no vector of this encoder version yet.

    A new checkpoint (a new encoder version) embeds everything into its own rows; the same one again
    adds only the arch_ids traced since. Rows go to ``out`` (default ``data``).

    Returns:
        ``{"encoder_version", "embedded", "already", "ckpt", "ms_per_graph"}``.
    """
    from nar_data.parquet import TableWriter, read_graphs, read_table
    from nar_model.checkpoint import dataset_checkpoint, load_checkpoint
    from nar_model.embed import embedding_rows, read_embeddings

    path = Path(ckpt) if ckpt is not None else dataset_checkpoint(data)
    enc, meta = load_checkpoint(path)
    version = meta["encoder_version"]
    target = Path(out) if out is not None else Path(data)
    have = set(read_embeddings(target, version)[0])
    missing = set(read_table(data, "graphs", ["arch_id"]).column("arch_id").to_pylist()) - have
    todo = [g for g in read_graphs(data, unique=True) if g.arch_id in missing] if missing else []
    if reporter is not None:
        reporter.total = len(todo)
    start = time.perf_counter()
    with TableWriter(target, "embeddings", rows_per_shard=max(len(todo), 1), flush_seconds=60.0) as writer:
        for i in range(0, len(todo), chunk):
            part = todo[i:i + chunk]
            writer.write_many(embedding_rows(enc, version, part, batch_size))
            if reporter is not None:
                reporter.advance(len(part), rows=len(part))
    ms = 1000 * (time.perf_counter() - start) / max(len(todo), 1)
    return {"encoder_version": version, "embedded": len(todo), "already": len(have), "ckpt": str(path),
            "ms_per_graph": round(ms, 2)}


def publish(data: PathLike, repo_id: str | None = None, *, endpoint: str | None = None, tag: str | None = None,
            encoder_version: str | None = None, metrics_markdown: str = "",
            run: dict[str, Any] | None = None) -> dict[str, Any]:
    """Write ``DATA/README.md`` (the dataset card) and, with ``repo_id``, `upload` the shards the repo lacks."""
    from nar_data.publish import write_card

    card = write_card(data, current_encoder=encoder_version, metrics_markdown=metrics_markdown, extra=run)
    result: dict[str, Any] = {"card": str(card)}
    if repo_id:
        result["upload"] = upload(data, repo_id, endpoint=endpoint, tag=tag)
    return result


def upload(data: PathLike, repo_id: str, *, endpoint: str | None = None, tag: str | None = None) -> dict[str, Any]:
    """Upload the shards the Hub dataset repo ``repo_id`` lacks, plus the card, in one commit; then tag it."""
    from nar_data.publish import publish_to_hub

    r = publish_to_hub(data, repo_id, endpoint=endpoint, tag=tag)
    return {"repo_id": r.repo_id, "uploaded": r.uploaded, "skipped": r.skipped, "commit": r.commit, "tag": r.tag}
