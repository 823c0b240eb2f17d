"""nar_data: model sources -> weight-free build on meta -> traced `Graph` -> sharded Parquet.

Importing this package is cheap: torch, timm and transformers load only when a source builds. The package
exports only the foundation (schema, errors, Parquet I/O); the layers above are imported by name
(`nar_data.sources`, `nar_data.tracing`, `nar_data.dataset`, `nar_data.hub`); see docs/architecture.md.
"""

from .errors import NarDataError, SchemaError, TraceError
from .parquet import TableWriter, iter_graphs, read_graphs, read_table, write_shard
from .schema import SCHEMA_VERSION, TRACER_VERSION, Graph

__all__ = [
    "SCHEMA_VERSION", "TRACER_VERSION", "Graph", "NarDataError", "SchemaError", "TableWriter", "TraceError",
    "iter_graphs", "read_graphs", "read_table", "write_shard",
]
