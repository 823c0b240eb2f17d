"""Regularised evolution (Real et al.) and its two-phase form: explore families, then exploit networks.

The search is generic over the individual type: callers pass ``init``, ``mutate`` and ``fitness``
callables. Fitness is evaluated once per new individual (``budget`` evaluations in all); the population
ages out its oldest member, so a lucky early individual cannot dominate forever.
"""

from __future__ import annotations

import collections
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np

__all__ = ["Evaluated", "random_search", "regularized_evolution", "two_phase_evolution"]

T = TypeVar("T")
U = TypeVar("U")


@dataclass(frozen=True)
class Evaluated(Generic[T]):
    item: T
    fitness: float


def regularized_evolution(init: Callable[[np.random.Generator], T], mutate: Callable[[T, np.random.Generator], T],
                          fitness: Callable[[T], float], budget: int, population: int = 20, sample: int = 5,
                          seed: int = 0, start: list[T] | None = None) -> list[Evaluated[T]]:
    """Every evaluated individual in order; ``start`` seeds the population before random ``init``s."""
    rng = np.random.default_rng(seed)
    history: list[Evaluated[T]] = []
    pop: collections.deque[Evaluated[T]] = collections.deque()
    seeds = list(start or [])
    while len(history) < budget and len(pop) < population:
        item = seeds.pop(0) if seeds else init(rng)
        ev = Evaluated(item, float(fitness(item)))
        history.append(ev)
        pop.append(ev)
    while len(history) < budget:
        picks = rng.choice(len(pop), size=min(sample, len(pop)), replace=False)
        parent = max((pop[int(i)] for i in picks), key=lambda e: e.fitness)
        child = mutate(parent.item, rng)
        ev = Evaluated(child, float(fitness(child)))
        history.append(ev)
        pop.append(ev)
        pop.popleft()
    return history


def random_search(init: Callable[[np.random.Generator], T], fitness: Callable[[T], float], budget: int,
                  seed: int = 0) -> list[Evaluated[T]]:
    rng = np.random.default_rng(seed)
    return [Evaluated(item, float(fitness(item))) for item in (init(rng) for _ in range(budget))]


def two_phase_evolution(explore_init: Callable[[np.random.Generator], U],
                        explore_mutate: Callable[[U, np.random.Generator], U],
                        explore_fitness: Callable[[U], float],
                        exploit_init: Callable[[list[U], np.random.Generator], T],
                        exploit_mutate: Callable[[T, np.random.Generator], T],
                        exploit_fitness: Callable[[T], float], budget: int, explore_share: float = 0.3,
                        population: int = 20, sample: int = 5, seed: int = 0) -> tuple[list[Evaluated[U]], list[Evaluated[T]]]:
    """Phase 1 evolves coarse individuals (families) for ``explore_share`` of the budget; phase 2 evolves
    concrete networks drawn from the best families found (``exploit_init(best_families, rng)``)."""
    n1 = max(1, int(budget * explore_share))
    phase1 = regularized_evolution(explore_init, explore_mutate, explore_fitness, n1, population, sample, seed)
    best = [e.item for e in sorted(phase1, key=lambda e: -e.fitness)[:max(1, population // 4)]]
    phase2 = regularized_evolution(lambda rng: exploit_init(best, rng), exploit_mutate, exploit_fitness,
                                   budget - n1, population, sample, seed + 1)
    return phase1, phase2
