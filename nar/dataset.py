"""`DatasetView`: what a search needs to know about a dataset folder, read column by column without torch.

Ids and labels come from the narrow columns of ``graphs`` (one row per traced architecture) and ``models``
(one row per model, many of which share a graph); a full `Graph` is decoded only for the rows a query or
an explanation asks for.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from nar_data.schema import Graph

__all__ = ["ArchLabels", "DatasetView", "default_data_dir"]

_LABEL_COLUMNS = ["model_id", "arch_id", "family", "task", "num_params", "flops", "num_nodes"]


def default_data_dir() -> Path:
    """``$NAR_DATA_DIR``, else ``data/nar`` (where ``make run`` writes), read at call time."""
    return Path(os.environ.get("NAR_DATA_DIR") or "data/nar")


@dataclass(frozen=True)
class ArchLabels:
    """Labels of one architecture: the first graph row with its arch_id."""

    model_id: str
    family: str
    task: str
    num_params: int
    flops: int
    num_nodes: int


class DatasetView:
    """The id tables of one dataset folder, loaded on first use.

    Raises:
        FileNotFoundError: the folder has no ``graphs`` table (the message says how to build one).
    """

    def __init__(self, data: str | os.PathLike | None = None) -> None:
        from nar_data.parquet import shard_paths

        self.data = Path(data) if data is not None else default_data_dir()
        if not shard_paths(self.data, "graphs"):
            raise FileNotFoundError(f"no dataset at {self.data} (no graphs/*.parquet); build one with `make run` "
                                    "or `nar build`, or point --data / NAR_DATA_DIR at a dataset folder")

    @cached_property
    def _graph_rows(self) -> dict[str, list]:
        from nar_data.parquet import read_table

        return read_table(self.data, "graphs", _LABEL_COLUMNS).to_pydict()

    @cached_property
    def labels(self) -> dict[str, ArchLabels]:
        """arch_id -> labels of its first graph row."""
        rows = self._graph_rows
        out: dict[str, ArchLabels] = {}
        for i, aid in enumerate(rows["arch_id"]):
            if aid not in out:
                out[aid] = ArchLabels(rows["model_id"][i], rows["family"][i], rows["task"][i],
                                      int(rows["num_params"][i] or 0), int(rows["flops"][i] or 0),
                                      int(rows["num_nodes"][i] or 0))
        return out

    @cached_property
    def arch_of(self) -> dict[str, str]:
        """model_id -> arch_id, for every graph row and every traced model (``models`` rows with status ok)."""
        from nar_data.parquet import read_table

        out = dict(zip(self._graph_rows["model_id"], self._graph_rows["arch_id"]))
        models = read_table(self.data, "models", ["model_id", "arch_id", "status"]).to_pydict()
        for mid, aid, status in zip(models["model_id"], models["arch_id"], models["status"]):
            if aid and status == "ok":
                out.setdefault(mid, aid)
        return out

    @cached_property
    def models_of(self) -> dict[str, list[str]]:
        """arch_id -> every model id with that graph, graph rows first."""
        out: dict[str, list[str]] = {}
        for mid, aid in self.arch_of.items():
            out.setdefault(aid, []).append(mid)
        return out

    @cached_property
    def _by_name(self) -> dict[str, list[str]]:
        """Lower-cased name part of every model id (``torchvision:resnet50`` -> ``resnet50``) -> model ids."""
        out: dict[str, list[str]] = {}
        for mid in self.arch_of:
            out.setdefault(mid.split(":", 1)[-1].lower(), []).append(mid)
        return out

    def models_named(self, name: str) -> list[str]:
        """Model ids whose name (after the source prefix) is ``name``, case-insensitive."""
        return list(self._by_name.get(name.lower(), []))

    def graph(self, arch_id: str) -> Graph | None:
        """The full `Graph` of ``arch_id`` (decodes one row), or None."""
        return self.graphs([arch_id]).get(arch_id)

    def graphs(self, arch_ids: Iterable[str]) -> dict[str, Graph]:
        """The full `Graph` of each of ``arch_ids`` the dataset has (each shard read once, only those rows)."""
        from nar_data.parquet import read_shard, shard_paths

        wanted, out = set(arch_ids), {}
        for path in shard_paths(self.data, "graphs"):
            if not wanted:
                break
            ids = read_shard(path, "graphs", ["arch_id"]).column("arch_id").to_pylist()
            rows = [i for i, aid in enumerate(ids) if aid in wanted and aid not in out]
            if rows:
                table = read_shard(path, "graphs")
                for i in rows:  # slice, not take: pyarrow.compute's take imports pandas (seconds)
                    row = table.slice(i, 1).to_pylist()[0]
                    out.setdefault(row["arch_id"], Graph.from_row(row))
            wanted -= set(out)
        return out

    def __len__(self) -> int:
        return len(self.labels)
