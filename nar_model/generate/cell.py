"""The cell space: an 8-node DAG (input, 6 operation nodes, output), its sampling, repair, hash and encoding.

A node sums its inputs. Operation nodes carry one of `OPS`, a kernel of `KERNELS` and an optional
squeeze-excite; node ``i`` (1..6) draws 1..i parents among nodes ``0..i-1``, so every node is reachable
from the input; childless operation nodes feed the output (no loose ends), and a cell has at least
`MIN_EDGES` edges. Canonical form: ``skip`` has kernel 1 and no SE, ``avg_pool`` has kernel >= 3, so two
spellings of one computation share a hash.

Encoding (the G-VAE's input): a global node prepended to the 8 cell nodes, a 9 x 9 upper-triangular
adjacency (the global node feeds every node) and 15 features per node: a one-hot over the 13 node types
(global, input, output, the 10 ops), the kernel index / 2 and the SE flag.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

__all__ = ["Cell", "KERNELS", "NODES", "NODE_TYPES", "NUM_FEATURES", "OPS", "cell_hash", "decode_cell",
           "encode_cell", "is_valid", "repair", "sample_cell", "sample_cells"]

OPS = ("skip", "avg_pool", "conv", "sep_conv", "dil_conv", "mbconv_e2", "mbconv_e3", "mbconv_e6",
       "bottleneck_r0.5", "bottleneck_r0.25")
KERNELS = (1, 3, 5)
NODES = 8  # input, 6 operation nodes, output
OP_NODES = NODES - 2
MIN_EDGES = 3
NODE_TYPES = ("global", "input", "output", *OPS)
NUM_FEATURES = len(NODE_TYPES) + 2  # one-hot type, kernel index / 2, SE flag


@dataclass(frozen=True)
class Cell:
    """One cell. ``ops``/``kernels``/``se`` are per operation node (nodes 1..6); ``adj[i, j]`` = edge i -> j
    over all 8 nodes (strictly upper triangular: node 0 is the input, node 7 the output)."""

    ops: tuple[int, ...]
    kernels: tuple[int, ...]
    se: tuple[bool, ...]
    adj: tuple[tuple[int, ...], ...]

    @property
    def matrix(self) -> np.ndarray:
        return np.asarray(self.adj, dtype=np.int64)

    @property
    def num_edges(self) -> int:
        return int(self.matrix.sum())

    def op_names(self) -> list[str]:
        return [OPS[o] for o in self.ops]

    def describe(self) -> str:
        """Compact text: one ``op/k[+se]<-parents`` per operation node."""
        m = self.matrix
        parts = []
        for i in range(OP_NODES):
            parents = ",".join(str(p) for p in np.nonzero(m[:, i + 1])[0])
            parts.append(f"{OPS[self.ops[i]]}/{self.kernels[i]}{'+se' if self.se[i] else ''}<-{parents}")
        return " ".join(parts) + " | out<-" + ",".join(str(p) for p in np.nonzero(m[:, NODES - 1])[0])


def _canonical(op: int, kernel: int, se: bool) -> tuple[int, int, bool]:
    name = OPS[op]
    if name == "skip":
        return op, 1, False
    if name == "avg_pool" and kernel == 1:
        return op, 3, se
    return op, kernel, se


def _make(ops: list[int], kernels: list[int], se: list[bool], m: np.ndarray) -> Cell:
    canon = [_canonical(int(o), int(k), bool(s)) for o, k, s in zip(ops, kernels, se)]
    return Cell(tuple(c[0] for c in canon), tuple(c[1] for c in canon), tuple(c[2] for c in canon),
                tuple(tuple(int(v) for v in row) for row in np.triu(m, 1)))


def sample_cell(rng: np.random.Generator) -> Cell:
    """Draw one valid cell: node ``i`` picks ``1..i`` parents uniformly; loose ends feed the output."""
    while True:
        m = np.zeros((NODES, NODES), dtype=np.int64)
        for i in range(1, OP_NODES + 1):
            k = int(rng.integers(1, i + 1))
            m[rng.choice(i, size=k, replace=False), i] = 1
        ops = rng.integers(0, len(OPS), OP_NODES).tolist()
        kernels = [KERNELS[j] for j in rng.integers(0, len(KERNELS), OP_NODES)]
        se = (rng.random(OP_NODES) < 0.25).tolist()
        cell = repair(_make(ops, kernels, se, m))
        if cell.num_edges >= MIN_EDGES:
            return cell


def sample_cells(n: int, seed: int = 0) -> list[Cell]:
    """``n`` distinct cells (deduplicated by `cell_hash`), the same for the same seed."""
    rng = np.random.default_rng(seed)
    seen: dict[str, Cell] = {}
    while len(seen) < n:
        c = sample_cell(rng)
        seen.setdefault(cell_hash(c), c)
    return list(seen.values())


def repair(cell: Cell) -> Cell:
    """Make a decoded cell valid: orphan operation nodes get the previous node as parent, childless
    operation nodes feed the output, nodes unreachable from the input lose their out-edges (so they are
    pruned from the computation), the output gets a parent if it has none."""
    m = np.triu(cell.matrix, 1).copy()
    for i in range(1, NODES - 1):
        if m[:i, i].sum() == 0:
            m[i - 1, i] = 1
    reach = np.zeros(NODES, dtype=bool)
    reach[0] = True
    for j in range(1, NODES):
        reach[j] = bool((m[:j, j] * reach[:j]).any())
    m[~reach, :] = 0
    for i in range(1, NODES - 1):
        if reach[i] and m[i, i + 1:].sum() == 0:
            m[i, NODES - 1] = 1
    if m[:, NODES - 1].sum() == 0:
        m[0, NODES - 1] = 1
    return _make(list(cell.ops), list(cell.kernels), list(cell.se), m)


def live_nodes(cell: Cell) -> np.ndarray:
    """Boolean (8,): nodes on some input -> output path (the ones that compute anything)."""
    m = cell.matrix
    fwd = np.zeros(NODES, dtype=bool)
    fwd[0] = True
    for j in range(1, NODES):
        fwd[j] = bool((m[:j, j] * fwd[:j]).any())
    back = np.zeros(NODES, dtype=bool)
    back[-1] = True
    for i in range(NODES - 2, -1, -1):
        back[i] = bool((m[i, i + 1:] * back[i + 1:]).any())
    return fwd & back


def is_valid(cell: Cell) -> bool:
    """A DAG whose every operation node has a parent and a child, with an input -> output path and at least
    `MIN_EDGES` edges."""
    m = cell.matrix
    if np.tril(m).any() or cell.num_edges < MIN_EDGES:
        return False
    has_parent = m[:, 1:].sum(0) > 0
    has_child = m[:-1, :].sum(1) > 0
    return bool(has_parent.all() and has_child.all() and live_nodes(cell).all())


def _labels(cell: Cell) -> list[str]:
    ops = [f"{OPS[o]}/{k}/{int(s)}" for o, k, s in zip(cell.ops, cell.kernels, cell.se)]
    return ["input", *ops, "output"]


def cell_hash(cell: Cell, rounds: int = 4) -> str:
    """Isomorphism-invariant hash (WL over in- and out-neighbours, labels = op/kernel/SE), 16 hex chars."""
    m = cell.matrix
    labels = _labels(cell)
    for _ in range(rounds):
        labels = [hashlib.blake2b("|".join([labels[i], ",".join(sorted(labels[p] for p in np.nonzero(m[:, i])[0])),
                                            ",".join(sorted(labels[c] for c in np.nonzero(m[i])[0]))]).encode(),
                                  digest_size=8).hexdigest() for i in range(NODES)]
    return hashlib.blake2b(",".join(sorted(labels)).encode(), digest_size=8).hexdigest()


def encode_cell(cell: Cell) -> tuple[np.ndarray, np.ndarray]:
    """(9, 9) float32 upper-triangular adjacency with the global node first, and (9, 15) float32 features."""
    a = np.zeros((NODES + 1, NODES + 1), dtype=np.float32)
    a[0, 1:] = 1.0
    a[1:, 1:] = cell.matrix
    x = np.zeros((NODES + 1, NUM_FEATURES), dtype=np.float32)
    x[0, 0], x[1, 1], x[NODES, 2] = 1.0, 1.0, 1.0
    for i in range(OP_NODES):
        x[i + 2, 3 + cell.ops[i]] = 1.0
        x[i + 2, len(NODE_TYPES)] = KERNELS.index(cell.kernels[i]) / 2
        x[i + 2, len(NODE_TYPES) + 1] = float(cell.se[i])
    return a, x


def decode_cell(adj: np.ndarray, ops: np.ndarray, kernels: np.ndarray, se: np.ndarray,
                fix: bool = True) -> Cell:
    """Cell from decoded arrays: ``adj`` (8, 8) 0/1 over the cell nodes (upper triangle used), ``ops`` /
    ``kernels`` (kernel indices) / ``se`` per operation node. ``fix`` applies `repair`."""
    m = np.triu(np.asarray(adj, dtype=np.int64) > 0, 1).astype(np.int64)
    kern = [KERNELS[int(k)] for k in kernels]
    cell = _make([int(o) for o in ops], kern, [bool(s) for s in se], m)
    return repair(cell) if fix else cell
