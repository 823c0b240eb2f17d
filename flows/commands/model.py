"""`nar train`, `nar embed`, `nar eval`: the encoders of nar_model from the command line.

Search is `flows/commands/search.py` (`nar search`, `nar search-server`).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from flows.commands._options import DataOpt, SeedOpt

CkptOpt = Annotated[Path, typer.Option("--ckpt", "-c", help="Encoder checkpoint written by `nar train`.")]
EncoderOpt = Annotated[str, typer.Option("--encoder", "-e", help="Registry name: nar | gcn | gat | gin | wl.")]
EpochsOpt = Annotated[int | None, typer.Option("--epochs", help="Graph-level epochs (default: EncoderConfig).")]
MaxNodesOpt = Annotated[int | None, typer.Option("--max-nodes", help="Skip graphs larger than this.")]


def train(
    data: DataOpt,
    out: Annotated[Path, typer.Option("--out", "-o", help="Checkpoint file to write.")] = Path("checkpoints/nar.pt"),
    encoder: EncoderOpt = "nar",
    epochs: EpochsOpt = None,
    motif_epochs: Annotated[int | None, typer.Option("--motif-epochs", help="Stage-1 epochs of `nar`.")] = None,
    holdout: Annotated[float, typer.Option(help="Hold out this fraction of families (0 = train on all).")] = 0.0,
    max_nodes: MaxNodesOpt = None,
    seed: SeedOpt = 0,
) -> None:
    """Train an encoder on the graphs of --data and write a checkpoint (weights, config, versions).

    Examples:

        nar train --data data/demo --out checkpoints/nar.pt

        nar train --data data/demo --encoder gin --epochs 20 --out checkpoints/gin.pt
    """
    from nar_model.checkpoint import save_checkpoint
    from nar_model.config import EncoderConfig
    from nar_model.data import load_graphs
    from nar_model.encoders import get_encoder
    from nar_model.splits import family_split

    graphs = load_graphs(data, max_nodes=max_nodes)
    if holdout > 0:
        graphs = graphs.subset(family_split(graphs.families, holdout, seed)[0])
    overrides: dict[str, Any] = {"seed": seed}
    if epochs is not None:
        overrides["epochs"] = epochs
    if motif_epochs is not None:
        overrides["motif_epochs"] = motif_epochs
    start = time.perf_counter()
    enc = get_encoder(encoder, EncoderConfig(), **overrides).fit(graphs, progress=True)
    version = save_checkpoint(enc, out)
    typer.echo(f"trained {encoder} on {len(graphs)} graphs in {time.perf_counter() - start:.1f}s -> {out} ({version})")


def embed(
    data: DataOpt,
    ckpt: CkptOpt,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Dataset to append the embeddings table to "
                                             "(default: --data).")] = None,
    batch_size: Annotated[int, typer.Option(help="Graphs per forward pass.")] = 64,
) -> None:
    """Embed every unique architecture of --data and append the `embeddings` table.

    Examples:

        nar embed --data data/demo --ckpt checkpoints/nar.pt
    """
    from nar_model.checkpoint import load_checkpoint
    from nar_model.data import load_graphs
    from nar_model.embed import embedding_rows, write_embeddings

    enc, meta = load_checkpoint(ckpt)
    graphs = load_graphs(data)
    start = time.perf_counter()
    rows = embedding_rows(enc, meta["encoder_version"], graphs.graphs, batch_size)
    write_embeddings(out or data, rows)
    ms = 1000 * (time.perf_counter() - start) / max(len(rows), 1)
    typer.echo(f"embedded {len(rows)} graphs with {meta['encoder_version']} ({ms:.1f} ms/graph) -> {out or data}/embeddings")


def evaluate(
    data: DataOpt,
    encoders: Annotated[str, typer.Option("--encoders", help="Comma-separated registry names.")] = "wl,gcn,gat,gin,nar",
    epochs: EpochsOpt = None,
    test_fraction: Annotated[float, typer.Option(help="Fraction of families held out.")] = 0.3,
    folds: Annotated[int, typer.Option(help="Group k-fold over families (0 = one split).")] = 0,
    max_nodes: MaxNodesOpt = None,
    seed: SeedOpt = 0,
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write the results as JSON.")] = None,
) -> None:
    """Leak-free retrieval benchmark on --data: fit on train families, query held-out ones (Table 1).

    Examples:

        nar eval --data data/demo

        nar eval --data data/demo --encoders wl,nar --folds 5 --json eval.json
    """
    from nar_model.config import EncoderConfig
    from nar_model.data import load_graphs
    from nar_model.evaluation import Method, run_protocol, table1_markdown

    graphs = load_graphs(data, max_nodes=max_nodes)
    config = EncoderConfig(seed=seed) if epochs is None else EncoderConfig(seed=seed, epochs=epochs)
    methods = [Method(name, name) for name in encoders.split(",") if name]
    results = run_protocol(graphs, methods, config, test_fraction, folds, seed, progress=True)
    typer.echo(table1_markdown({str(data): results}))
    if json_out:
        json_out.write_text(json.dumps(results, indent=1, default=float))


def register(app: typer.Typer) -> None:
    app.command("train")(train)
    app.command("embed")(embed)
    app.command("eval")(evaluate)
