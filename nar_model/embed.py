"""Embed a dataset's graphs with a checkpoint and read/write the ``embeddings`` table."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from nar_data.parquet import read_table, write_shard
from nar_data.schema import Graph

from .encoders import Encoder

__all__ = ["embedding_rows", "read_embeddings", "write_embeddings"]


def embedding_rows(encoder: Encoder, version: str, graphs: Sequence[Graph], batch_size: int = 64) -> list[dict]:
    """One ``{"arch_id", "encoder_version", "vector"}`` row per graph."""
    vectors = encoder.embed(list(graphs), batch_size=batch_size)
    return [{"arch_id": g.arch_id, "encoder_version": version, "vector": v.astype(np.float32)}
            for g, v in zip(graphs, vectors)]


def write_embeddings(root: str | os.PathLike, rows: list[dict]) -> None:
    """Append the rows as one shard of ``root/embeddings``."""
    write_shard(root, "embeddings", rows)


def read_embeddings(root: str | os.PathLike, version: str) -> tuple[list[str], np.ndarray]:
    """``(arch_ids, (N, D) vectors)`` of ``version`` (latest row wins per arch_id); empty if none."""
    table = read_table(root, "embeddings")
    ids: dict[str, int] = {}
    vecs: list[np.ndarray] = []
    for aid, ver, vec in zip(table.column("arch_id").to_pylist(), table.column("encoder_version").to_pylist(),
                             table.column("vector").to_pylist()):
        if ver != version:
            continue
        if aid in ids:
            vecs[ids[aid]] = np.asarray(vec, dtype=np.float32)
        else:
            ids[aid] = len(vecs)
            vecs.append(np.asarray(vec, dtype=np.float32))
    return list(ids), (np.stack(vecs) if vecs else np.zeros((0, 0), dtype=np.float32))
