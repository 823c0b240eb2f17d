"""Publish a dataset folder as a Hugging Face dataset repo: the card, the layout, and the upload.

The folder written by `nar trace` / `nar build` already has the Hub layout (one folder of Parquet
shards per table). Publishing adds a ``README.md`` card whose YAML front matter declares one
``configs:`` entry per table, with plain relative paths, so that both of these work::

    datasets.load_dataset("data/nar", "graphs")                  # the local folder
    datasets.load_dataset("org/nar-architectures", "embeddings")  # the uploaded repo

``embeddings`` is the current encoder version; each older version still present in the folder is a
config ``embeddings-<version>`` until it is replaced. Uploads are incremental: one commit holding
only the shard files the repo does not have yet (shards are immutable, so a name on the Hub means the
same bytes) plus the new card, then one tag per release. A killed upload leaves the repo at its
previous commit; re-running sends the same missing files again, so nothing is duplicated or lost.

No Prefect here (the flows call these functions); `huggingface_hub` is imported only to upload.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import yaml

from .parquet import read_table, shard_paths
from .schema import SCHEMA_VERSION, SCHEMAS, TRACER_VERSION
from . import vocab

__all__ = ["CARD_FILE", "PublishResult", "card_configs", "dataset_files", "publish_to_hub", "render_card",
           "write_card"]

CARD_FILE = "README.md"
#: The tables a card declares, in the order the card lists them (``embeddings`` is split per version).
TABLES = ("models", "graphs", "embeddings", "failures")


def _rel(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


def embedding_versions(root: str | os.PathLike) -> dict[str, list[str]]:
    """``{encoder_version: [relative shard paths]}``, oldest version first (by first shard written)."""
    root = Path(root)
    out: dict[str, list[str]] = defaultdict(list)
    for path in shard_paths(root, "embeddings"):
        versions = pq.read_table(path, columns=["encoder_version"]).column("encoder_version").unique().to_pylist()
        for v in versions:
            out[v].append(_rel(root, path))
    return dict(out)


def card_configs(root: str | os.PathLike, current_encoder: str | None = None) -> list[dict[str, Any]]:
    """The ``configs:`` list of the card: one per table that has shards.

    ``current_encoder``: the encoder version published as ``embeddings`` (default: the newest one);
    the others become ``embeddings-<version>``.
    """
    root = Path(root)
    configs: list[dict[str, Any]] = []
    for table in TABLES:
        if table == "embeddings":
            versions = embedding_versions(root)
            if not versions:
                continue
            current = current_encoder if current_encoder in versions else list(versions)[-1]
            configs.append({"config_name": "embeddings", "data_files": [{"split": "train", "path": versions[current]}]})
            for v, files in versions.items():
                if v != current:
                    configs.append({"config_name": f"embeddings-{v}", "data_files": [{"split": "train", "path": files}]})
        elif shard_paths(root, table):
            configs.append({"config_name": table, "data_files": [{"split": "train", "path": f"{table}/*.parquet"}]})
    if configs:
        configs[0]["default"] = True
    return configs


def dataset_files(root: str | os.PathLike) -> list[str]:
    """Relative paths of every shard of the dataset (what an upload may send, besides the card)."""
    root = Path(root)
    return [_rel(root, p) for t in TABLES for p in shard_paths(root, t)]


def _counts(root: Path) -> dict[str, int]:
    counts = {t: sum(pq.ParquetFile(p).metadata.num_rows for p in shard_paths(root, t)) for t in TABLES}
    if counts["graphs"]:
        counts["unique arch_ids"] = len(set(read_table(root, "graphs", ["arch_id"]).column("arch_id").to_pylist()))
    if counts["models"]:
        ids = read_table(root, "models", ["model_id"]).column("model_id").to_pylist()
        counts["unique model ids"] = len(set(ids))
    return counts


def render_card(root: str | os.PathLike, *, pretty_name: str = "nar: neural architecture graphs",
                license: str = "apache-2.0", current_encoder: str | None = None, metrics_markdown: str = "",
                built_with: str = "", extra: dict[str, Any] | None = None) -> str:
    """The ``README.md`` text of the dataset at ``root`` (YAML front matter + a readable body)."""
    root = Path(root)
    configs = card_configs(root, current_encoder)
    versions = embedding_versions(root)
    current = current_encoder if current_encoder in versions else (list(versions)[-1] if versions else None)
    meta = {"pretty_name": pretty_name, "license": license, "tags": ["neural-architecture-retrieval", "graphs",
            "pytorch", "architecture-search"], "task_categories": ["graph-ml"], "configs": configs}
    counts = _counts(root)
    lines = ["---", yaml.safe_dump(meta, sort_keys=False).rstrip(), "---", "", f"# {pretty_name}", "",
             "Operator graphs of neural network architectures, built from their configs alone (no weights) "
             "and traced on the meta device, with embeddings from a Neural Architecture Retrieval encoder.", "",
             "```python", "from datasets import load_dataset", "",
             'graphs = load_dataset("<this repo or folder>", "graphs", split="train")', "```", "",
             "## Contents", "", "| config | rows |", "|---|---|"]
    for name, n in counts.items():
        lines.append(f"| {name} | {n} |")
    lines += ["", "## Versions", "", "| what | version |", "|---|---|",
              f"| schema | {SCHEMA_VERSION} |", f"| tracer | {TRACER_VERSION} |", f"| op vocabulary | {vocab.VOCAB_VERSION} |",
              f"| encoder (`embeddings`) | {current or '-'} |"]
    for v in versions:
        if v != current:
            lines.append(f"| older encoder (`embeddings-{v}`) | {v} |")
    lines += ["", "## Schema", ""]
    for table in TABLES:
        cols = ", ".join(f"`{f.name}` ({f.type})" for f in SCHEMAS[table])
        lines.append(f"- **{table}**: {cols}")
    lines += ["", "## How it was built", "", built_with or "With `nar build` (see the nar repository): crawl -> "
              "trace -> train -> embed -> publish, refreshed incrementally by `nar refresh`.", ""]
    if metrics_markdown:
        lines += ["## Retrieval metrics", "", metrics_markdown.strip(), ""]
    if extra:
        lines += ["## Run", "", "```json", json.dumps(extra, indent=1, default=str), "```", ""]
    return "\n".join(lines)


def write_card(root: str | os.PathLike, **kwargs: Any) -> Path:
    """Render the card (see `render_card`) and write ``root/README.md`` atomically."""
    path = Path(root) / CARD_FILE
    tmp = path.with_suffix(".md.tmp")
    tmp.write_text(render_card(root, **kwargs))
    os.replace(tmp, path)
    return path


@dataclass
class PublishResult:
    """What one `publish_to_hub` call sent."""

    repo_id: str
    uploaded: list[str] = field(default_factory=list)  # relative paths of the new shard files sent
    skipped: int = 0  # shard files already on the Hub
    commit: str | None = None  # commit sha, None when there was nothing new
    tag: str | None = None


def publish_to_hub(root: str | os.PathLike, repo_id: str, *, endpoint: str | None = None, token: str | None = None,
                   tag: str | None = None, private: bool = False, api: Any = None) -> PublishResult:
    """Upload the shards of ``root`` the dataset repo ``repo_id`` lacks, plus the card, in one commit.

    Args:
        endpoint: Hub URL (default: ``$HF_ENDPOINT`` or huggingface.co).
        tag: release tag to put on the commit (default: ``r<UTC timestamp>``); ``""`` for none.
        api: an ``HfApi`` to use (tests); built from ``endpoint`` / ``token`` otherwise.

    Returns:
        a `PublishResult`; ``commit`` is ``None`` when the repo already had every file and the same card.
    """
    from huggingface_hub import CommitOperationAdd, HfApi

    root = Path(root)
    if not (root / CARD_FILE).is_file():
        write_card(root)
    api = api or HfApi(endpoint=endpoint, token=token)
    api.create_repo(repo_id, repo_type="dataset", exist_ok=True, private=private)
    remote = set(api.list_repo_files(repo_id, repo_type="dataset"))
    local = dataset_files(root)
    new = [p for p in local if p not in remote]
    result = PublishResult(repo_id=repo_id, uploaded=new, skipped=len(local) - len(new))
    ops = [CommitOperationAdd(path_in_repo=p, path_or_fileobj=str(root / p)) for p in new]
    card = (root / CARD_FILE).read_bytes()
    if new or CARD_FILE not in remote or _remote_bytes(api, repo_id, CARD_FILE) != card:
        ops.append(CommitOperationAdd(path_in_repo=CARD_FILE, path_or_fileobj=card))
    if not ops:
        return result
    info = api.create_commit(repo_id, operations=ops, repo_type="dataset",
                             commit_message=f"nar: {len(new)} new shard files")
    result.commit = info.oid
    tag = f"r{datetime.now(timezone.utc).strftime('%Y%m%dT%H%M%SZ')}" if tag is None else tag
    if tag:
        api.create_tag(repo_id, tag=tag, revision=info.oid, repo_type="dataset", exist_ok=True)
        result.tag = tag
    return result


def _remote_bytes(api: Any, repo_id: str, path: str) -> bytes | None:
    from huggingface_hub import hf_hub_download

    try:
        local = hf_hub_download(repo_id, path, repo_type="dataset", endpoint=api.endpoint, token=api.token)
    except Exception:  # noqa: BLE001 - an unreadable remote card is replaced
        return None
    return Path(local).read_bytes()
