"""Fixtures of the nar_model tests: hand-written tiny graph families (no tracing, milliseconds to build)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from nar_data.schema import Graph
from nar_data.hand import hand_graph


def block_graph(block: list[str], residual: bool, repeats: int, width: int, family: str, coarse: str,
                model_id: str, stem: tuple[str, ...] = ("conv2d",)) -> Graph:
    """input -> stem -> ``repeats`` x block (optionally with a residual add) -> mean -> linear -> output."""
    ops, edges, shapes = ["input"], [], [[1, 3, 32, 32]]

    def add(op: str, *inputs: int) -> int:
        ops.append(op)
        shapes.append([1, width, 8, 8])
        edges.extend((i, len(ops) - 1) for i in inputs)
        return len(ops) - 1

    x = 0
    for op in stem:
        x = add(op, x)
    for _ in range(repeats):
        h = x
        for op in block:
            h = add(op, h)
        x = add("add", h, x) if residual else h
    x = add("mean", x)
    x = add("linear", x)
    add("output", x)
    return hand_graph(ops, edges, model_id=model_id, shapes=shapes, family=family, coarse=coarse, source="hand")


FAMILIES = {
    "resnetish": (["conv2d", "batch_norm", "relu", "conv2d", "batch_norm"], True, "cnn"),
    "vggish": (["conv2d", "relu", "max_pool2d"], False, "cnn"),
    "vitish": (["layer_norm", "linear", "softmax", "matmul", "linear"], True, "transformer"),
    "mlpish": (["linear", "gelu", "linear", "dropout"], True, "mlp"),
    "convnextish": (["conv2d", "layer_norm", "linear", "gelu", "linear", "mul"], True, "cnn"),
    "mixerish": (["layer_norm", "transpose", "linear", "gelu", "linear", "transpose"], True, "mlp"),
}


def tiny_families(per_family: int = 4) -> list[Graph]:
    graphs = []
    for fam, (block, residual, coarse) in FAMILIES.items():
        for i in range(per_family):
            graphs.append(block_graph(block, residual, repeats=2 + i, width=16 * (1 + i % 2), family=fam,
                                      coarse=coarse, model_id=f"hand:{fam}-{i}"))
    return graphs


@pytest.fixture(scope="session")
def tiny_graphs() -> list[Graph]:
    return tiny_families()


@pytest.fixture(scope="session")
def make_block_graph() -> Callable[..., Graph]:
    return block_graph


@pytest.fixture(scope="session")
def make_tiny_families() -> Callable[..., list[Graph]]:
    return tiny_families
