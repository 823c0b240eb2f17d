"""The names each library registry knows, without importing the library (timm and transformers import torch).

A name that is in no registry must be refused in milliseconds, not after torch and transformers load.
``registry_names.json`` beside this module lists timm's models, torchvision's builders and transformers'
classes and model types for the pinned library versions; for any other installed version the lists are
computed once (importing the libraries) and cached under ``NAR_CACHE_DIR/names/``. Regenerate the shipped
file after a version bump with ``python -m nar.query._names``.
"""

from __future__ import annotations

import functools
import importlib.metadata as md
import json
import os
from pathlib import Path

__all__ = ["LIBRARIES", "RegistryNames", "registry_names"]

LIBRARIES = ("timm", "torchvision", "transformers")
_SHIPPED = Path(__file__).with_name("registry_names.json")


class RegistryNames:
    """Names of one library: ``names`` (what ``lib:NAME`` accepts) and ``aliases`` (other spellings -> name)."""

    def __init__(self, library: str, version: str, names: list[str], aliases: dict[str, str]) -> None:
        self.library, self.version = library, version
        self.names = frozenset(names)
        self.aliases = aliases
        self._lower = {n.lower(): n for n in names}

    def canonical(self, name: str) -> str | None:
        """The registry's spelling of ``name`` (exact, an alias, or case-insensitive), else None."""
        if name in self.names:
            return name
        if name in self.aliases:
            return self.aliases[name]
        return self._lower.get(name.lower())


def _version(library: str) -> str:
    try:
        return md.version(library)
    except md.PackageNotFoundError:
        return ""


def _compute(library: str) -> tuple[list[str], dict[str, str]]:
    """Ask the library itself (imports it)."""
    if library == "timm":
        import timm

        return sorted(timm.list_models()), {}
    if library == "torchvision":
        from torchvision.models import list_models

        return sorted(list_models()), {}
    from nar_data.sources.transformers import class_owners, iter_classes

    classes = list(iter_classes())
    owners = class_owners(classes)
    names, aliases = set(), {}
    for model_type, cls, _, is_base in classes:
        # the transformers source's naming: "Class", or "Class@model_type" for a class another type owns
        names.add(cls if owners.get(cls, model_type) == model_type else f"{cls}@{model_type}")
        if is_base:
            aliases.setdefault(model_type, cls)  # transformers:bert -> its base class
    return sorted(names), aliases


def _cache_dir() -> Path:
    from nar_data.config import CACHE_DIR

    return Path(os.environ.get("NAR_CACHE_DIR") or CACHE_DIR) / "names"


@functools.cache
def registry_names(library: str) -> RegistryNames | None:
    """The names of ``library`` at its installed version; None when the library is not installed."""
    version = _version(library)
    if not version:
        return None
    try:
        shipped = json.loads(_SHIPPED.read_text())
    except (OSError, ValueError):
        shipped = {}
    entry = shipped.get(library)
    if not entry or entry.get("version") != version:
        cached = _cache_dir() / f"{library}-{version}.json"
        try:
            entry = json.loads(cached.read_text())
        except (OSError, ValueError):
            names, aliases = _compute(library)
            entry = {"version": version, "names": names, "aliases": aliases}
            try:
                cached.parent.mkdir(parents=True, exist_ok=True)
                cached.write_text(json.dumps(entry))
            except OSError:
                pass  # a read-only cache only costs the next process the same import
    return RegistryNames(library, version, entry["names"], entry.get("aliases", {}))


def main() -> None:
    """Write ``registry_names.json`` for the installed versions."""
    out = {}
    for library in LIBRARIES:
        if _version(library):
            names, aliases = _compute(library)
            out[library] = {"version": _version(library), "names": names, "aliases": aliases}
    _SHIPPED.write_text(json.dumps(out, indent=0, sort_keys=True) + "\n")
    print(f"wrote {_SHIPPED}: " + ", ".join(f"{k} {len(v['names'])}" for k, v in out.items()))


if __name__ == "__main__":
    main()
