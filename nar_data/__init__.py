"""nar_data: model sources -> weight-free build on meta -> traced `Graph` -> sharded Parquet.

Importing this package is cheap: torch, timm and transformers load only when a source builds.
"""

from .errors import NarDataError, SchemaError, TraceError
from .parquet import TableWriter, iter_graphs, read_graphs, read_table, write_shard
from .schema import SCHEMA_VERSION, TRACER_VERSION, Graph
from .sources import ModelRef, get_source, list_sources, register_source

__all__ = [
    "SCHEMA_VERSION", "TRACER_VERSION", "Graph", "ModelRef", "NarDataError", "SchemaError", "TableWriter",
    "TraceError", "get_source", "iter_graphs", "list_sources", "read_graphs", "read_table", "register_source",
    "write_shard",
]
