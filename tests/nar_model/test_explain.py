"""`nar_model.explain` on tiny hand-made graphs: blocks by module path, shared motifs, op diffs, summary."""

from __future__ import annotations

from nar_data.schema import Graph
from nar_data.testing import hand_graph
from nar_model.explain import block_kind, block_stages, depth, explain

BOTTLENECK = ["conv2d", "batch_norm", "relu", "conv2d", "batch_norm", "relu", "conv2d", "batch_norm"]
BASIC = ["conv2d", "batch_norm", "relu", "conv2d", "batch_norm"]


def resnet_like(stages: tuple[int, ...], block: list[str], model_id: str, params: int = 1000) -> Graph:
    """stem -> stages of residual blocks (module ``layer<s>.<b>.*``; a 1-op ``downsample.0`` in each first
    block) -> linear head."""
    ops, edges, modules = ["input", "conv2d"], [(0, 1)], ["", "stem"]
    x = 1
    for s, n in enumerate(stages, start=1):
        for b in range(n):
            h = x
            for j, op in enumerate(block):
                ops.append(op)
                modules.append(f"layer{s}.{b}.op{j}")
                edges.append((h, len(ops) - 1))
                h = len(ops) - 1
            skip = x
            if b == 0:
                ops.append("conv2d")
                modules.append(f"layer{s}.{b}.downsample.0")
                edges.append((x, len(ops) - 1))
                skip = len(ops) - 1
            ops.append("add")
            modules.append(f"layer{s}.{b}")
            edges += [(h, len(ops) - 1), (skip, len(ops) - 1)]
            x = len(ops) - 1
    for op in ("mean", "linear", "output"):
        ops.append(op)
        modules.append("head" if op == "linear" else "")
        edges.append((x, len(ops) - 1))
        x = len(ops) - 1
    g = hand_graph(ops, edges, model_id=model_id, num_params=params)
    return g.replace(module=modules)


def test_blocks_follow_module_paths_and_name_their_kind() -> None:
    g = resnet_like((3, 4, 6, 3), BOTTLENECK, "hand:r50")
    stages = block_stages(g)
    # the one-op downsample.0 stays inside its block instead of becoming a stage of its own
    assert stages.counts == (3, 4, 6, 3) and stages.kind == "bottleneck"
    assert stages.describe() == "4 stages of bottleneck blocks 3-4-6-3"
    assert block_stages(resnet_like((2, 2), BASIC, "hand:r")).kind == "basic residual"
    flat = hand_graph(["input", "linear", "output"], [(0, 1), (1, 2)])
    assert block_stages(flat).counts == () and block_stages(flat).describe() == ""


def test_block_kind_reads_ops() -> None:
    from collections import Counter

    assert block_kind(Counter({"scaled_dot_product_attention": 1, "linear": 6})) == "transformer layer"
    assert block_kind(Counter({"conv2d": 2})) == "2-conv"
    assert block_kind(Counter({"linear": 2, "gelu": 1})) == "MLP"


def test_depth_counts_weight_ops_on_the_longest_path() -> None:
    # input -> conv -> relu -> conv -> add <- (skip from the first conv); linear head
    g = hand_graph(["input", "conv2d", "relu", "conv2d", "add", "linear", "output"],
                   [(0, 1), (1, 2), (2, 3), (3, 4), (1, 4), (4, 5), (5, 6)])
    assert depth(g) == 3


def test_explain_same_stages_other_widths() -> None:
    a = resnet_like((3, 4, 6, 3), BOTTLENECK, "hand:r50", params=25_000_000)
    b = resnet_like((3, 4, 6, 3), BOTTLENECK, "hand:wide", params=68_000_000)
    e = explain(a, b)
    assert e.summary == "both: 4 stages of bottleneck blocks 3-4-6-3; differs: widths (25.0M vs 68.0M parameters)"
    assert e.op_differences == ()
    assert e.stats["parameters"] == (25_000_000, 68_000_000) and e.stats["depth"][0] == e.stats["depth"][1]
    # the repeated bottleneck is a shared motif, counted in both
    assert e.shared_motifs and all(m.query >= 1 and m.match >= 1 for m in e.shared_motifs)


def test_explain_other_blocks_and_counts_says_what_differs() -> None:
    a = resnet_like((3, 4, 6, 3), BOTTLENECK, "hand:r50")
    b = resnet_like((3, 4, 6, 3), BASIC, "hand:r34")
    e = explain(a, b)
    assert e.summary.startswith("both: 4 stages of blocks 3-4-6-3; differs: bottleneck vs basic residual blocks")
    diff = {d.op: (d.query, d.match) for d in e.op_differences}
    assert diff["conv2d"][0] > diff["conv2d"][1]
    deeper = explain(a, resnet_like((3, 4, 23, 3), BOTTLENECK, "hand:r101"))
    assert deeper.summary.startswith("both: bottleneck blocks; differs: blocks 3-4-6-3 vs 3-4-23-3")


def test_explanation_is_plain_json() -> None:
    import json

    a = resnet_like((2, 2), BOTTLENECK, "hand:a")
    d = explain(a, resnet_like((2, 3), BOTTLENECK, "hand:b")).to_dict()
    assert json.loads(json.dumps(d)) == d
    assert d["query_blocks"]["text"] == "2 stages of bottleneck blocks 2-2" and d["stats"]["nodes"][0] > 0
