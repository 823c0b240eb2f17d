"""Data-free zero-cost (ZC) proxies at initialisation: NASWOT, synflow and a gradient signal-to-noise score.

Inputs are standard Gaussian images and labels uniform over the classes, drawn from a seeded generator;
`zc_scores` returns the recipe next to the scores so every score says how it was measured.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

__all__ = ["PROXIES", "grad_snr", "naswot", "register_proxy", "synflow", "zc_scores"]

PROXIES: dict[str, Callable[..., float]] = {}


def register_proxy(name: str) -> Callable[[Callable[..., float]], Callable[..., float]]:
    def decorator(fn: Callable[..., float]) -> Callable[..., float]:
        PROXIES[name] = fn
        return fn

    return decorator


def _inputs(batch: int, shape: tuple[int, int, int], classes: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.randn(batch, *shape, generator=gen), torch.randint(0, classes, (batch,), generator=gen)


@register_proxy("naswot")
def naswot(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """log|det K| of the Hamming-similarity kernel of the ReLU activation patterns (Mellor et al.)."""
    codes: list[torch.Tensor] = []
    hooks = [m.register_forward_hook(lambda _m, _i, out: codes.append((out.detach() > 0).flatten(1).float()))
             for m in net.modules() if isinstance(m, nn.ReLU)]
    try:
        with torch.no_grad():
            net(x)
    finally:
        for h in hooks:
            h.remove()
    if not codes:
        return 0.0
    c = torch.cat(codes, 1).double()
    k = c @ c.T + (1 - c) @ (1 - c).T
    return float(torch.linalg.slogdet(k)[1])


@register_proxy("synflow")
def synflow(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """log of sum |theta * dR/dtheta| with all weights made positive and an all-ones input (Tanaka et al.);
    BatchNorm in eval mode so the ones input does not collapse to zero variance."""
    net = net.double().eval()
    signs = {}
    with torch.no_grad():
        for name, p in net.named_parameters():
            signs[name] = torch.sign(p)
            p.abs_()
    net.zero_grad()
    net(torch.ones_like(x[:1]).double()).sum().backward()
    total = sum(float((p.detach() * p.grad).abs().sum()) for p in net.parameters() if p.grad is not None)
    with torch.no_grad():
        for name, p in net.named_parameters():
            p.mul_(signs[name])
    net.float().train()
    return math.log(total + 1e-30)


@register_proxy("grad_snr")
def grad_snr(net: nn.Module, x: torch.Tensor, y: torch.Tensor, chunks: int = 4) -> float:
    """Mean over weights of |mean gradient| / std over ``chunks`` sub-batches: how consistent the gradient
    of a random-label cross-entropy is at initialisation."""
    grads = []
    for xs, ys in zip(x.chunk(chunks), y.chunk(chunks)):
        net.zero_grad()
        nn.functional.cross_entropy(net(xs), ys).backward()
        grads.append(torch.cat([p.grad.flatten() for p in net.parameters() if p.grad is not None]))
    g = torch.stack(grads)
    return float((g.mean(0).abs() / (g.std(0) + 1e-8)).mean())


def zc_scores(net: nn.Module, proxies: tuple[str, ...] = ("naswot", "synflow", "grad_snr"), batch: int = 16,
              shape: tuple[int, int, int] = (3, 32, 32), classes: int = 10, seed: int = 0) -> dict:
    """Every proxy of ``proxies`` on ``net`` (CPU, train mode), plus ``recipe``: how the inputs were drawn.

    Returns:
        ``{"naswot": float, "synflow": float, "grad_snr": float, "recipe": {...}}``
    """
    unknown = [p for p in proxies if p not in PROXIES]
    if unknown:
        raise ValueError(f"Unknown ZC proxy {unknown[0]!r}; valid proxies: {sorted(PROXIES)}")
    gen = torch.Generator().manual_seed(seed)
    x, y = _inputs(batch, shape, classes, gen)
    net.train()
    out: dict = {p: PROXIES[p](net, x, y) for p in proxies}
    out["recipe"] = {"inputs": "gaussian N(0,1)", "labels": f"uniform random over {classes} classes",
                     "batch": batch, "shape": list(shape), "seed": seed, "mode": "init, train-mode BN",
                     "synflow_input": "ones, float64, BN eval"}
    return out
