"""Vector-search backends at scale on synthetic embeddings: build time, memory, latency, recall@10.

Vectors are a Gaussian mixture on the unit sphere (architecture embeddings cluster by family; uniform
noise is the worst case for any graph index and is available with ``--clusters 0``). Every backend is
measured on the same vectors and the same queries; recall@10 is against exact search (numpy). Latency is
single-query, one thread, after a warm-up. Memory is the process RSS growth while the index is built
(the vectors themselves are counted once, outside).

    python bench/search_scale.py                       # 10k, 100k, 1M at 256 dims
    python bench/search_scale.py --sizes 10000 --dim 128 --json /tmp/scale.json
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import os
import subprocess
import sys
import time

import numpy as np
import psutil


def synthetic(n: int, dim: int, clusters: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if clusters <= 0:
        x = rng.standard_normal((n, dim), dtype=np.float32)
    else:
        centres = rng.standard_normal((clusters, dim), dtype=np.float32)
        x = centres[rng.integers(0, clusters, n)]
        x += 0.35 * rng.standard_normal((n, dim), dtype=np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


def exact_topk(x: np.ndarray, q: np.ndarray, k: int) -> np.ndarray:
    out = np.empty((len(q), k), dtype=np.int64)
    for i in range(0, len(q), 64):
        s = q[i:i + 64] @ x.T
        part = np.argpartition(-s, k, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(s, part, 1), axis=1)
        out[i:i + 64] = np.take_along_axis(part, order, 1)
    return out


def rss() -> int:
    gc.collect()
    return psutil.Process().memory_info().rss


class Numpy:
    name = "numpy-exact"

    def build(self, x: np.ndarray) -> None:
        self.x = x

    def query(self, q: np.ndarray, k: int) -> np.ndarray:
        s = self.x @ q
        part = np.argpartition(-s, k)[:k]
        return part[np.argsort(-s[part])]


class FaissHNSW:
    name = "faiss-hnsw"

    def __init__(self, m: int = 32, ef_search: int = 96) -> None:
        self.m, self.ef = m, ef_search

    def build(self, x: np.ndarray) -> None:
        import faiss

        self.index = faiss.IndexHNSWFlat(x.shape[1], self.m, faiss.METRIC_INNER_PRODUCT)
        self.index.hnsw.efConstruction = 80
        self.index.add(x)
        self.index.hnsw.efSearch = self.ef

    def query(self, q: np.ndarray, k: int) -> np.ndarray:
        return self.index.search(q[None], k)[1][0]


class USearch:
    def __init__(self, dtype: str = "f16", m: int = 32, ef_search: int = 96) -> None:
        self.dtype, self.m, self.ef = dtype, m, ef_search
        self.name = f"usearch-hnsw-{dtype}"

    def build(self, x: np.ndarray) -> None:
        from usearch.index import Index

        self.index = Index(ndim=x.shape[1], metric="ip", dtype=self.dtype, connectivity=self.m,
                           expansion_add=80, expansion_search=self.ef)
        self.index.add(np.arange(len(x)), x, threads=os.cpu_count() or 1)

    def query(self, q: np.ndarray, k: int) -> np.ndarray:
        return self.index.search(q, k, threads=1).keys


class Hnswlib:
    name = "hnswlib"

    def __init__(self, m: int = 32, ef_search: int = 96) -> None:
        self.m, self.ef = m, ef_search

    def build(self, x: np.ndarray) -> None:
        import hnswlib

        self.index = hnswlib.Index(space="ip", dim=x.shape[1])
        self.index.init_index(max_elements=len(x), ef_construction=80, M=self.m)
        self.index.add_items(x, np.arange(len(x)))
        self.index.set_ef(self.ef)
        self.index.set_num_threads(1)

    def query(self, q: np.ndarray, k: int) -> np.ndarray:
        return self.index.knn_query(q[None], k)[0][0]


def backends(names: list[str], ef: int) -> list:
    made = {"numpy": Numpy, "faiss": lambda: FaissHNSW(ef_search=ef), "usearch": lambda: USearch(ef_search=ef),
            "usearch-f32": lambda: USearch("f32", ef_search=ef), "hnswlib": lambda: Hnswlib(ef_search=ef)}
    need = {"faiss": "faiss", "usearch": "usearch", "usearch-f32": "usearch", "hnswlib": "hnswlib"}
    out = []
    for n in names:
        if n in need and importlib.util.find_spec(need[n]) is None:
            print(f"skip {n}: not installed", file=sys.stderr)
            continue
        out.append(made[n]())
    return out


def measure(backend, x: np.ndarray, queries: np.ndarray, truth: np.ndarray, k: int) -> dict:
    before = rss()
    t0 = time.perf_counter()
    backend.build(x)
    build_s = time.perf_counter() - t0
    mem = max(rss() - before, 0)
    for q in queries[:20]:
        backend.query(q, k)
    lat, hits = [], 0
    for q, t in zip(queries, truth):
        t1 = time.perf_counter()
        got = backend.query(q, k)
        lat.append(time.perf_counter() - t1)
        hits += len(set(np.asarray(got).tolist()) & set(t.tolist()))
    lat_ms = 1000 * np.asarray(lat)
    return {"backend": backend.name, "n": len(x), "build_s": round(build_s, 2),
            "index_mb": round(mem / 2**20, 1), "vectors_mb": round(x.nbytes / 2**20, 1),
            "p50_ms": round(float(np.percentile(lat_ms, 50)), 3),
            "p99_ms": round(float(np.percentile(lat_ms, 99)), 3),
            "recall@10": round(hits / (len(queries) * k), 4)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--dim", type=int, default=256)
    ap.add_argument("--clusters", type=int, default=2000, help="mixture components (0 = uniform noise)")
    ap.add_argument("--queries", type=int, default=500)
    ap.add_argument("--query-noise", type=float, default=0.5, help="norm of the noise added to a stored vector")
    ap.add_argument("--ef", type=int, default=128, help="HNSW search depth (efSearch)")
    ap.add_argument("--backends", default="numpy,faiss,usearch,hnswlib")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", default=None, help="also write the rows as JSON")
    args = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print(f"# {load}; dim {args.dim}, clusters {args.clusters}, {args.queries} queries, query noise "
          f"{args.query_noise}, efSearch {args.ef}, k=10")
    print("| backend | n | build s | index MB | vectors MB | p50 ms | p99 ms | recall@10 |")
    print("|---|---|---|---|---|---|---|---|")
    rows = []
    for n in [int(s) for s in args.sizes.split(",")]:
        x = synthetic(n, args.dim, args.clusters, args.seed)
        # Queries near stored items, like a query graph that has relatives in the dataset.
        rng = np.random.default_rng(args.seed + 1)
        queries = x[rng.integers(0, n, args.queries)] + args.query_noise * rng.standard_normal(
            (args.queries, args.dim), dtype=np.float32) / np.sqrt(args.dim)
        queries /= np.linalg.norm(queries, axis=1, keepdims=True)
        truth = exact_topk(x, queries, 10)
        for b in backends(args.backends.split(","), args.ef):
            r = measure(b, x, queries, truth, 10)
            rows.append(r)
            print(f"| {r['backend']} | {n:,} | {r['build_s']} | {r['index_mb']} | {r['vectors_mb']} | "
                  f"{r['p50_ms']} | {r['p99_ms']} | {r['recall@10']} |", flush=True)
            del b
            gc.collect()
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"load": load, "dim": args.dim, "clusters": args.clusters, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
