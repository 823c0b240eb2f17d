"""The one record that crosses rooms, `Graph`, and the pyarrow schemas of every table.

A `Graph` is the traced operator graph of one architecture: nodes are canonical ops (ids into the
frozen vocabulary of `nar_data.vocab`, plus the name itself so a later vocabulary can re-map without
re-tracing), edges run in data-flow direction. Arrays stay plain numpy / lists so that nar_model can
turn them into a PyG ``Data`` without importing anything from here but this module.

The ``models`` and ``failures`` rows are `ModelRow` and `FailureRow`, each built in one place (their
``from_ref`` / ``create``); the pyarrow schemas of ``graphs``, ``models`` and ``failures`` are derived from
the dataclass fields, the ``embeddings`` one is declared next to them. Every Parquet file carries
``SCHEMA_VERSION`` in its metadata, and `nar_data.parquet` refuses files of another version.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from .versions import versions_json

if TYPE_CHECKING:  # a ref is only read: the schema sits below the sources that make refs
    from .sources._base import ModelRef

#: Bump on any change of a field below, and add a CHANGELOG.md entry.
SCHEMA_VERSION = 2
#: Bump when the capture or normalisation changes what a traced graph looks like.
TRACER_VERSION = "2.2"
#: The oldest schema version of each table that this nar still reads: a table whose layout did not change at a
#: bump stays readable (version 2 added ``Graph.attrs``, so only ``graphs`` shards of version 1 need a re-trace).
READABLE_SINCE = {"models": 1, "graphs": 2, "failures": 1, "embeddings": 1}

TABLES = ("models", "graphs", "failures", "embeddings")


@dataclass(frozen=True, eq=False)
class Graph:
    """The traced operator graph of one architecture.

    Nodes are in a stable topological order (the order ops ran in). Node ``i`` has ``op[i]`` (vocab id),
    ``op_name[i]`` (canonical name such as ``conv2d``), output ``shape[i]`` and ``dtype[i]``, the
    ``module[i]`` that ran it (``layer1.0.conv1``), that module's own parameter count ``params[i]`` and
    ``attrs[i]``, the canonical compact JSON of the op's architecture-defining arguments (conv kernel / stride /
    padding / dilation / groups, linear in / out / bias, attention heads, norm kind, pooling window; ``""`` =
    none; docs/graph-attributes.md lists every key). Edge ``k`` is ``src[k] -> dst[k]``: the output of ``src``
    feeds ``dst``.
    """

    model_id: str  # "timm:resnet50", "transformers:BertModel", "hf:org/name"
    source: str  # registry name of the source that built it
    config_hash: str  # hash of the architecture-relevant config, known before tracing
    arch_id: str  # Weisfeiler-Lehman hash of (op, shape, attrs) over the graph; equal graphs, equal ids
    op: np.ndarray  # (N,) int32 vocab ids
    op_name: list[str]  # (N,) canonical op names
    shape: list[list[int]]  # (N,) output shape of each node (first tensor output)
    dtype: list[str]  # (N,) output dtype, e.g. "float32"
    module: list[str]  # (N,) qualified name of the innermost module running the op ("" = top)
    params: np.ndarray  # (N,) int64 parameter count of that module (non-recursive)
    src: np.ndarray  # (E,) int32
    dst: np.ndarray  # (E,) int32
    attrs: list[str] = dataclasses.field(default_factory=list)  # (N,) canonical JSON per node; [] = all ""
    num_params: int = 0  # parameters of the whole model
    flops: int = 0  # multiply-accumulates x2 of matmul-like ops, from shapes
    family: str = "unknown"  # architecture family label (resnet, bert, ...)
    coarse: str = "unknown"  # cnn | transformer | hybrid | rnn | mlp | ssm | other | unknown
    task: str = "unknown"  # head / pipeline task (image-classification, fill-mask, ...)
    revision: str = ""  # library version or Hub sha the config came from
    builder: str = ""  # how the module was built ("timm.create_model", ...)
    capture: str = ""  # capture method that produced the graph (dispatch | export | dispatch-cpu)
    input_spec: str = "{}"  # JSON: name -> [shape, dtype] of the example inputs
    versions: str = "{}"  # JSON: torch / timm / transformers / torchvision versions
    seconds: float = 0.0  # wall time of build + trace
    schema_version: int = SCHEMA_VERSION
    tracer_version: str = TRACER_VERSION
    vocab_version: int = 0

    def __post_init__(self) -> None:
        n, e = len(self.op), len(self.src)
        if not self.attrs and n:  # a hand-written graph: no node carries attributes
            object.__setattr__(self, "attrs", [""] * n)
        for name in ("op_name", "shape", "dtype", "module", "params", "attrs"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"Graph {self.model_id}: {name} has {len(getattr(self, name))} entries, op has {n}")
        if len(self.dst) != e:
            raise ValueError(f"Graph {self.model_id}: src has {e} entries, dst has {len(self.dst)}")
        if e and (int(max(self.src.max(), self.dst.max())) >= n or int(min(self.src.min(), self.dst.min())) < 0):
            raise ValueError(f"Graph {self.model_id}: edge endpoint out of range for {n} nodes")

    @property
    def num_nodes(self) -> int:
        return len(self.op)

    @property
    def num_edges(self) -> int:
        return len(self.src)

    @property
    def edge_index(self) -> np.ndarray:
        """(2, E) int64, PyG's layout."""
        return np.stack([self.src, self.dst]).astype(np.int64)

    def to_row(self) -> dict[str, Any]:
        row = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        for name in ("op", "params", "src", "dst"):
            row[name] = np.asarray(row[name])
        row["num_nodes"], row["num_edges"] = self.num_nodes, self.num_edges
        return row

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> "Graph":
        kwargs = {f.name: row[f.name] for f in dataclasses.fields(cls) if f.name in row}
        kwargs["op"] = np.asarray(row["op"], dtype=np.int32)
        kwargs["params"] = np.asarray(row["params"], dtype=np.int64)
        kwargs["src"] = np.asarray(row["src"], dtype=np.int32)
        kwargs["dst"] = np.asarray(row["dst"], dtype=np.int32)
        kwargs["shape"] = [list(s) for s in row["shape"]]
        kwargs["op_name"], kwargs["dtype"], kwargs["module"], kwargs["attrs"] = (
            list(row["op_name"]), list(row["dtype"]), list(row["module"]), list(row["attrs"]))
        return cls(**kwargs)

    def input_spec_dict(self) -> dict[str, Any]:
        return json.loads(self.input_spec)

    def replace(self, **changes: Any) -> "Graph":
        return dataclasses.replace(self, **changes)


# -- the other tables' rows -------------------------------------------------------------------------

#: Longest failure message kept: the first lines say what failed; an export dump adds pages, not facts.
MESSAGE_LIMIT = 2000


def utc_now() -> str:
    """The one clock of the tables (``updated_at``) and run records: ISO 8601 UTC to the second, ``...Z``."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def sortable_stamp() -> str:
    """UTC to the microsecond as ``20261203T074910123456``: shard and crawl-run names sort by it in time order.

    One clock reading: the seconds and the fraction taken from two readings could straddle a second (a
    process preempted between them), and a later shard would sort before an earlier one of the same second.
    """
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%f")


@dataclass
class ModelRow:
    """One row of the ``models`` table: a registry entry or Hub repo (a model, not an architecture).

    Build it with `from_ref`, the one place a models row is made (the tracing driver, the crawler and
    ``nar crawl --source torch_hub`` all call it).
    """

    model_id: str  # "timm:resnet50", "hf:google-bert/bert-base-uncased"
    source: str
    sha: str = ""  # Hub commit, or the library version for registries
    last_modified: str = ""
    library: str = ""  # timm | transformers | torchvision | sentence-transformers | ...
    pipeline_tag: str = ""
    tags: list[str] = field(default_factory=list)
    base_model: str = ""
    downloads: int = 0
    likes: int = 0
    config_hash: str = ""
    arch_id: str = ""  # empty until traced (or if it failed)
    task: str = ""
    family: str = ""
    coarse: str = ""
    status: str = "ok"  # ok | failed | pending (crawled, not traced yet); the latest row per model wins
    tracer_version: str = ""  # the tracer that wrote the row; empty for rows written before any trace
    updated_at: str = field(default_factory=utc_now)  # when the row was written (`utc_now`)

    @classmethod
    def from_ref(cls, ref: ModelRef, *, arch_id: str = "", status: str = "ok", labels: dict[str, str] | None = None,
                 tracer_version: str = TRACER_VERSION) -> "ModelRow":
        """The row of ``ref``: Hub fields (``last_modified``, ``pipeline_tag``, ``tags``, ``base_model``,
        ``downloads``, ``likes``) come from ``ref.meta``; ``labels`` gives family, coarse and task."""
        meta, labels = ref.meta, labels or {}
        return cls(model_id=ref.model_id, source=ref.source, sha=ref.revision, library=ref.library,
                   last_modified=str(meta.get("last_modified") or ""), pipeline_tag=str(meta.get("pipeline_tag") or ""),
                   tags=list(meta.get("tags") or []), base_model=str(meta.get("base_model") or ""),
                   downloads=int(meta.get("downloads") or 0), likes=int(meta.get("likes") or 0),
                   config_hash=ref.config_hash, arch_id=arch_id, task=labels.get("task", ref.task or ""),
                   family=labels.get("family", ""), coarse=labels.get("coarse", ""), status=status,
                   tracer_version=tracer_version)

    def to_row(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class FailureRow:
    """One row of the ``failures`` table: a model that failed at a stage (never a crash of the run).

    Build it with `create`, the one place a failure row is made (message cut at `MESSAGE_LIMIT`, the
    installed library versions recorded).
    """

    model_id: str
    source: str
    config_hash: str = ""
    stage: str = ""  # list | fetch | build | inputs | trace | worker
    error_class: str = ""  # exception class name, e.g. WorkerTimeout, RemoteCodeError
    message: str = ""
    versions: str = "{}"  # JSON: the library versions of `nar_data.versions`
    tracer_version: str = ""  # the tracer that failed; empty for failures before tracing (crawl, fetch)
    seconds: float = 0.0
    updated_at: str = field(default_factory=utc_now)

    @classmethod
    def create(cls, model_id: str, source: str, config_hash: str, stage: str, error_class: str, message: str, *,
               seconds: float = 0.0, tracer_version: str = TRACER_VERSION) -> "FailureRow":
        return cls(model_id=model_id, source=source, config_hash=config_hash, stage=stage, error_class=error_class,
                   message=message[:MESSAGE_LIMIT], versions=versions_json(), tracer_version=tracer_version,
                   seconds=float(seconds))

    def to_row(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# -- pyarrow schemas --------------------------------------------------------------------------------

_ARROW_TYPES: dict[str, pa.DataType] = {
    "op": pa.list_(pa.int32()),
    "op_name": pa.list_(pa.string()),
    "shape": pa.list_(pa.list_(pa.int64())),
    "dtype": pa.list_(pa.string()),
    "module": pa.list_(pa.string()),
    "params": pa.list_(pa.int64()),
    "attrs": pa.list_(pa.string()),
    "src": pa.list_(pa.int32()),
    "dst": pa.list_(pa.int32()),
    "num_params": pa.int64(),
    "flops": pa.int64(),
    "seconds": pa.float64(),
    "schema_version": pa.int32(),
    "vocab_version": pa.int32(),
}


def _graphs_schema() -> pa.Schema:
    fields = [pa.field(f.name, _ARROW_TYPES.get(f.name, pa.string())) for f in dataclasses.fields(Graph)]
    fields += [pa.field("num_nodes", pa.int64()), pa.field("num_edges", pa.int64())]
    return pa.schema(fields)


GRAPHS_SCHEMA = _graphs_schema()

def _row_schema(cls: type, types: dict[str, pa.DataType]) -> pa.Schema:
    """The Arrow schema of a row dataclass: its fields in order, strings unless ``types`` says otherwise."""
    return pa.schema([pa.field(f.name, types.get(f.name, pa.string())) for f in dataclasses.fields(cls)])


#: One row per crawled repo or registry entry (a model, not an architecture): `ModelRow`.
MODELS_SCHEMA = _row_schema(ModelRow, {"tags": pa.list_(pa.string()), "downloads": pa.int64(), "likes": pa.int64()})
#: One row per model that failed at a stage: `FailureRow`.
FAILURES_SCHEMA = _row_schema(FailureRow, {"seconds": pa.float64()})

#: One row per (architecture, encoder version).
EMBEDDINGS_SCHEMA = pa.schema([
    ("arch_id", pa.string()),
    ("encoder_version", pa.string()),
    ("vector", pa.list_(pa.float32())),
])

SCHEMAS: dict[str, pa.Schema] = {
    "models": MODELS_SCHEMA,
    "graphs": GRAPHS_SCHEMA,
    "failures": FAILURES_SCHEMA,
    "embeddings": EMBEDDINGS_SCHEMA,
}

#: Key of the JSON blob every nar Parquet file carries in its schema metadata.
METADATA_KEY = b"nar"


def empty_row(table: str) -> dict[str, Any]:
    """A row of ``table`` with every column at its neutral value (for filling partial rows)."""
    row: dict[str, Any] = {}
    for f in SCHEMAS[table]:
        if pa.types.is_list(f.type):
            row[f.name] = []
        elif pa.types.is_integer(f.type) or pa.types.is_floating(f.type):
            row[f.name] = 0
        else:
            row[f.name] = ""
    return row
