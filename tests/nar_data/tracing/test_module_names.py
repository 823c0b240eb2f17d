"""Node modules: a module swapped in during forward (BigBird's attention) is named from the model's tree."""

from __future__ import annotations

import torch
from torch import nn

from nar_data.tracing import trace_module


class _Layer(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.inner = nn.Linear(4, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.inner(x))


class _Swapping(nn.Module):
    """Replaces every layer's ``inner`` at the start of forward, as BigBird does when it falls back to full
    attention; the old modules are freed, so their ids can come back for the new ones."""

    def __init__(self, n: int = 6) -> None:
        super().__init__()
        self.layers = nn.ModuleList(_Layer() for _ in range(n))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            layer.inner = nn.Linear(4, 4, device=x.device)
        for layer in self.layers:
            x = layer(x)
        return x


def test_modules_swapped_in_forward_get_their_own_names() -> None:
    g = trace_module(_Swapping(), (torch.randn(2, 4),), methods=("dispatch",))
    tanh = [m for op, m in zip(g.op_name, g.module) if op == "tanh"]
    linear = [m for op, m in zip(g.op_name, g.module) if op == "linear"]
    assert tanh == [f"layers.{i}" for i in range(6)]
    assert linear == [f"layers.{i}.inner" for i in range(6)]


def test_a_module_outside_the_tree_belongs_to_its_caller() -> None:
    class Outside(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(4, 4)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return nn.ReLU()(self.fc(x))  # a module made and run in forward, never registered

    g = trace_module(Outside(), (torch.randn(2, 4),), methods=("dispatch",))
    assert dict(zip(g.op_name, g.module))["relu"] == ""
