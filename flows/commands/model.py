"""`nar search` and `nar search-server` (`nar train`, `nar embed`, `nar eval` are in `flows.commands.train`).

Search itself lives in `nar_model.search` (`Searcher`, `resolve_query`) and `nar_model.service` (the warm
``nar search-server`` and its standard-library client).
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


def _print_hits(result: dict[str, Any], via: str) -> None:
    from rich.console import Console
    from rich.table import Table

    out = Table(title=f"{result['model']} ({result['nodes']} nodes) vs {result['database']} architectures")
    for col in ("rank", "cosine", "model", "family", "arch_id"):
        out.add_column(col)
    for h in result["hits"]:
        out.add_row(str(h["rank"]), f"{h['cosine']:.3f}", h["model"], h["family"], h["arch_id"][:12])
    Console(width=160).print(out)
    typer.echo(f"query {result['seconds']:.2f}s (trace + embed + search) {via}")


def search(
    query: Annotated[str, typer.Argument(help="arch_id, registry name (timm:resnet50, torchvision:vit_b_16, "
                                         "transformers:bert) or path to a config.json.")],
    data: DataOpt,
    ckpt: CkptOpt,
    k: Annotated[int, typer.Option("-k", help="Results to show.")] = 10,
    backend: Annotated[str, typer.Option(help="Search backend: auto | numpy | faiss.")] = "auto",
    server: Annotated[bool, typer.Option(help="Use a running `nar search-server` for --data/--ckpt if any.")] = True,
) -> None:
    """Find the architectures of --data most like QUERY (built and traced on the fly if unseen).

    With a `nar search-server` running on the same --data and --ckpt, the query goes to it (no torch
    import here: about a second end to end); otherwise everything is loaded in this process.

    Examples:

        nar search timm:resnet50 --data data/demo --ckpt checkpoints/nar.pt

        nar search 3f2a...arch_id --data data/demo --ckpt checkpoints/nar.pt -k 20
    """
    start = time.perf_counter()
    if server:
        from nar_model.service import find_server, remote_search

        url = find_server(data, ckpt)
        if url is not None:
            try:
                result = remote_search(url, query, k)
            except ValueError as e:
                raise typer.BadParameter(str(e), param_hint="QUERY") from None
            _print_hits(result, f"by {url}; total {time.perf_counter() - start:.2f}s")
            return
    from nar_model.search import Searcher

    searcher = Searcher(data, ckpt, backend)
    if searcher.embedded_now:
        typer.echo(f"no embeddings of {searcher.version} in {data}; embedded now in memory (run `nar embed` once "
                   "to make searches fast)", err=True)
    try:
        result = searcher.query(query, k)
    except ValueError as e:
        raise typer.BadParameter(str(e), param_hint="QUERY") from None
    _print_hits(result, f"in process; total {time.perf_counter() - start:.2f}s")


def search_server(
    data: DataOpt,
    ckpt: CkptOpt,
    port: Annotated[int, typer.Option(help="Port on --host (0 = any free port).")] = 0,
    host: Annotated[str, typer.Option(help="Address to bind; keep 127.0.0.1 unless you mean to share it.")] = "127.0.0.1",
    backend: Annotated[str, typer.Option(help="Search backend: auto | numpy | faiss.")] = "auto",
) -> None:
    """Keep the encoder, the embeddings and the tracing stack loaded and answer `nar search` (Ctrl-C stops).

    Writes DATA/_search/server.json; `nar search` on the same --data and --ckpt then sends its query here.

    Example:

        nar search-server --data data/nar --ckpt data/nar/_checkpoints/nar.pt &
        nar search timm:resnet50 --data data/nar --ckpt data/nar/_checkpoints/nar.pt
    """
    import signal

    from nar_model.service import SearchServer

    def stop(signum: int, frame: Any) -> None:  # SIGTERM (kill, service managers): leave as Ctrl-C does
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    srv = SearchServer(data, ckpt, host=host, port=port, backend=backend)
    typer.echo(f"serving {len(srv.searcher.index)} architectures of {data} ({srv.searcher.version}) at {srv.url}")
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        typer.echo("stopped")


def register(app: typer.Typer) -> None:
    app.command("search")(search)
    app.command("search-server")(search_server)
