"""Tiny models built on the meta device: an MLP, a small CNN, a 2-layer transformer block, a branch + residual.

They trace in milliseconds; tests, benches, the tracing workers' warm-up and the ``testing`` source use them.
"""

from __future__ import annotations

from typing import Any

__all__ = ["TINY_MODELS", "tiny_model"]

TINY_MODELS = ("mlp", "cnn", "transformer_block", "residual")


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
