"""The embedding map: every architecture of a dataset in 2-D, computed once per encoder version and cached.

UMAP (cosine metric) where ``umap-learn`` is installed, else PCA of the L2-normalised vectors (the search
index's geometry). The cache is ``DATA/_ui/map-<encoder_version>.parquet`` (``arch_id, x, y``); its schema
metadata keeps the method and, for PCA, the mean and the two components so a query is projected exactly.
A UMAP map places a query at the similarity-weighted mean of its nearest neighbours' positions.
"""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

__all__ = ["MapCache", "map_path", "pca_2d", "place_query"]


def map_path(data: str | os.PathLike, version: str) -> Path:
    return Path(data) / "_ui" / f"map-{version}.parquet"


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.atleast_2d(np.asarray(x, dtype=np.float64))
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def pca_2d(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(coords (N, 2), mean (D,), components (2, D))`` of the normalised vectors; deterministic signs
    (the largest-magnitude loading of each component is positive)."""
    v = _unit(vectors)
    mean = v.mean(axis=0)
    centred = v - mean
    if len(v) < 2:
        comps = np.zeros((2, v.shape[1]))
        comps[0, 0] = 1.0
        if v.shape[1] > 1:
            comps[1, 1] = 1.0
    else:
        _, _, vt = np.linalg.svd(centred, full_matrices=False)
        comps = np.zeros((2, v.shape[1]))
        comps[: min(2, len(vt))] = vt[:2]
    signs = np.sign(comps[np.arange(2), np.abs(comps).argmax(axis=1)])
    comps *= np.where(signs == 0, 1.0, signs)[:, None]
    return centred @ comps.T, mean, comps


def _umap_2d(vectors: np.ndarray, seed: int = 0) -> np.ndarray:
    import umap

    n = len(vectors)
    reducer = umap.UMAP(n_components=2, metric="cosine", n_neighbors=max(2, min(15, n - 1)), random_state=seed)
    return np.asarray(reducer.fit_transform(_unit(vectors)), dtype=np.float64)


def place_query(vector: np.ndarray, ids: list[str], vectors: np.ndarray, coords: np.ndarray,
                meta: dict[str, Any], k: int = 5) -> tuple[float, float]:
    """Where a query vector lands: the PCA projection, or (UMAP) the weighted mean of its ``k`` neighbours."""
    if meta.get("method") == "pca":
        xy = (_unit(vector) - np.asarray(meta["mean"])) @ np.asarray(meta["components"]).T
        return float(xy[0, 0]), float(xy[0, 1])
    sims = (_unit(vectors) @ _unit(vector)[0]).ravel()
    top = np.argsort(-sims, kind="stable")[:k]
    w = np.maximum(sims[top], 1e-6)
    xy = (coords[top] * w[:, None]).sum(axis=0) / w.sum()
    return float(xy[0]), float(xy[1])


class MapCache:
    """The 2-D map of one encoder version of one dataset (computed on first use, then read from the cache)."""

    def __init__(self, data: str | os.PathLike, version: str) -> None:
        self.path = map_path(data, version)
        self.version = version

    def load(self, ids: list[str], vectors: np.ndarray, method: str = "auto") -> tuple[list[str], np.ndarray, dict]:
        """``(ids, coords, meta)``: the cached map when it covers exactly ``ids``, else computed and saved.

        ``method``: ``auto`` (UMAP when installed, else PCA), ``umap`` or ``pca``.
        """
        if self.path.is_file():
            table = pq.read_table(self.path)
            meta = json.loads(table.schema.metadata[b"nar_ui_map"])
            cached = table.column("arch_id").to_pylist()
            if set(cached) == set(ids) and (method in ("auto", meta["method"])):
                coords = np.stack([table.column("x").to_numpy(), table.column("y").to_numpy()], axis=1)
                return cached, coords, meta
        return self._compute(ids, vectors, method)

    def _compute(self, ids: list[str], vectors: np.ndarray, method: str) -> tuple[list[str], np.ndarray, dict]:
        if method == "auto":
            method = "umap" if importlib.util.find_spec("umap") and len(ids) >= 4 else "pca"
        if method not in ("umap", "pca"):
            raise ValueError(f"Unknown map method {method!r}; valid methods: auto, umap, pca")
        coords, mean, comps = pca_2d(vectors)
        meta: dict[str, Any] = {"method": "pca", "encoder_version": self.version,
                                "mean": mean.tolist(), "components": comps.tolist()}
        if method == "umap":
            coords, meta = _umap_2d(vectors), {"method": "umap", "encoder_version": self.version}
        table = pa.table({"arch_id": ids, "x": coords[:, 0], "y": coords[:, 1]})
        table = table.replace_schema_metadata({"nar_ui_map": json.dumps(meta)})
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        pq.write_table(table, tmp)
        os.replace(tmp, self.path)
        return list(ids), coords, meta
