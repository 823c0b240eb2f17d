"""Leak-free splits: whole families are held out (group split / group k-fold), with a fixed seed.

Graphs of family ``unknown`` always stay in the training side: they are never queries nor
relevant items, only distractors in the database.

`split_units` joins families that must fall on one side (a near-twin pair across two families, a
twin pair, a query group spread over two labels): the splits then deal out those units, so no
near-copy of a test graph is ever trained on.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .disjoint import DisjointSets

__all__ = ["family_kfold", "family_split", "split_units"]

UNKNOWN = "unknown"


def _families(families: Sequence[str], seed: int) -> list[str]:
    names = sorted({f for f in families if f and f != UNKNOWN})
    rng = np.random.default_rng(seed)
    return [names[i] for i in rng.permutation(len(names))]


def family_split(families: Sequence[str], test_fraction: float = 0.3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``(train_idx, test_idx)``: families taken in a seeded random order until ``test_fraction`` of
    the labelled graphs are held out. No family is on both sides."""
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    fam = np.asarray(families, dtype=object)
    labelled = int(np.sum((fam != UNKNOWN) & (fam != "")))
    held: set[str] = set()
    count = 0
    for name in _families(families, seed):
        if count >= test_fraction * labelled:
            break
        held.add(name)
        count += int(np.sum(fam == name))
    test = np.asarray([f in held for f in families], dtype=bool)
    return np.flatnonzero(~test), np.flatnonzero(test)


def family_kfold(families: Sequence[str], k: int = 5, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """``k`` (train_idx, test_idx) folds; each labelled family is held out in exactly one fold.

    Families are dealt largest first onto the currently smallest fold, so folds have similar sizes.
    """
    if k < 2:
        raise ValueError(f"k-fold needs k >= 2, got {k}")
    fam = np.asarray(families, dtype=object)
    names = _families(families, seed)
    sizes = {n: int(np.sum(fam == n)) for n in names}
    folds: list[set[str]] = [set() for _ in range(k)]
    load = [0] * k
    for name in sorted(names, key=lambda n: -sizes[n]):  # stable: ties keep the seeded order
        j = int(np.argmin(load))
        folds[j].add(name)
        load[j] += sizes[name]
    out = []
    for held in folds:
        test = np.asarray([f in held for f in families], dtype=bool)
        out.append((np.flatnonzero(~test), np.flatnonzero(test)))
    return out


def split_units(families: Sequence[str], links: "np.ndarray | Sequence[tuple[int, int]]") -> list[str]:
    """One split label per graph: families joined (union-find) wherever a link ``(i, j)`` crosses two.

    ``unknown`` graphs keep their label (train side). A unit is named by its sorted family names
    joined with ``+``, so a family without links keeps its own name.
    """
    names = sorted({f for f in families if f and f != UNKNOWN})
    sets = DisjointSets(names)
    for i, j in np.asarray(links, dtype=np.int64).reshape(-1, 2):
        a, b = families[int(i)], families[int(j)]
        if a in sets and b in sets and a != b:
            ra, rb = sets.find(a), sets.find(b)
            sets.union(min(ra, rb), max(ra, rb))
    members: dict[str, list[str]] = {}
    for n in names:
        members.setdefault(sets.find(n), []).append(n)
    label = {n: "+".join(members[sets.find(n)]) for n in names}
    return [label.get(f, f) for f in families]
