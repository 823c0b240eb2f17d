"""`nar train`, `nar embed`, `nar eval`, `nar search`: the encoders of nar_model from the command line.

The only glue beyond argument parsing is `resolve_query`: it turns a search query (an ``arch_id``, a
registry name such as ``timm:resnet50`` or a local ``config.json``) into a `Graph`, building and
tracing unseen models on the fly.
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


def resolve_query(query: str, data: Path | None = None) -> Any:
    """The `Graph` of ``query``: a local config.json, an ``arch_id``/``model_id`` of --data, or ``source:name``
    (built on the meta device and traced on the fly)."""
    path = Path(query)
    if query.endswith(".json") and path.is_file():
        from nar_data.sources.transformers import build_from_config
        from nar_data.tracing import trace_module

        built = build_from_config(json.loads(path.read_text()))
        return trace_module(built.module, built.args, built.kwargs, model_id=f"local:{path.name}", source="local")
    if data is not None:
        from nar_data.parquet import iter_graphs

        for g in iter_graphs(data):
            if g.arch_id == query or g.model_id == query:
                return g
    if ":" in query:
        from nar_data.sources import get_source
        from nar_data.tracing import trace_ref

        source_name, name = query.split(":", 1)
        source = get_source(source_name)
        ref = next(iter(source.iter_refs(names=[name])), None)
        if ref is None and source_name == "transformers":  # a model type ("bert") rather than a class
            ref = next(iter(source.iter_refs(model_types=[name], base_only=True)), None)
        if ref is None:
            raise ValueError(f"{source_name} has no model {name!r}")
        return trace_ref(ref)
    raise ValueError(f"Cannot resolve {query!r}: not an arch_id/model_id of {data}, not 'source:name' "
                     "(e.g. timm:resnet50) and not a config.json file")


def search(
    query: Annotated[str, typer.Argument(help="arch_id, registry name (timm:resnet50, torchvision:vit_b_16, "
                                         "transformers:bert) or path to a config.json.")],
    data: DataOpt,
    ckpt: CkptOpt,
    k: Annotated[int, typer.Option("-k", help="Results to show.")] = 10,
    backend: Annotated[str, typer.Option(help="Search backend: auto | numpy | faiss.")] = "auto",
) -> None:
    """Find the architectures of --data most like QUERY (built and traced on the fly if unseen).

    Examples:

        nar search timm:resnet50 --data data/demo --ckpt checkpoints/nar.pt

        nar search 3f2a...arch_id --data data/demo --ckpt checkpoints/nar.pt -k 20
    """
    from rich.console import Console
    from rich.table import Table

    from nar_data.parquet import read_table
    from nar_model.checkpoint import load_checkpoint
    from nar_model.data import load_graphs
    from nar_model.embed import embedding_rows, read_embeddings
    from nar_model.search import make_index

    start = time.perf_counter()
    enc, meta = load_checkpoint(ckpt)
    table = read_table(data, "graphs", columns=["arch_id", "model_id", "family"])  # labels only: fast
    by_id: dict[str, tuple[str, str]] = {}
    for aid, mid, fam in zip(*(table.column(c).to_pylist() for c in ("arch_id", "model_id", "family"))):
        by_id.setdefault(aid, (mid, fam))
    ids, vectors = read_embeddings(data, meta["encoder_version"])
    if not ids:  # no `nar embed` run for this checkpoint yet: embed the database now
        typer.echo(f"no embeddings of {meta['encoder_version']} in {data}; embedding now (run `nar embed` once "
                   "to make searches fast)", err=True)
        rows = embedding_rows(enc, meta["encoder_version"], load_graphs(data).graphs)
        ids, vectors = [r["arch_id"] for r in rows], [r["vector"] for r in rows]
    index = make_index(backend)
    index.add(ids, vectors)
    t_query = time.perf_counter()
    graph = resolve_query(query, data)
    qvec = enc.embed([graph])
    res = index.search(qvec, k + 1)
    out = Table(title=f"{graph.model_id} ({graph.num_nodes} nodes) vs {len(ids)} architectures")
    for col in ("rank", "cosine", "model", "family", "arch_id"):
        out.add_column(col)
    rank = 0
    for score, i in zip(res.scores[0].tolist(), res.indices[0].tolist()):
        if i < 0 or index.ids[i] == graph.arch_id or rank >= k:
            continue
        rank += 1
        mid, fam = by_id.get(index.ids[i], ("?", "?"))
        out.add_row(str(rank), f"{score:.3f}", mid, fam, index.ids[i][:12])
    Console(width=160).print(out)
    typer.echo(f"query {time.perf_counter() - t_query:.2f}s (trace + embed + search); total {time.perf_counter() - start:.2f}s")


def register(app: typer.Typer) -> None:
    app.command("train")(train)
    app.command("embed")(embed)
    app.command("eval")(evaluate)
    app.command("search")(search)
