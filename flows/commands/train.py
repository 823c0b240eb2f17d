"""`nar train`, `nar embed`, `nar eval`: the encoders of nar_model from the command line (steps in `flows.steps`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from flows.commands._options import (DEFAULT_DATA, CkptOpt, DataOpt, JsonOpt, OldOutOpt, SeedOpt, existing_dataset,
                                     print_json)

EncoderOpt = Annotated[str, typer.Option("--encoder", "-e", help="Registry name: nar | gcn | gat | gin | wl.")]
EpochsOpt = Annotated[int | None, typer.Option("--epochs", min=0, help="Graph-level epochs (default: EncoderConfig).")]
MaxNodesOpt = Annotated[int | None, typer.Option("--max-nodes", min=1, help="Skip graphs larger than this.")]


def train(
    data: DataOpt = DEFAULT_DATA,
    ckpt: CkptOpt = None,
    out: OldOutOpt = None,
    encoder: EncoderOpt = "nar",
    epochs: EpochsOpt = None,
    motif_epochs: Annotated[int | None, typer.Option("--motif-epochs", min=0, help="Stage-1 epochs of `nar`.")] = None,
    holdout: Annotated[float, typer.Option(min=0.0, max=0.9, help="Hold out this fraction of families (0 = train "
                                           "on all).")] = 0.0,
    max_nodes: MaxNodesOpt = None,
    seed: SeedOpt = 0,
    as_json: JsonOpt = False,
) -> None:
    """Train an encoder on the graphs of --data, write its checkpoint and record it in the dataset.

    The checkpoint goes to DATA/_checkpoints/ENCODER.pt unless --ckpt says otherwise; either way
    `nar embed` and `nar search` on the same --data then use it without being told.

    Examples:

    \b
        nar train
        nar train --data data/nar --encoder gin --epochs 5
        nar train --encoder wl --ckpt data/nar/_checkpoints/wl.pt
    """
    from flows import steps

    if out is not None:  # `train --out` named the checkpoint file
        typer.echo("note: `nar train --out` is deprecated; use --ckpt (the checkpoint file)", err=True)
        ckpt = ckpt or out
    result = steps.train(existing_dataset(data), ckpt, encoder, epochs=epochs, motif_epochs=motif_epochs, seed=seed,
                         max_nodes=max_nodes, holdout=holdout, progress=not as_json)
    if as_json:
        print_json(result)
        return
    typer.echo(f"trained {encoder} on {result['graphs']} graphs in {result['seconds']:.1f}s -> {result['ckpt']} "
               f"({result['encoder_version']}, recorded as the checkpoint of {data})")


def embed(
    data: DataOpt = DEFAULT_DATA,
    ckpt: CkptOpt = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", hidden=True, help="Deprecated: the dataset to append "
                                             "the embeddings to (default --data).")] = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Graphs per forward pass.")] = 64,
    as_json: JsonOpt = False,
) -> None:
    """Embed the architectures of --data that have no vector of this checkpoint yet (the `embeddings` table).

    A new checkpoint embeds every architecture; the same one again only those traced since.

    Examples:

    \b
        nar embed
        nar embed --data data/nar --ckpt data/nar/_checkpoints/nar.pt
    """
    from flows import steps
    from flows._progress import Reporter

    from nar_model.checkpoint import dataset_checkpoint

    if out is not None:
        typer.echo("note: `nar embed --out` is deprecated; embeddings belong in the --data dataset", err=True)
    ckpt = ckpt or dataset_checkpoint(existing_dataset(data))  # a missing checkpoint fails before any progress
    with Reporter("embed", total=None) as reporter:
        result = steps.embed(data, ckpt, batch_size=batch_size, out=out, reporter=reporter)
    if as_json:
        print_json(result)
        return
    typer.echo(f"embedded {result['embedded']} graphs ({result['already']} already had a vector) with "
               f"{result['encoder_version']} ({result['ms_per_graph']:.1f} ms/graph) -> {out or data}/embeddings")


def evaluate(
    data: DataOpt = DEFAULT_DATA,
    encoders: Annotated[str, typer.Option("--encoders", help="Comma-separated registry names.")] = "wl,gcn,gat,gin,nar",
    epochs: EpochsOpt = None,
    test_fraction: Annotated[float, typer.Option(min=0.05, max=0.95, help="Fraction of families held out.")] = 0.3,
    folds: Annotated[int, typer.Option(min=0, help="Group k-fold over families (0 = one split).")] = 0,
    max_nodes: MaxNodesOpt = None,
    seed: SeedOpt = 0,
    as_json: JsonOpt = False,
    json_file: Annotated[Path | None, typer.Option("--json-file", help="Also write the results as JSON here.")] = None,
) -> None:
    """Leak-free retrieval benchmark on --data: fit on train families, query held-out ones (Table 1).

    Examples:

    \b
        nar eval --encoders wl --epochs 2
        nar eval --data data/nar --encoders wl,nar --folds 5 --json-file eval.json
    """
    import json

    from flows import steps

    names = [name for name in encoders.split(",") if name]
    metrics = steps.evaluate(existing_dataset(data), names, epochs=epochs, seed=seed, max_nodes=max_nodes,
                             test_fraction=test_fraction, folds=folds, progress=not as_json)
    if json_file:
        json_file.write_text(json.dumps(metrics["results"], indent=1, default=float))
    if as_json:
        print_json(metrics["results"])
    else:
        typer.echo(metrics["markdown"])


def register(app: typer.Typer) -> None:
    app.command("train")(train)
    app.command("embed")(embed)
    app.command("eval")(evaluate)
