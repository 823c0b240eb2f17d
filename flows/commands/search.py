"""`nar search` and `nar search-server`: find the architectures most like any model.

The work is `nar.search` (query forms in `nar.query`); this module parses options, prints the table,
``--json`` or ``--explain``, and sends the query to a running ``nar search-server`` when there is one.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from flows.commands._options import DEFAULT_DATA, CkptOpt, DataOpt, EndpointOpt, JsonOpt, TopKOpt, print_json

BackendOpt = Annotated[str, typer.Option(help="Search backend: auto | numpy | faiss.")]


def _num(n: int) -> str:
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= size:
            return f"{n / size:.1f}{unit}"
    return str(n) if n else "-"


def print_result(result: Any, explain: bool = False) -> None:
    """The hits as a table (twins first), then each explanation with ``explain``."""
    from rich.console import Console
    from rich.table import Table

    q = result.query
    title = (f"{q.title}: {q.num_nodes} nodes, {_num(q.num_params)} parameters, {_num(q.flops)} FLOPs"
             f"{'' if q.in_dataset else ', not in the dataset'} - vs {result.database} architectures")
    table = Table(title=title)
    marks = ["identical graph" if h.twin else (f"+{len(h.also)} same graph" if h.also else "") for h in result.hits]
    columns = [("rank", "right"), ("score", "right"), ("model", "left"), ("family", "left"), ("task", "left"),
               ("parameters", "right"), ("FLOPs", "right")] + ([("note", "left")] if any(marks) else [])
    for col, justify in columns:
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for h, mark in zip(result.hits, marks):
        cells = [str(h.rank), f"{h.score:.3f}", h.model_id, h.family, h.task, _num(h.num_params), _num(h.flops)]
        table.add_row(*cells, *([mark] if any(marks) else []))
    console = Console(width=160)
    console.print(table)
    if result.twins_total > len(result.twins):
        typer.echo(f"{result.twins_total} models share the query's graph; {len(result.twins)} shown")
    if explain:
        for h in result.hits:
            if h.explanation:
                _print_explanation(h, h.explanation)


def _print_explanation(hit: Any, e: dict[str, Any]) -> None:
    typer.echo(f"\n#{hit.rank} {hit.model_id}: {e['summary']}")
    if e["shared_motifs"]:
        typer.echo("  shared motifs (query x / match x): " + "; ".join(
            f"[{m['name']}] {m['query']}/{m['match']}" for m in e["shared_motifs"][:3]))
    if e["op_differences"]:
        typer.echo("  op counts that differ (query / match): " + ", ".join(
            f"{d['op']} {d['query']}/{d['match']}" for d in e["op_differences"]))
    stats = e["stats"]
    typer.echo("  query / match: " + ", ".join(
        f"{name} {_num(a) if name in ('parameters', 'flops') else a} / {_num(b) if name in ('parameters', 'flops') else b}"
        for name, (a, b) in stats.items()))


def _fail(message: str) -> None:
    typer.echo(f"Error: {message}", err=True)
    raise SystemExit(1)  # not typer.Exit: the CLI runs click with standalone_mode=False, which returns its code


def search(
    query: Annotated[str, typer.Argument(help="timm:resnet50 | torchvision:vit_b_16 | transformers:bert | "
                                         "hf:org/name[@rev] | ./config.json | ./repo-folder | a bare name "
                                         "(resnet50, BertModel) | a model id or arch_id of the dataset.")],
    data: DataOpt = DEFAULT_DATA,
    ckpt: CkptOpt = None,
    k: TopKOpt = 10,
    json_out: JsonOpt = False,
    explain: Annotated[bool, typer.Option("--explain", help="Say why each match matches: shared blocks and "
                                          "motifs, op counts that differ, parameters/FLOPs/depth.")] = False,
    trust_remote_code: Annotated[bool, typer.Option("--trust-remote-code", help="Allow a Hub repo's own "
                                                    "modeling code (run only in an isolated worker).")] = False,
    endpoint: EndpointOpt = None,
    backend: BackendOpt = "auto",
    server: Annotated[bool, typer.Option(help="Use a running `nar search-server` for this dataset if any.")] = True,
) -> None:
    """Find the architectures of the dataset most like QUERY (built and traced on the fly if unseen).

    Twins (models with exactly the query's graph) come first, marked "identical graph". A query the
    dataset has answers without importing torch; an unseen model is built on the meta device (no
    weights) and traced, with one progress line on stderr.

    Examples:

        nar search timm:resnet50

        nar search resnet50 --explain -k 5

        nar search hf:Qwen/Qwen2.5-0.5B --json

        nar search ./my-model/config.json --data data/nar
    """
    from nar.errors import QueryError

    start = time.perf_counter()
    result = None
    if server:
        result = _via_server(data, ckpt, query, k, explain, trust_remote_code)
    if result is None:
        from nar.search import Searcher

        try:
            searcher = Searcher(data, ckpt, backend)
            result = searcher.query(query, k=k, explain=explain, trust_remote_code=trust_remote_code,
                                    endpoint=endpoint, progress=lambda line: typer.echo(line, err=True))
        except (QueryError, FileNotFoundError) as e:
            _fail(str(e))
        if searcher.embedded_now:
            typer.echo(f"no embeddings of {searcher.version} in {data}; embedded them in memory (run `nar embed` "
                       "once to make searches fast)", err=True)
    if json_out:
        print_json(result.to_dict())
        return
    print_result(result, explain)
    where = "in this process" if result.via == "process" else f"by {result.via}"
    typer.echo(f"query {result.seconds:.2f}s {where}; total {time.perf_counter() - start:.2f}s", err=True)


def _via_server(data: Path, ckpt: Path | None, query: str, k: int, explain: bool, trust: bool) -> Any:
    """The result from a running search server for this dataset and encoder, or None if there is none."""
    from nar.result import SearchResult
    from nar_model.service import SERVER_FILE, SearchServiceError, find_server, remote_search

    if not (data / SERVER_FILE).is_file():
        return None
    version = None
    if ckpt is None:
        from nar.search import dataset_encoder_version

        try:
            version = dataset_encoder_version(data)
        except FileNotFoundError:
            return None
    url = find_server(data, version, ckpt)
    if url is None:
        return None
    try:
        answer = remote_search(url, {"query": query, "k": k, "explain": explain, "trust_remote_code": trust})
    except SearchServiceError as e:
        _fail(str(e))
    return SearchResult.from_dict({**answer, "via": url})


def search_server(
    data: DataOpt = DEFAULT_DATA,
    ckpt: CkptOpt = None,
    port: Annotated[int, typer.Option(help="Port on --host (0 = any free port).")] = 0,
    host: Annotated[str, typer.Option(help="Address to bind; keep 127.0.0.1 unless you mean to share it.")] = "127.0.0.1",
    backend: BackendOpt = "auto",
) -> None:
    """Keep the encoder, the embeddings and the tracing stack loaded and answer `nar search` (Ctrl-C stops).

    Optional: `nar search` works without it. With it, unseen models skip the torch and library imports.
    Writes DATA/_search/server.json; `nar search` on the same dataset and encoder then sends its query here.

    Example:

        nar search-server &
        nar search timm:resnet50
    """
    import signal

    from nar.search import make_server

    def stop(signum: int, frame: Any) -> None:  # SIGTERM (kill, service managers): leave as Ctrl-C does
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        srv = make_server(data, ckpt, host=host, port=port, backend=backend)
    except FileNotFoundError as e:
        _fail(str(e))
    typer.echo(f"serving {len(srv.searcher)} architectures of {data} ({srv.searcher.version}) at {srv.url}")
    sys.stdout.flush()
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        typer.echo("stopped")


def register(app: typer.Typer) -> None:
    app.command("search")(search)
    app.command("search-server")(search_server)
