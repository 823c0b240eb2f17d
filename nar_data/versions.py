"""Installed versions of the libraries that decide what a graph looks like (read once per process)."""

from __future__ import annotations

import functools
import json

__all__ = ["library_versions", "versions_json"]

#: The distributions whose versions a graph and a failure row record.
LIBRARIES = ("torch", "torchvision", "timm", "transformers")


def library_versions() -> dict[str, str]:
    """``{package: version}`` of the installed `LIBRARIES` (a missing one is left out)."""
    return dict(_installed_versions())


@functools.cache
def versions_json() -> str:
    """`library_versions` as the JSON text the ``graphs`` and ``failures`` tables store."""
    return json.dumps(library_versions(), sort_keys=True)


@functools.cache
def _installed_versions() -> tuple[tuple[str, str], ...]:
    import importlib.metadata as md

    out = []
    for pkg in LIBRARIES:
        try:
            out.append((pkg, md.version(pkg)))
        except md.PackageNotFoundError:
            pass
    return tuple(out)
