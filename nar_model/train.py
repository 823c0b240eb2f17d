"""The graph-level training loop shared by every trained encoder (plain PyTorch, no framework).

Batches are family-balanced: each family's members are shuffled and cut into groups of
``per_family`` graphs, the groups are shuffled and packed into batches, so every anchor of the
supervised contrastive loss has positives in its batch and every graph is seen once per epoch.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from .config import EncoderConfig
from .losses import supervised_contrastive

__all__ = ["balanced_batches", "fit_graph_level", "seed_everything", "progress_bar"]

logger = logging.getLogger(__name__)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def balanced_batches(labels: np.ndarray, batch_size: int, rng: np.random.Generator,
                     per_family: int = 4) -> list[np.ndarray]:
    """One epoch of index batches; graphs with label ``-1`` are spread over the batches as extra negatives."""
    groups: list[np.ndarray] = []
    for lab in np.unique(labels):
        idx = np.flatnonzero(labels == lab)
        rng.shuffle(idx)
        if lab < 0:
            groups += [idx[i:i + 1] for i in range(len(idx))]
        else:
            groups += [idx[i:i + per_family] for i in range(0, len(idx), per_family)]
    order = rng.permutation(len(groups))
    batches, cur, n = [], [], 0
    for g in order:
        cur.append(groups[g])
        n += len(groups[g])
        if n >= batch_size:
            batches.append(np.concatenate(cur))
            cur, n = [], 0
    if cur:
        batches.append(np.concatenate(cur))
    return batches


def progress_bar(total: int, description: str, enabled: bool) -> Any:
    """Progress of ``total`` epochs: ``advance(loss=...)`` after each one (a no-op when ``enabled`` is False).

    On a terminal a rich bar with elapsed time, ETA and the last loss; elsewhere (a pipe, a log) one line
    on stderr every 10 s and one at the end.
    """
    if not enabled:
        class _Null:
            def __enter__(self) -> "_Null":
                return self

            def __exit__(self, *a: object) -> None:
                return None

            def advance(self, **fields: float) -> None:
                return None
        return _Null()
    import sys

    class _Bar:
        every_s = 10.0

        def __enter__(self) -> "_Bar":
            self.done, self.loss, self.start = 0, float("nan"), time.perf_counter()
            self.last = self.start
            self.p = None
            if sys.stderr.isatty():
                from rich.console import Console
                from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                                           TimeRemainingColumn)

                self.p = Progress(TextColumn(description), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                                  TimeRemainingColumn(), TextColumn("loss {task.fields[loss]}"),
                                  console=Console(stderr=True))
                self.p.__enter__()
                self.task = self.p.add_task(description, total=total, loss="-")
            return self

        def __exit__(self, *a: object) -> None:
            if self.p is not None:
                self.p.__exit__(*a)
            else:
                self._line()

        def _line(self) -> None:
            elapsed = time.perf_counter() - self.start
            # a write, not print(): a Prefect task's log_prints would turn print(file=sys.stderr) into a log record
            sys.stderr.write(f"{description}: epoch {self.done}/{total} loss {self.loss:.4f} {elapsed:.0f}s\n")
            sys.stderr.flush()
            self.last = time.perf_counter()

        def advance(self, loss: float | None = None) -> None:
            self.done += 1
            if loss is not None:
                self.loss = loss
            if self.p is not None:
                self.p.update(self.task, advance=1, loss=f"{self.loss:.4f}")
            elif time.perf_counter() - self.last >= self.every_s and self.done < total:
                self._line()
    return _Bar()


def fit_graph_level(model: torch.nn.Module, items: Sequence[Any], family: np.ndarray, coarse: np.ndarray,
                    config: EncoderConfig, collate: Callable[[list[Any]], Any],
                    forward: Callable[[Any], torch.Tensor], progress: bool = False,
                    params: Sequence[torch.nn.Parameter] | None = None) -> list[dict[str, float]]:
    """Train ``model`` with SupCon over ``family`` (on ``model.heads.project``) + CE over ``coarse``.

    Args:
        model: has ``heads`` (`layers.Heads`); ``forward(batch)`` returns (B, dim) embeddings.
        items: one preprocessed item per graph; ``collate(list)`` makes a batch of them.
        family, coarse: (N,) label ids, ``-1`` = unknown (never a positive / no CE term).
        params: parameters to optimise (default: all of ``model``).

    Returns:
        One ``{"epoch", "loss", "supcon", "ce"}`` dict per epoch.
    """
    rng = np.random.default_rng(config.seed)
    opt = torch.optim.AdamW(list(params) if params is not None else model.parameters(), lr=config.lr,
                            weight_decay=config.weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(config.epochs, 1))
    fam_t, coarse_t = torch.as_tensor(family), torch.as_tensor(coarse)
    history = []
    with progress_bar(config.epochs, f"training {type(model).__name__}", progress) as bar:
        for epoch in range(config.epochs):
            model.train()
            start = time.perf_counter()
            tot = sc = ce = 0.0
            batches = balanced_batches(family, config.batch_size, rng)
            for idx in batches:
                batch = collate([items[i] for i in idx])
                h = forward(batch)
                fam, crs = fam_t[idx], coarse_t[idx]
                l_sc = supervised_contrastive(model.heads.project(h), fam, config.temperature)
                known = crs >= 0
                l_ce = F.cross_entropy(model.heads.classify(h[known]), crs[known]) if known.any() else h.sum() * 0
                loss = l_sc + config.ce_weight * l_ce
                opt.zero_grad()
                loss.backward()
                opt.step()
                tot, sc, ce = tot + loss.item(), sc + l_sc.item(), ce + l_ce.item()
            sched.step()
            n = max(len(batches), 1)
            history.append({"stage": 2, "epoch": epoch, "loss": tot / n, "supcon": sc / n, "ce": ce / n,
                            "seconds": time.perf_counter() - start})
            logger.info("epoch %d loss %.4f", epoch, tot / n)
            bar.advance(loss=tot / n)
    return history
