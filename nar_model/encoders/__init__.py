"""Registry of architecture encoders: ``@register_encoder("name")`` on an `Encoder` subclass.

Entries: ``nar`` (ours as shipped: learned projection of WL/motif structure tokens), ``nar-paper``
(the paper's motifs -> macro graph, two-stage contrastive GNN), ``gcn``, ``gat``, ``gin`` (flat-graph
baselines with the same features, size, loss and budget), ``wl`` and ``wl_motif`` (training-free
Weisfeiler-Lehman histograms of the op graph, and of the op and motif graphs). Modules are imported on first use so ``import nar_model``
does not import torch_geometric.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from ..config import EncoderConfig
from ._base import Encoder

__all__ = ["Encoder", "EncoderConfig", "get_encoder", "list_encoders", "register_encoder"]

_ENCODERS: dict[str, type[Encoder]] = {}
_BUILTIN = {"nar": "nar_model.encoders.nar", "nar-paper": "nar_model.encoders.paper", "wl_motif": "nar_model.encoders.wl",
            "gcn": "nar_model.encoders.flat", "gat": "nar_model.encoders.flat",
            "gin": "nar_model.encoders.flat", "wl": "nar_model.encoders.wl",
            "wl_tokens": "nar_model.encoders.wl"}


def register_encoder(name: str) -> Callable[[type[Encoder]], type[Encoder]]:
    def decorator(cls: type[Encoder]) -> type[Encoder]:
        cls.name = name
        _ENCODERS[name] = cls
        return cls

    return decorator


def list_encoders() -> list[str]:
    """Names of every registered encoder (built-ins first imported)."""
    for module in sorted(set(_BUILTIN.values())):
        importlib.import_module(module)
    return sorted(_ENCODERS)


def get_encoder(name: str, config: EncoderConfig | None = None, **overrides: Any) -> Encoder:
    """A new, unfitted encoder ``name``; `ValueError` lists the valid names."""
    if name not in _ENCODERS and name in _BUILTIN:
        importlib.import_module(_BUILTIN[name])
    if name not in _ENCODERS:
        raise ValueError(f"Unknown encoder {name!r}; valid encoders: {', '.join(list_encoders())}")
    return _ENCODERS[name](config, **overrides)
