"""NAS-Bench-Graph (Qin et al., 2022) as a second space with real labels, to check the search loop.

An architecture is a link pattern (9 canonical ones) and 4 GNN operations (9 choices); the package's
tables give the measured validation accuracy of the 26 206 distinct ones per dataset. A look-up is one
fitness evaluation. The optional dependency is ``nas-bench-graph`` (extra ``generate``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..metrics import bootstrap_ci
from .evolution import random_search, regularized_evolution

__all__ = ["NBGSpace", "nbg_compare", "sign_test"]

LINKS = 9
OPS = 9
BASE = OPS + 1  # the package's hash: link index, then each op, in base 10


class NBGSpace:
    """The table of one dataset: keys are the package's architecture hashes."""

    def __init__(self, dataset: str = "cora") -> None:
        try:
            from nas_bench_graph import light_read
        except ImportError as e:
            raise ImportError("NAS-Bench-Graph needs the optional extra: pip install 'nas-bench-graph==1.4.0'") from e
        table = light_read(dataset)
        self.keys = np.array(sorted(table), dtype=np.int64)
        self.valid = {int(k): float(table[k]["valid_perf"]) for k in self.keys}
        self.test = {int(k): float(table[k]["perf"]) for k in self.keys}

    @staticmethod
    def decode(key: int) -> tuple[int, list[int]]:
        ops = []
        for _ in range(4):
            key, op = divmod(key, BASE)
            ops.append(op)
        return key, ops[::-1]

    @staticmethod
    def encode(link: int, ops: list[int]) -> int:
        key = link
        for op in ops:
            key = key * BASE + op
        return key

    def init(self, rng: np.random.Generator) -> int:
        return int(self.keys[rng.integers(len(self.keys))])

    def mutate(self, key: int, rng: np.random.Generator) -> int:
        """Change the link pattern or one operation; retry until the result is a tabulated architecture."""
        for _ in range(100):
            link, ops = self.decode(key)
            if rng.random() < 0.2:
                link = int(rng.integers(LINKS))
            else:
                ops[int(rng.integers(4))] = int(rng.integers(OPS))
            new = self.encode(link, ops)
            if new in self.valid and new != key:
                return new
        return self.init(rng)


def sign_test(wins: int, losses: int) -> float:
    """Two-sided exact sign test p-value of ``wins`` against ``losses`` (ties left out)."""
    n = wins + losses
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(wins, losses) + 1)) / 2 ** n
    return min(1.0, 2 * tail)


def nbg_compare(dataset: str = "cora", budget: int = 500, seeds: int = 20, tops: tuple[float, ...] = (0.05, 0.01, 0.005),
                population: int = 20, sample: int = 5) -> dict[str, Any]:
    """How often evolution and random search, ``budget`` look-ups each, find an architecture in the top
    fraction ``f`` (by validation accuracy) for each ``f`` of ``tops``, over ``seeds`` seeds. Each entry also
    has ``random_expected`` = ``seeds * (1 - (1 - f) ** budget)`` (random search's chance, sampling with
    replacement), which says where the comparison saturates."""
    space = NBGSpace(dataset)
    vals = np.array(sorted(space.valid.values()))
    out: dict[str, Any] = {"dataset": dataset, "architectures": len(vals), "budget": budget, "seeds": seeds}
    best: dict[str, list[float]] = {"evolution": [], "random": []}
    for s in range(seeds):
        runs = {"evolution": regularized_evolution(space.init, space.mutate, space.valid.__getitem__, budget,
                                                   population, sample, seed=s),
                "random": random_search(space.init, space.valid.__getitem__, budget, seed=s)}
        for name, hist in runs.items():
            best[name].append(max(e.fitness for e in hist))
    evo, rnd = np.array(best["evolution"]), np.array(best["random"])
    # the best found as a top fraction: the share of architectures at least as good
    frac_of = lambda b: float(np.mean(vals >= b))  # noqa: E731
    out["evolution_top_fraction_median"] = float(np.median([frac_of(b) for b in evo]))
    out["random_top_fraction_median"] = float(np.median([frac_of(b) for b in rnd]))
    out["seeds_evolution_better"] = int((evo > rnd).sum())
    out["seeds_random_better"] = int((rnd > evo).sum())
    out["sign_test_p"] = sign_test(out["seeds_evolution_better"], out["seeds_random_better"])
    # regret = best validation accuracy in the table minus the best found (accuracy points x 100), and the
    # paired per-seed difference random - evolution with its bootstrap 95 % CI (> 0: evolution better)
    top = float(vals[-1])
    regret_evo, regret_rnd = 100 * (top - evo), 100 * (top - rnd)
    out["evolution_regret_median"] = float(np.median(regret_evo))
    out["random_regret_median"] = float(np.median(regret_rnd))
    lo, mean, hi = bootstrap_ci(regret_rnd - regret_evo)
    out["regret_diff_random_minus_evolution"] = {"mean": mean, "ci95": [lo, hi]}
    for frac in tops:
        thr = float(np.quantile(vals, 1 - frac))
        he, hr = evo >= thr, rnd >= thr
        # paired exact test on the discordant seeds (McNemar's exact form = a sign test)
        only_evo, only_rnd = int((he & ~hr).sum()), int((hr & ~he).sum())
        out[f"top{frac:g}"] = {"threshold": thr, "evolution_hits": int(he.sum()),
                               "random_hits": int(hr.sum()),
                               "random_expected": seeds * (1 - (1 - frac) ** budget),
                               "discordant_evolution_random": [only_evo, only_rnd],
                               "mcnemar_exact_p": sign_test(only_evo, only_rnd),
                               "evolution_best_mean": float(evo.mean()), "random_best_mean": float(rnd.mean())}
    return out
