"""Tiny models, hand-written graphs and a ``testing`` source for tests, benches and demos.

The ``testing`` source builds CPU-millisecond models (an MLP, a small CNN, a 2-layer transformer
block, a branch + residual) and misbehaving ones that exercise the tracing pool's failure paths:
``raise`` (exception in forward), ``sleep`` (hangs past any timeout), ``oom`` (allocates real memory
until the pool's limit stops it) and ``segfault`` (kills its own process).
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from ..fingerprint import arch_id, config_hash
from ..schema import Graph
from ..sources import Built, ModelRef, Source, register_source
from ..vocab import op_id

__all__ = ["TINY_MODELS", "BAD_MODELS", "TestingSource", "hand_graph", "make_graph", "tiny_model"]

TINY_MODELS = ("mlp", "cnn", "transformer_block", "residual")
BAD_MODELS = ("raise", "sleep", "oom", "segfault")


def tiny_model(name: str, width: int = 8) -> tuple[Any, tuple[Any, ...]]:
    """``(module, args)`` of a tiny model, built on the meta device."""
    import torch
    from torch import nn

    class MLP(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc1, self.fc2 = nn.Linear(width, 2 * width), nn.Linear(2 * width, 4)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.fc2(torch.relu(self.fc1(x)))

    class CNN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, width, 3, padding=1)
            self.bn = nn.BatchNorm2d(width)
            self.head = nn.Linear(width, 4)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = torch.relu(self.bn(self.conv(x)))
            return self.head(x.mean((2, 3)))

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.ln1, self.ln2 = nn.LayerNorm(width), nn.LayerNorm(width)
            self.qkv, self.proj = nn.Linear(width, 3 * width), nn.Linear(width, width)
            self.fc1, self.fc2 = nn.Linear(width, 2 * width), nn.Linear(2 * width, width)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            q, k, v = self.qkv(self.ln1(x)).chunk(3, dim=-1)
            x = x + self.proj(nn.functional.scaled_dot_product_attention(q, k, v))
            return x + self.fc2(nn.functional.gelu(self.fc1(self.ln2(x))))

    class Transformer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.blocks = nn.Sequential(Block(), Block())

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.blocks(x)

    class Residual(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a, self.b = nn.Linear(width, width), nn.Linear(width, width)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.relu(self.a(x)) + self.b(x) + x

    factories = {"mlp": (MLP, (2, width)), "cnn": (CNN, (2, 3, 8, 8)),
                 "transformer_block": (Transformer, (2, 5, width)), "residual": (Residual, (2, width))}
    if name not in factories:
        raise ValueError(f"Unknown tiny model {name!r}; valid names: {sorted(factories)}")
    cls, shape = factories[name]
    with torch.device("meta"):
        module = cls()
    return module.eval(), (torch.empty(shape, device="meta"),)


def make_graph(name: str = "mlp", **fields: Any) -> Graph:
    """The traced `Graph` of a tiny model."""
    from ..tracing import trace_module

    module, args = tiny_model(name)
    fields.setdefault("family", name)
    return trace_module(module, args, model_id=f"testing:{name}", source="testing",
                        config_hash=config_hash("testing", name), **fields)


def hand_graph(op_names: Sequence[str], edges: Sequence[tuple[int, int]], model_id: str = "hand:graph",
               shapes: Sequence[Sequence[int]] | None = None, **fields: Any) -> Graph:
    """A `Graph` written by hand: ``op_names[i]`` per node and ``(src, dst)`` edges."""
    n = len(op_names)
    shapes = [list(s) for s in shapes] if shapes is not None else [[1] for _ in range(n)]
    src = np.asarray([e[0] for e in edges], dtype=np.int32)
    dst = np.asarray([e[1] for e in edges], dtype=np.int32)
    fields.setdefault("config_hash", model_id)
    graph = Graph(model_id=model_id, source=fields.pop("source", "hand"), arch_id="",
                 op=np.asarray([op_id(o) for o in op_names], dtype=np.int32), op_name=list(op_names),
                 shape=shapes, dtype=["float32"] * n, module=[""] * n, params=np.zeros(n, dtype=np.int64),
                 src=src, dst=dst, **fields)
    return graph.replace(arch_id=arch_id(op_names, shapes, src, dst))


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
        if kind in BAD_MODELS:
            return Built(_Misbehave.module(kind), (torch.empty(2, 4, device="meta"),), builder="testing")
        module, args = tiny_model(kind)
        return Built(module, args, builder="testing.tiny_model")

    def labels(self, ref: ModelRef) -> dict[str, str]:
        return {"family": ref.name, "coarse": "other", "task": "testing"}
