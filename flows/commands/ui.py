"""`nar ui`: the web page (search, graph view, embedding map, dataset) on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from flows.commands._options import DEFAULT_DATA, CkptOpt, DataOpt, existing_dataset


def ui(
    data: DataOpt = DEFAULT_DATA,
    ckpt: CkptOpt = None,
    port: Annotated[int, typer.Option("--port", "-p", min=1, max=65535, help="Port on 127.0.0.1.")] = 8765,
    map_method: Annotated[str, typer.Option("--map", help="Embedding map: auto (UMAP if installed, else "
                                            "PCA) | umap | pca.")] = "auto",
    warm: Annotated[bool, typer.Option(help="Load the encoder and the tracer at start, so the first unseen "
                                       "model is not billed for the imports.")] = True,
) -> None:
    """Serve the search page for --data on http://127.0.0.1:PORT (Ctrl-C stops).

    Examples:

        nar ui --data data/nar

        nar ui --data data/nar --port 9000 --map pca
    """
    if map_method not in ("auto", "umap", "pca"):
        raise typer.BadParameter(f"{map_method!r}; valid: auto, umap, pca", param_hint="--map")
    existing_dataset(data)
    try:
        import uvicorn

        from nar.ui.backend import UiBackend
        from nar.ui.server import create_app
    except ImportError as e:
        raise typer.BadParameter(f"the page needs the ui extra ({e.name} is missing): pip install -e '.[ui]'",
                                 param_hint="nar ui") from None

    backend = UiBackend(data, ckpt)
    app = create_app(backend, map_method, warm)
    typer.echo(f"serving {backend.database} architectures of {data} ({backend.version}) at "
               f"http://127.0.0.1:{port}", err=True)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


def register(app: typer.Typer) -> None:
    app.command("ui")(ui)
