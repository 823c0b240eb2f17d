"""Hashed Weisfeiler-Lehman histograms of labelled directed graphs (numpy only): the shared core of the
training-free WL encoders and of the token featuriser of the `nar` encoder."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["depth_wl_histogram", "labelled_wl_histogram", "wl_rounds"]

_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31 = np.uint64(30), np.uint64(27), np.uint64(31)

def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser, elementwise on uint64 (wrapping arithmetic is the point)."""
    x = (x ^ (x >> _S30)) * _M1
    x = (x ^ (x >> _S27)) * _M2
    return x ^ (x >> _S31)


@functools.lru_cache(maxsize=65536)
def _label_code(label: str) -> int:
    return int.from_bytes(hashlib.blake2b(label.encode(), digest_size=8).digest(), "little")


def wl_rounds(labels: Sequence[str], src: Any, dst: Any, iterations: int = 3) -> list[np.ndarray]:
    """uint64 WL label of every node at rounds 0..iterations, in- and out-neighbours kept apart.

    Vectorised: a node's new label mixes its own label with the *sums* of its in- and out-neighbours'
    mixed labels (a multiset hash: order-free, collisions at 2^-64), so a round is a few numpy
    passes instead of a Python loop over nodes. Only for histograms: `nar_data.fingerprint.arch_id`
    keeps its own (sorted, byte-exact) WL so that arch ids never change.
    """
    src, dst = np.asarray(src, dtype=np.int64), np.asarray(dst, dtype=np.int64)
    cur = np.fromiter((_label_code(str(lab)) for lab in labels), dtype=np.uint64, count=len(labels))
    rounds = [cur]
    with np.errstate(over="ignore"):
        for k in range(iterations):
            f = _mix(cur)
            ins = np.zeros_like(cur)
            outs = np.zeros_like(cur)
            np.add.at(ins, dst, f[src])
            np.add.at(outs, src, _mix(f[dst] ^ np.uint64(0x5555555555555555)))
            cur = _mix(cur ^ _mix(ins + np.uint64(k + 1)) ^ (_mix(outs) * np.uint64(3)))
            rounds.append(cur)
    return rounds


def labelled_wl_histogram(labels: Sequence[str], src: Any, dst: Any, iterations: int = 3,
                          buckets: int = 4096) -> np.ndarray:
    """(buckets,) ``log1p`` counts of the WL labels of any labelled DAG (op graph, or macro graph of motifs)."""
    hist = np.zeros(buckets, dtype=np.float32)
    with np.errstate(over="ignore"):
        for k, codes in enumerate(wl_rounds(labels, src, dst, iterations)):
            idx = (_mix(codes ^ np.uint64(k * 0x9E3779B97F4A7C15 % 2**64)) % np.uint64(buckets)).astype(np.int64)
            np.add.at(hist, idx, 1.0)
    return np.log1p(hist)


def depth_wl_histogram(labels: Sequence[str], src: Any, dst: Any, iterations: int = 1,
                       buckets: int = 4096) -> np.ndarray:
    """(buckets,) ``log1p`` counts of (WL label, ``floor(log2(count))``) tokens: each distinct WL label of a
    round counts once, under the power of two its number of nodes falls in. Its presence tells a label seen
    6 times (one stage of ``swin_tiny``) from one seen 18 times (``swin_small``); equal graphs stay equal."""
    hist = np.zeros(buckets, dtype=np.float32)
    with np.errstate(over="ignore"):
        for k, codes in enumerate(wl_rounds(labels, src, dst, iterations)):
            uniq, count = np.unique(codes, return_counts=True)
            depth = np.floor(np.log2(count)).astype(np.uint64)
            key = _mix(uniq ^ np.uint64(k * 0x9E3779B97F4A7C15 % 2**64)) ^ _mix(depth + np.uint64(0x1F3D5B79))
            idx = (_mix(key) % np.uint64(buckets)).astype(np.int64)
            np.add.at(hist, idx, 1.0)
    return np.log1p(hist)
