"""The web page's server: a FastAPI app over one `UiBackend`, serving the static page and a small JSON API.

Every asset comes from this package (``nar/ui/static``) or an installed one (``plotly.min.js`` from the
``plotly`` package), so the page works offline. A search runs as a job in one worker thread (tracing is
not thread-safe); the page polls ``GET /api/jobs/{id}`` and shows the job's stage meanwhile.

API: ``POST /api/search`` ``{"query", "k"}`` and ``POST /api/search-config`` ``{"name", "text", "k"}`` ->
``{"job"}``; ``GET /api/jobs/{id}`` -> ``{"state": running|done|failed, "stage", "seconds", "result" |
"error"}`` where ``result`` is `nar.result.SearchResult.to_dict()` plus ``traced`` and ``map_xy``; ``GET /api/graph?query=&match=``, ``GET /api/explain?query=&match=``, ``GET /api/map``,
``GET /api/dataset``, ``GET /api/health``.
"""

from __future__ import annotations

import importlib.util
import threading
import time
import uuid
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel, Field

from nar.errors import NarError

from .backend import Found, UiBackend
from .datasetview import dataset_summary
from .embedmap import MapCache, place_query
from .graphview import graph_pair

__all__ = ["STATIC", "create_app", "one_line"]

STATIC = Path(__file__).parent / "static"
#: Jobs kept for polling; older ones are forgotten.
KEEP_JOBS = 64


def one_line(error: BaseException, limit: int = 300) -> str:
    """What the page shows for a query that fails: nar's own one-line message (as ``nar search`` prints
    it), or ``Class: first line`` of anything else."""
    text = str(error).strip().splitlines()
    first = text[0] if text else "no message"
    line = first if isinstance(error, NarError) else f"{type(error).__name__}: {first}"
    return line if len(line) <= limit else line[: limit - 3] + "..."


class SearchBody(BaseModel):
    query: str = Field(min_length=1)
    k: int = Field(10, ge=1, le=100)


class ConfigBody(BaseModel):
    name: str = "config.json"
    text: str = Field(min_length=2)
    k: int = Field(10, ge=1, le=100)


class _Jobs:
    """Search jobs run one at a time in a worker thread; their state is polled by the page."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nar-ui-search")
        self._lock = threading.Lock()
        self._jobs: OrderedDict[str, dict[str, Any]] = OrderedDict()

    def submit(self, fn: Any, *args: Any) -> str:
        job_id = uuid.uuid4().hex[:12]
        job = {"state": "running", "stage": "queued", "start": time.perf_counter(), "result": None, "error": None}
        with self._lock:
            self._jobs[job_id] = job
            while len(self._jobs) > KEEP_JOBS:
                self._jobs.popitem(last=False)

        def stage(msg: str) -> None:
            job["stage"] = msg

        def run() -> None:
            try:
                job["result"] = fn(*args, stage)
                job["state"] = "done"
            except Exception as e:  # noqa: BLE001 - a model that fails to build/trace is the page's answer
                job["error"], job["state"] = one_line(e), "failed"
            job["seconds"] = round(time.perf_counter() - job["start"], 2)

        self._pool.submit(run)
        return job_id

    def get(self, job_id: str) -> dict[str, Any]:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise HTTPException(404, f"No job {job_id!r}; start one with POST /api/search")
        out = {k: job[k] for k in ("state", "stage", "result", "error")}
        out["seconds"] = job.get("seconds", round(time.perf_counter() - job["start"], 2))
        return out

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def _plotly_js() -> Path:
    spec = importlib.util.find_spec("plotly")
    if spec is None or spec.origin is None:
        raise RuntimeError("The page needs plotly.js from the `plotly` package: pip install 'nar[ui]'")
    path = Path(spec.origin).parent / "package_data" / "plotly.min.js"
    if not path.is_file():
        raise RuntimeError(f"plotly is installed but {path} is missing; reinstall it: pip install -U plotly")
    return path


def create_app(backend: UiBackend, map_method: str = "auto", warm: bool = True) -> FastAPI:
    """The app serving ``backend``'s dataset; ``map_method`` is `MapCache.load`'s ``method``. With ``warm``,
    the first job (ahead of any search) is `UiBackend.warm_up`."""
    plotly_js = _plotly_js()
    jobs = _Jobs()
    warm_job = jobs.submit(lambda stage: backend.warm_up()) if warm else None
    cache = MapCache(backend.data, backend.version)
    map_lock = threading.Lock()
    state: dict[str, Any] = {}  # the map once computed (per app, not per module)

    def embedding_map() -> tuple[list[str], Any, dict[str, Any], Any]:
        """``(ids, coords, meta, vectors)`` of the map, computed (or read from the cache) on first use."""
        with map_lock:
            if "map" not in state:
                ids, vectors = backend.embeddings()
                if not ids:
                    raise HTTPException(409, f"No embeddings of {backend.version} in {backend.data}; run "
                                        f"`nar embed --data {backend.data}` once for the map")
                order = {a: i for i, a in enumerate(ids)}
                map_ids, coords, meta = cache.load(ids, vectors, map_method)
                vectors = vectors[[order[a] for a in map_ids]]
                state["map"] = (map_ids, coords, meta, vectors)
            return state["map"]

    def answer(found: Found) -> dict[str, Any]:
        """The page's result: `SearchResult.to_dict()` + ``traced`` + ``map_xy`` (the query's place)."""
        result, vector = found.result, found.vector
        out = result.to_dict()
        out["traced"] = found.traced
        try:
            ids, coords, meta, vectors = embedding_map()
        except HTTPException:
            return out  # no embeddings: the map tab says how to make them
        row = {a: i for i, a in enumerate(ids)}.get(result.query.arch_id)
        if row is not None:
            out["map_xy"] = [float(coords[row, 0]), float(coords[row, 1])]
        elif vector is not None:
            out["map_xy"] = list(place_query(vector, ids, vectors, coords, meta))
        return out

    def run_search(query: str, k: int, stage: Any) -> dict[str, Any]:
        return answer(backend.search(query, k, stage))

    def run_config(name: str, text: str, k: int, stage: Any) -> dict[str, Any]:
        return answer(backend.search_config(name, text, k, stage))

    app = FastAPI(title="nar", docs_url=None, redoc_url=None, openapi_url=None)
    app.router.on_shutdown.append(jobs.close)

    @app.get("/")
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    @app.get("/static/{name}")
    def static(name: str) -> FileResponse:
        path = STATIC / name
        if "/" in name or not path.is_file():
            raise HTTPException(404, f"No asset {name!r}")
        return FileResponse(path)

    @app.get("/vendor/plotly.min.js")
    def plotly() -> FileResponse:
        return FileResponse(plotly_js, media_type="application/javascript")

    @app.get("/api/health")
    def health() -> dict[str, Any]:
        warming = warm_job is not None and jobs.get(warm_job)["state"] == "running"
        return {"ok": True, "data": str(backend.data), "encoder_version": backend.version,
                "database": backend.database, "warming": warming}

    @app.post("/api/search")
    def search(body: SearchBody) -> dict[str, str]:
        return {"job": jobs.submit(run_search, body.query.strip(), body.k)}

    @app.post("/api/search-config")
    def search_config(body: ConfigBody) -> dict[str, str]:
        return {"job": jobs.submit(run_config, body.name, body.text, body.k)}

    @app.get("/api/jobs/{job_id}")
    def job(job_id: str) -> dict[str, Any]:
        return jobs.get(job_id)

    def pair(query: str, match: str) -> tuple[Any, Any]:
        try:
            return backend.graph(query), backend.graph(match)
        except KeyError as e:
            raise HTTPException(404, str(e.args[0])) from None

    @app.get("/api/graph")
    def graph(query: str, match: str) -> dict[str, Any]:
        return graph_pair(*pair(query, match))

    @app.get("/api/explain")
    def explain(query: str, match: str) -> dict[str, Any]:
        from nar_model.explain import explain as explain_match  # the `nar search --explain` explanation

        return explain_match(*pair(query, match)).to_dict()

    @app.get("/api/map")
    def map_points() -> dict[str, Any]:
        ids, coords, meta, _ = embedding_map()
        points = []
        for aid, (x, y) in zip(ids, coords.tolist()):
            lab = backend.labels.get(aid, {})
            points.append({"arch_id": aid, "x": x, "y": y, "model": lab.get("model_id", "?"),
                           "family": lab.get("family", "?"), "coarse": lab.get("coarse", "?"),
                           "source": lab.get("source", "?")})
        return {"method": meta["method"], "encoder_version": backend.version, "points": points}

    @app.get("/api/dataset")
    def dataset() -> JSONResponse:
        return JSONResponse(dataset_summary(backend.data, backend.version))

    return app
