"""A conditional generative model in the G-VAE latent: conditional flow matching, sampled with torchdiffeq.

Training (rectified-flow / conditional flow matching objective): ``z_t = (1 - t) z_0 + t z_1`` with
``z_0 ~ N(0, I)`` and ``z_1`` a standardised cell latent; an MLP ``v(z_t, t, c)`` regresses ``z_1 - z_0``.
The condition ``c`` (a nar-embedding PCA vector, a ZC descriptor or a family one-hot) is dropped with
probability ``drop`` so one network also models the unconditional distribution; sampling integrates
``dz/dt = v_uncond + w (v_cond - v_uncond)`` (classifier-free guidance, ``w`` = ``guidance``) from t=0 to 1
with ``torchdiffeq.odeint``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

__all__ = ["FlowConfig", "LatentFlow", "fit_flow"]


@dataclass(frozen=True)
class FlowConfig:
    hidden: int = 256
    epochs: int = 60
    batch_size: int = 256
    lr: float = 2e-3
    drop: float = 0.2
    seed: int = 0


class LatentFlow(nn.Module):
    """Velocity field over ``dim``-dimensional latents, conditioned on ``cond_dim`` numbers."""

    def __init__(self, dim: int, cond_dim: int, config: FlowConfig = FlowConfig()) -> None:
        super().__init__()
        self.dim, self.cond_dim, self.config = dim, cond_dim, config
        h = config.hidden
        self.net = nn.Sequential(nn.Linear(dim + cond_dim + 2, h), nn.SiLU(), nn.Linear(h, h), nn.SiLU(),
                                 nn.Linear(h, h), nn.SiLU(), nn.Linear(h, dim))
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("std", torch.ones(dim))

    def velocity(self, z: torch.Tensor, t: torch.Tensor, c: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
        """``present`` (B, 1) is 1 where the condition is given, 0 where it is dropped (c zeroed)."""
        t = t.reshape(-1, 1).expand(len(z), 1) if t.numel() == 1 else t.reshape(len(z), 1)
        return self.net(torch.cat([z, t, c * present, present], -1))

    def loss(self, z1: torch.Tensor, c: torch.Tensor, known: torch.Tensor | None = None) -> torch.Tensor:
        """``known`` (B, 1): 1 where the row has a condition at all (rows without one train only the
        unconditional field)."""
        z1 = (z1 - self.mean) / self.std
        z0 = torch.randn_like(z1)
        t = torch.rand(len(z1), 1)
        present = (torch.rand(len(z1), 1) > self.config.drop).float()
        if known is not None:
            present = present * known
        zt = (1 - t) * z0 + t * z1
        return (self.velocity(zt, t, c, present) - (z1 - z0)).pow(2).mean()

    @torch.no_grad()
    def sample(self, n: int, c: torch.Tensor | None = None, guidance: float = 1.0, steps: int = 20,
               generator: torch.Generator | None = None, start: torch.Tensor | None = None,
               t0: float = 0.0, temperature: float = 1.0) -> torch.Tensor:
        """``n`` latents (in the VAE's scale); ``c`` (cond_dim,) or (n, cond_dim), ``None`` = unconditional.

        ``temperature`` scales the starting noise, ``z_0 ~ N(0, temperature^2 I)`` (the reduced-temperature
        sampling of Glow / BigGAN's truncation, for a flow): below 1 the samples gather towards the middle of
        the (conditional) distribution, at some cost in diversity.

        ``start`` (n, dim, VAE scale) with ``t0`` in (0, 1): begin on the straight path at time ``t0``,
        ``z_t0 = (1 - t0) noise + t0 start`` (the point the training paths pass through), and integrate
        from there: a conditional prior over starting points instead of pure noise."""
        from torchdiffeq import odeint

        z0 = temperature * torch.randn(n, self.dim, generator=generator)
        if start is not None and t0 > 0:
            z0 = (1 - t0) * z0 + t0 * (start.float() - self.mean) / self.std
        else:
            t0 = 0.0
        if c is None:
            cond, on = torch.zeros(n, self.cond_dim), torch.zeros(n, 1)
        else:
            cond, on = c.float().expand(n, self.cond_dim), torch.ones(n, 1)
        off = torch.zeros(n, 1)

        def field(t: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
            tt = t.reshape(1, 1)
            v_un = self.velocity(z, tt, cond, off)
            if c is None:
                return v_un
            return v_un + guidance * (self.velocity(z, tt, cond, on) - v_un)

        grid = torch.linspace(t0, 1.0, max(2, int(round(steps * (1 - t0)))) + 1)
        z1 = odeint(field, z0, grid, method="rk4")[-1]
        return z1 * self.std + self.mean


def fit_flow(latents: torch.Tensor, cond: torch.Tensor, config: FlowConfig = FlowConfig(),
             log: callable | None = None, known: torch.Tensor | None = None) -> LatentFlow:
    """Train a `LatentFlow` on ``latents`` (N, dim) paired with ``cond`` (N, cond_dim); ``known`` (N,) marks
    the rows whose condition is real (default all)."""
    known = torch.ones(len(latents)) if known is None else known.float()
    torch.manual_seed(config.seed)
    flow = LatentFlow(latents.shape[1], cond.shape[1], config)
    flow.mean.copy_(latents.mean(0))
    flow.std.copy_(latents.std(0).clamp_min(1e-3))
    opt = torch.optim.Adam(flow.parameters(), lr=config.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(config.epochs, 1))
    # Rows with a condition are repeated until they are about half of an epoch: few cells are embedded
    # (each is traced), and the conditional field would otherwise see them rarely.
    rows = torch.arange(len(latents))
    with_cond = torch.nonzero(known > 0).flatten()
    if 0 < len(with_cond) < len(rows) // 2:
        rows = torch.cat([rows, with_cond.repeat((len(rows) - len(with_cond)) // len(with_cond))])
    n = len(rows)
    for epoch in range(config.epochs):
        perm = rows[torch.randperm(n)]
        total = 0.0
        for i in range(0, n, config.batch_size):
            idx = perm[i:i + config.batch_size]
            loss = flow.loss(latents[idx], cond[idx], known[idx, None])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx) / n
        sched.step()
        if log:
            log(epoch, {"fm": total})
    flow.eval()
    return flow
