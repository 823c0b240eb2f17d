"""NAS-Bench-Graph (Qin et al., 2022) as a second space with real labels, to check the search loop.

An architecture is a link pattern (9 canonical ones) and 4 GNN operations (9 choices); the package's
tables give the measured validation accuracy of the 26 206 distinct ones per dataset. A look-up is one
fitness evaluation. The optional dependency is ``nas-bench-graph`` (extra ``generate``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .evolution import random_search, regularized_evolution

__all__ = ["NBGSpace", "nbg_compare"]

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


def nbg_compare(dataset: str = "cora", budget: int = 500, seeds: int = 20, top: float = 0.05,
                population: int = 20, sample: int = 5) -> dict[str, Any]:
    """How often evolution and random search, ``budget`` look-ups each, find a top-``top`` architecture
    (by validation accuracy; a stricter top-0.5 % is reported too), over ``seeds`` seeds."""
    space = NBGSpace(dataset)
    vals = np.array(sorted(space.valid.values()))
    out: dict[str, Any] = {"dataset": dataset, "architectures": len(vals), "budget": budget, "seeds": seeds}
    for frac in (top, 0.005):
        thr = float(np.quantile(vals, 1 - frac))
        hits = {"evolution": 0, "random": 0}
        best = {"evolution": [], "random": []}
        for s in range(seeds):
            runs = {"evolution": regularized_evolution(space.init, space.mutate, space.valid.__getitem__, budget,
                                                       population, sample, seed=s),
                    "random": random_search(space.init, space.valid.__getitem__, budget, seed=s)}
            for name, hist in runs.items():
                b = max(e.fitness for e in hist)
                best[name].append(b)
                hits[name] += int(b >= thr)
        out[f"top{frac:g}"] = {"threshold": thr, "evolution_hits": hits["evolution"], "random_hits": hits["random"],
                               "evolution_best_mean": float(np.mean(best["evolution"])),
                               "random_best_mean": float(np.mean(best["random"]))}
    return out
