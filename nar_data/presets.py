"""Named model lists (``nar_data/catalog/presets/<name>.yaml``) and the refs they select from the sources.

A preset file::

    description: what the list is for
    models:
      timm: [resnet18, vit_tiny_patch16_224, ...]      # names as the source lists them
      torchvision: [resnet50, ...]
      transformers: [BertModel, GPT2LMHeadModel, ...]

``library`` is a built-in preset meaning "every model of every registry source".
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import yaml

from .catalog import catalog_file
from .errors import SchemaError
from .sources import REGISTRY_SOURCES, ModelRef, get_source

__all__ = ["PRESET_DIR", "iter_refs", "list_presets", "load_preset"]

PRESET_DIR = catalog_file("presets")
ALL = "library"


def list_presets() -> list[str]:
    return sorted([p.stem for p in PRESET_DIR.glob("*.yaml")] + [ALL])


def load_preset(name: str) -> dict[str, list[str]]:
    """``{source: [names]}`` of a preset name or a path to a preset file."""
    path = Path(name) if name.endswith((".yaml", ".yml")) else PRESET_DIR / f"{name}.yaml"
    if not path.is_file():
        raise SchemaError(f"Unknown preset {name!r}; valid presets: {', '.join(list_presets())} "
                          "(or a path to a .yaml preset file)")
    data = yaml.safe_load(path.read_text()) or {}
    models = data.get("models")
    if not isinstance(models, dict) or not all(isinstance(v, list) for v in models.values()):
        raise SchemaError(f"{path}: expected `models: {{source: [names]}}`")
    return {str(k): [str(n) for n in v] for k, v in models.items()}


def iter_refs(sources: Sequence[str], preset: str | None = None, limit: int | None = None,
              source_kwargs: dict[str, dict[str, Any]] | None = None) -> Iterator[ModelRef]:
    """Refs of ``sources`` (``"all"`` = the registries), restricted to a preset's names; ``limit`` per source.

    ``source_kwargs[name]`` goes to that source's ``iter_refs`` (e.g. ``{"hf": {"data": DIR}}``: the crawl to read).
    """
    names = load_preset(preset) if preset and preset != ALL else None
    expanded = list(REGISTRY_SOURCES) if "all" in sources else list(sources)
    for source_name in expanded:
        if names is not None and source_name not in names:
            continue
        source = get_source(source_name)
        wanted = set(names[source_name]) if names is not None else None
        count = 0
        for ref in source.iter_refs(**(source_kwargs or {}).get(source_name, {})):
            if limit is not None and count >= limit:
                break
            if wanted is not None and ref.name not in wanted:
                continue
            count += 1
            yield ref
