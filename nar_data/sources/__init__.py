"""Registry of model sources: ``@register_source("name")`` on a `Source` subclass.

Built-in sources live in their own modules and are imported on first use, so ``import nar_data``
does not import torch, timm or transformers.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from ..errors import UnknownSourceError
from ._base import Built, ModelRef, Source

__all__ = ["Built", "ModelRef", "Source", "get_source", "list_sources", "register_source", "source_names"]

_SOURCES: dict[str, type[Source]] = {}
#: Built-in sources: name -> module that registers it.
_BUILTIN = {
    "timm": "nar_data.sources.timm",
    "torchvision": "nar_data.sources.torchvision",
    "transformers": "nar_data.sources.transformers",
    "hf": "nar_data.hub.source",
    "torch_hub": "nar_data.sources.torch_hub",
}
#: The tiny and misbehaving models of `nar_data.testing`, a source only when asked for (``NAR_TESTING_SOURCE=1``:
#: benches and fault drills that drive the real CLI and its workers).
_TESTING = ("testing", "nar_data.testing")
#: The library registries: the embedded default of `nar trace --source all`.
REGISTRY_SOURCES = ("timm", "torchvision", "transformers")


def register_source(name: str) -> Callable[[type[Source]], type[Source]]:
    def decorator(cls: type[Source]) -> type[Source]:
        cls.name = name
        _SOURCES[name] = cls
        return cls

    return decorator


def _builtin() -> dict[str, str]:
    from ..config import env_flag

    return {**_BUILTIN, _TESTING[0]: _TESTING[1]} if env_flag("NAR_TESTING_SOURCE") else _BUILTIN


def _load(name: str) -> None:
    builtin = _builtin()
    if name not in _SOURCES and name in builtin:
        try:
            importlib.import_module(builtin[name])
        except ModuleNotFoundError as e:
            if e.name == builtin[name]:
                return  # the source's module is not in this installation
            raise


def source_names() -> list[str]:
    """Names of the built-in and registered sources, without importing any source module."""
    return sorted(set(_builtin()) | set(_SOURCES))


def list_sources() -> list[str]:
    """Names of every available source."""
    for name in _builtin():
        _load(name)
    return sorted(_SOURCES)


def get_source(name: str, **kwargs: object) -> Source:
    """An instance of the source ``name``; `UnknownSourceError` lists the valid names."""
    _load(name)
    if name not in _SOURCES:
        raise UnknownSourceError(f"Unknown source {name!r}; valid sources: {', '.join(list_sources())}")
    return _SOURCES[name](**kwargs)
