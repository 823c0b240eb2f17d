"""The ``torch_hub`` source: allow-listed PyTorch Hub entrypoints, built with no weights on the meta device.

``nar_data/catalog/torch_hub.yaml`` lists the repos and entrypoints (see its header). Listing reads only that
file (no network, no code); building calls ``torch.hub.load(repo, entry, source=..., <pretrained>=False)``
under ``torch.device("meta")``. Loading a hubconf runs the repo's code, so ``runs_remote_code`` is set and
the tracing pool builds these refs only in its isolated workers. ``source: local`` entries load a folder
with a ``hubconf.py`` (the offline test fixture ``tests/fixtures/hub_torchhub``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from ..catalog import catalog_file
from ..errors import BuildError, SchemaError
from ..fingerprint import config_hash
from . import Built, ModelRef, Source, register_source

__all__ = ["TorchHubSource", "load_catalog", "DEFAULT_CATALOG"]

DEFAULT_CATALOG = catalog_file("torch_hub.yaml")


def load_catalog(path: str | os.PathLike | None = None) -> list[dict[str, Any]]:
    """The allow-list entries, validated: every repo needs ``repo`` and a list of ``entrypoints``."""
    path = Path(path or os.environ.get("NAR_TORCH_HUB_CATALOG") or DEFAULT_CATALOG)
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as e:
        raise SchemaError(f"PyTorch Hub allow-list {path} cannot be read: {e}") from None
    repos = (data or {}).get("repos")
    if not isinstance(repos, list):
        raise SchemaError(f"{path}: expected a top-level 'repos' list")
    for i, entry in enumerate(repos):
        if not isinstance(entry, dict) or not isinstance(entry.get("repo"), str) \
                or not isinstance(entry.get("entrypoints"), list):
            raise SchemaError(f"{path}: repos[{i}] needs 'repo' (owner/name:ref) and an 'entrypoints' list")
        if entry.get("source", "github") not in ("github", "local"):
            raise SchemaError(f"{path}: repos[{i}].source must be 'github' or 'local'")
        if entry.get("source") == "local":  # a relative folder is relative to the allow-list naming it
            entry["local_path"] = str((path.parent / entry["repo"]).resolve())
    return repos


@register_source("torch_hub")
class TorchHubSource(Source):
    """Allow-listed PyTorch Hub entrypoints (``catalog``: another allow-list file)."""

    runs_remote_code = True

    def __init__(self, catalog: str | os.PathLike | None = None) -> None:
        self.catalog = catalog

    def iter_refs(self, limit: int | None = None, repos: list[str] | None = None, **_: Any) -> Iterator[ModelRef]:
        n = 0
        for entry in load_catalog(self.catalog):
            if repos and entry["repo"] not in repos:
                continue
            for name in entry["entrypoints"]:
                if limit is not None and n >= limit:
                    return
                config = {"repo": entry["repo"], "source": entry.get("source", "github"), "entrypoint": name,
                          "pretrained_kwarg": entry.get("pretrained_kwarg", "pretrained"),
                          "kwargs": dict(entry.get("kwargs") or {}), "input": list(entry.get("input") or [1, 3, 224, 224])}
                n += 1
                yield ModelRef(source="torch_hub", name=f"{entry['repo']}#{name}", library="torch_hub",
                               revision=entry["repo"].partition(":")[2] or "default", task=entry.get("task", ""),
                               config=config, meta={"repo": entry["repo"], "entrypoint": name,
                                                    "local_path": entry.get("local_path", "")},
                               config_hash=config_hash("torch_hub", config))

    def build(self, ref: ModelRef) -> Built:
        import torch

        cfg = ref.config or {}
        repo = cfg["repo"]
        if cfg.get("source") == "local":
            repo = ref.meta.get("local_path") or repo
        kwargs = dict(cfg.get("kwargs") or {})
        if cfg.get("pretrained_kwarg"):
            kwargs[cfg["pretrained_kwarg"]] = False
        try:
            with torch.device("meta"):
                module = torch.hub.load(repo, cfg["entrypoint"], source=cfg.get("source", "github"),
                                        trust_repo=True, skip_validation=True, verbose=False, **kwargs)
        except Exception as e:  # noqa: BLE001 - the repo's code can raise anything
            raise BuildError(f"torch.hub.load({cfg['repo']!r}, {cfg['entrypoint']!r}) failed: "
                             f"{type(e).__name__}: {e}") from e
        x = torch.empty(*cfg.get("input", [1, 3, 224, 224]), device="meta")
        return Built(module.eval(), (x,), {}, builder=f"torch.hub.load({cfg['repo']})")
