"""`Graph` -> node features and PyG ``Data``; the deduplicated graph set of a dataset folder.

Node features are split in three so every encoder can embed them the same way:

* ``op``   (N,) long: the op's id in the frozen vocabulary (`nar_data.vocab`; 0 = unknown),
* ``oph``  (N,) long: a stable hash bucket of the canonical op *name*, so two ops the vocabulary does
  not know yet are still told apart (the vocabulary can lag behind the tracer),
* ``xn``   (N, NUM_FEATURES) float: shape-derived attributes (rank one-hot, log sizes of the last
  and channel dims, log numel), log parameters of the owning module, log in/out degree and the
  node's relative position in the topological order,
* ``xa``   (N, NUM_ATTR_FEATURES) float: the op's attributes (`Graph.attrs`), one column each, named in
  `ATTR_FEATURES` (log kernel / stride / padding / dilation / groups, depthwise, log in / out features, bias,
  transposed, log heads / head dim / kv heads, causal, mask, norm kind one-hot, norm groups, affine, log
  adaptive-pool output); 0 where the op has no such attribute.

`to_data` also gives PyG's usual ``x`` (N, NUM_NODE_FEATURES) float = [op one-hot over the vocabulary | xn |
xa], so any PyG layer runs on it (``GCNConv(d.num_node_features, 8)(d.x, d.edge_index)``). Edges carry
nothing but their direction, so there is no ``edge_attr``. Edges are kept in data-flow direction in
``edge_index``; encoders add the reverse direction.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import zlib
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np

from nar_data import vocab
from nar_data.parquet import read_graphs
from nar_data.schema import Graph

if TYPE_CHECKING:
    from torch_geometric.data import Data

__all__ = ["ATTR_FEATURES", "HASH_BUCKETS", "NUM_ATTR_FEATURES", "NUM_FEATURES", "GraphSet", "attr_features",
           "node_features", "num_node_features", "op_hash", "to_data", "load_graphs"]

#: Buckets of the op-name hash (a second, vocabulary-free op identity).
HASH_BUCKETS = 512
MAX_RANK = 5
NUM_FEATURES = (MAX_RANK + 2) + 8
#: Columns of ``xa``, in order (see the module docstring; ``log`` = log2(1 + value) scaled to about [0, 1]).
ATTR_FEATURES = (
    "kernel", "kernel_area", "stride", "padding", "dilation", "groups", "depthwise", "in", "out", "bias",
    "transposed", "heads", "head_dim", "kv_heads", "causal", "mask", "norm_layer", "norm_batch", "norm_group",
    "norm_rms", "norm_instance", "norm_groups", "affine", "pool_output",
)
NUM_ATTR_FEATURES = len(ATTR_FEATURES)
_COL = {name: i for i, name in enumerate(ATTR_FEATURES)}
_NORMS = ("layer", "batch", "group", "rms", "instance")


@lru_cache(maxsize=65536)
def op_hash(name: str) -> int:
    """Stable bucket of an op name in ``[1, HASH_BUCKETS)`` (0 is left for padding)."""
    return 1 + zlib.crc32(name.encode()) % (HASH_BUCKETS - 1)


@lru_cache(maxsize=65536)
def _op_id(name: str) -> int:
    return vocab.op_id(vocab.canonical(name)) if name else 0


def node_features(graph: Graph) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(op, oph, xn)`` arrays of one graph (see the module docstring)."""
    n = graph.num_nodes
    op = np.fromiter((_op_id(o) for o in graph.op_name), dtype=np.int64, count=n)
    oph = np.fromiter((op_hash(o) for o in graph.op_name), dtype=np.int64, count=n)
    xn = np.zeros((n, NUM_FEATURES), dtype=np.float32)
    indeg = np.bincount(np.asarray(graph.dst, dtype=np.int64), minlength=n)
    outdeg = np.bincount(np.asarray(graph.src, dtype=np.int64), minlength=n)
    params = np.asarray(graph.params, dtype=np.float64)
    lens = np.fromiter((len(s) for s in graph.shape), dtype=np.int64, count=n)
    flat = np.fromiter(itertools.chain.from_iterable(graph.shape), dtype=np.float64, count=int(lens.sum()))
    flat = np.maximum(flat, 1.0)
    xn[np.arange(n), np.minimum(lens, MAX_RANK + 1)] = 1.0
    has = lens > 0
    start = np.cumsum(lens) - lens
    last = np.where(has, flat[np.maximum(start + lens - 1, 0)] if len(flat) else 1.0, 1.0)
    chan = np.where(lens > 1, flat[np.minimum(start + 1, max(len(flat) - 1, 0))] if len(flat) else 1.0, last)
    second_last = np.where(lens > 1, flat[np.maximum(start + lens - 2, 0)] if len(flat) else 1.0, 1.0)
    logflat = np.log2(flat)
    numel = np.zeros(n)
    if len(flat):
        numel[has] = np.add.reduceat(logflat, start[has])  # log2 numel = sum of log2 dims
    xn[:, MAX_RANK + 2] = np.where(has, np.log2(1.0 + last) / 16, 0.0)
    xn[:, MAX_RANK + 3] = np.where(has, np.log2(1.0 + chan) / 16, 0.0)
    xn[:, MAX_RANK + 4] = np.where(has, np.log2(1.0 + 2.0 ** numel) / 32, 0.0)
    xn[:, MAX_RANK + 5] = np.where(has, np.log2(1.0 + second_last) / 16, 0.0)
    base = MAX_RANK + 6
    xn[:, base] = np.log2(1.0 + params) / 24.0
    xn[:, base + 1] = np.log2(1.0 + indeg) / 4.0
    xn[:, base + 2] = np.log2(1.0 + outdeg) / 4.0
    xn[:, base + 3] = np.arange(n, dtype=np.float32) / max(n - 1, 1)
    return op, oph, xn


def _log(v: float, scale: float) -> float:
    return math.log2(1.0 + max(float(v), 0.0)) / scale


@lru_cache(maxsize=65536)
def _attr_row(attrs: str) -> tuple[float, ...]:
    """The ``xa`` row of one node's attribute JSON (many nodes share a string: parsed once)."""
    row = [0.0] * NUM_ATTR_FEATURES
    if not attrs:
        return tuple(row)
    a = json.loads(attrs)

    def put(name: str, value: float) -> None:
        row[_COL[name]] = value

    if "kernel" in a:
        put("kernel", _log(max(a["kernel"], default=0), 4))
        put("kernel_area", _log(math.prod(a["kernel"]), 8))
        put("stride", _log(max(a.get("stride") or [1]), 3))
        padding = a.get("padding")
        put("padding", _log(max(padding, default=0) if isinstance(padding, list) else 1, 4))
        put("dilation", _log(max(a.get("dilation") or [1]), 4))
    if "groups" in a and "norm" not in a:
        put("groups", _log(a["groups"], 10))
        put("depthwise", float(a["groups"] > 1 and a["groups"] == a.get("in")))
    for key in ("in", "out"):
        if key in a:
            put(key, _log(a[key], 16))
    for key in ("bias", "transposed", "causal", "mask", "affine"):
        if key in a:
            put(key, float(bool(a[key])))
    for key, scale in (("heads", 7), ("head_dim", 9), ("kv_heads", 7)):
        if key in a:
            put(key, _log(a[key], scale))
    if a.get("norm") in _NORMS:
        put(f"norm_{a['norm']}", 1.0)
        if "groups" in a:
            put("norm_groups", _log(a["groups"], 7))
    if "output" in a:
        put("pool_output", _log(math.prod(a["output"]), 8))
    return tuple(row)


def attr_features(graph: Graph) -> np.ndarray:
    """``xa`` (N, NUM_ATTR_FEATURES) float32 of one graph: its node attributes as numbers (`ATTR_FEATURES`)."""
    attrs = graph.attrs or [""] * graph.num_nodes
    if not any(attrs):
        return np.zeros((graph.num_nodes, NUM_ATTR_FEATURES), dtype=np.float32)
    return np.asarray([_attr_row(a) for a in attrs], dtype=np.float32).reshape(graph.num_nodes, NUM_ATTR_FEATURES)


def num_node_features() -> int:
    """Width of ``Data.x``: op one-hot over the vocabulary, then ``xn``, then ``xa``."""
    return vocab.vocab_size() + NUM_FEATURES + NUM_ATTR_FEATURES


def to_data(graph: Graph, x: bool = True, **extra: Any) -> "Data":
    """A PyG ``Data`` with ``x``, ``op``, ``oph``, ``xn``, ``xa``, ``edge_index`` (data-flow direction), ``extra``.

    Args:
        graph: the graph to convert.
        x: also build PyG's dense ``x`` (N, `num_node_features`): [op one-hot | xn | xa]. Encoders that embed
            ``op``/``oph`` themselves pass False to save its memory (about 1 KB a node).
        extra: more attributes set on the ``Data`` (labels, ids).
    """
    import torch
    from torch_geometric.data import Data

    op, oph, xn = node_features(graph)
    xa = attr_features(graph)
    data = Data(op=torch.from_numpy(op), oph=torch.from_numpy(oph), xn=torch.from_numpy(xn),
                xa=torch.from_numpy(xa), edge_index=torch.from_numpy(graph.edge_index), num_nodes=graph.num_nodes)
    if x:
        size = vocab.vocab_size()
        onehot = np.zeros((graph.num_nodes, size), dtype=np.float32)
        onehot[np.arange(graph.num_nodes), np.minimum(op, size - 1)] = 1.0  # id 0 = an op the vocabulary lacks
        data.x = torch.from_numpy(np.concatenate([onehot, xn, xa], axis=1))
    for key, value in extra.items():
        setattr(data, key, value)
    return data


@dataclass
class GraphSet:
    """Unique architectures of a dataset, with their labels in parallel lists.

    ``graphs[i]`` has ``arch_ids[i]``, ``families[i]`` and ``coarse[i]``; order is the table order
    (shards sorted by name), so the same folder always gives the same set.
    """

    graphs: list[Graph]

    @property
    def arch_ids(self) -> list[str]:
        return [g.arch_id for g in self.graphs]

    @property
    def families(self) -> list[str]:
        return [g.family for g in self.graphs]

    @property
    def coarse(self) -> list[str]:
        return [g.coarse for g in self.graphs]

    def __len__(self) -> int:
        return len(self.graphs)

    def subset(self, index: "list[int] | np.ndarray") -> "GraphSet":
        return GraphSet([self.graphs[int(i)] for i in index])


def load_graphs(root: str | os.PathLike, max_nodes: int | None = None) -> GraphSet:
    """The ``graphs`` table of ``root`` deduplicated by ``arch_id`` (first row wins).

    Args:
        root: dataset folder (``root/graphs/*.parquet``).
        max_nodes: drop graphs larger than this (None keeps all).

    Raises:
        FileNotFoundError: when ``root`` has no ``graphs`` table.
    """
    graphs = read_graphs(root, unique=True)
    if not graphs:
        raise FileNotFoundError(f"No graphs under {root}/graphs; run `nar trace --data {root}` first")
    if max_nodes:
        graphs = [g for g in graphs if g.num_nodes <= max_nodes]
    return GraphSet(graphs)
