"""Tiny models, hand-written graphs and a ``testing`` source for tests, benches and demos.

The ``testing`` source builds CPU-millisecond models (an MLP, a small CNN, a 2-layer transformer
block, a branch + residual) and misbehaving ones that exercise the tracing pool's failure paths:
``raise`` (exception in forward), ``sleep`` (hangs past any timeout), ``oom`` (allocates real memory
until the pool's limit stops it) and ``segfault`` (kills its own process). ``setorder`` runs its branches in the
order of a Python set of strings, as Gemma 3-style models do, so its graph depends on ``PYTHONHASHSEED``.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from ..build.tiny import TINY_MODELS, tiny_model
from ..fingerprint import config_hash
from ..hand import hand_graph
from ..schema import Graph
from ..sources import Built, ModelRef, Source, register_source

__all__ = ["TINY_MODELS", "BAD_MODELS", "TestingSource", "hand_graph", "make_graph", "tiny_model"]

BAD_MODELS = ("raise", "sleep", "oom", "segfault")
#: Branches of ``setorder`` (``torch.nn`` activation classes): eight, so that two hash seeds almost surely iterate
#: them in another order.
SET_ORDER_KINDS = ("ReLU", "Tanh", "Sigmoid", "GELU", "SiLU", "ELU", "Softsign", "Mish")


def make_graph(name: str = "mlp", **fields: Any) -> Graph:
    """The traced `Graph` of a tiny model."""
    from ..tracing import trace_module

    module, args = tiny_model(name)
    fields.setdefault("family", name)
    return trace_module(module, args, model_id=f"testing:{name}", source="testing",
                        config_hash=config_hash("testing", name), **fields)


class _Misbehave:
    """Forward of the ``BAD_MODELS``; built lazily so importing this module stays cheap."""

    @staticmethod
    def module(kind: str) -> Any:
        import torch
        from torch import nn

        class Bad(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.fc = nn.Linear(4, 4)

            def forward(self, x: torch.Tensor) -> torch.Tensor:
                if kind == "raise":
                    raise RuntimeError("testing: this model always fails in forward")
                if kind == "sleep":
                    time.sleep(3600)
                if kind == "oom":
                    hog = []
                    while True:  # real memory, touched so it is resident
                        hog.append(np.ones(64 * 2**20 // 8))
                if kind == "segfault":
                    os.kill(os.getpid(), signal.SIGSEGV)
                return self.fc(x)

        with torch.device("meta"):
            return Bad()


def _set_order_model() -> Any:
    """``setorder``: one activation branch per name, built and run in the order of a set of the names."""
    import torch
    from torch import nn

    class SetOrder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            kinds = set(SET_ORDER_KINDS)  # iteration order follows the interpreter's hash seed
            self.branches = nn.ModuleDict({k: nn.Sequential(nn.Linear(4, 4), getattr(nn, k)()) for k in kinds})

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.cat([b(x) for b in self.branches.values()], dim=-1)

    with torch.device("meta"):
        return SetOrder()


@register_source("testing")
class TestingSource(Source):
    """Tiny and misbehaving models; ``iter_refs(names=[...])`` picks which."""

    def iter_refs(self, limit: int | None = None, names: Sequence[str] = TINY_MODELS, **filters: Any) -> Iterator[ModelRef]:
        for name in list(names)[:limit]:
            yield ModelRef(source="testing", name=name, library="testing", revision="0", task="testing",
                           config={"name": name}, config_hash=config_hash("testing", name))

    def build(self, ref: ModelRef) -> Built:
        import torch

        kind = (ref.config or {}).get("name", ref.name)  # renamed refs (fine-tunes of a tiny model) build it too
        if kind == "setorder":
            return Built(_set_order_model(), (torch.empty(2, 4, device="meta"),), builder="testing")
        if kind in BAD_MODELS:
            return Built(_Misbehave.module(kind), (torch.empty(2, 4, device="meta"),), builder="testing")
        module, args = tiny_model(kind)
        return Built(module, args, builder="testing.tiny_model")

    def labels(self, ref: ModelRef) -> dict[str, str]:
        return {"family": ref.name, "coarse": "other", "task": "testing"}
