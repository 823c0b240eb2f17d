"""The canonical retrieval view (nar_model/canon.py): one design, one graph, whichever library wrote it."""

import json

import numpy as np
import pytest

from nar_data.hand import hand_graph
from nar_model.canon import canonical_graph
from nar_model.tokens import TokenFeaturizer

LIN = json.dumps({"bias": True, "in": 8, "out": 8}, separators=(",", ":"))
ATT = '{"causal":false,"head_dim":4,"heads":2,"kv_heads":2,"mask":false}'


def chain(ops, attrs=None, extra_edges=(), model_id="hand:g"):
    """input -> ops[0] -> ops[1] -> ... (plus ``extra_edges``), every node shaped (1, 4, 8)."""
    names = ["input", *ops, "output"]
    edges = [(i, i + 1) for i in range(len(names) - 1)] + list(extra_edges)
    return hand_graph(names, edges, model_id=model_id, shapes=[[1, 4, 8]] * len(names),
                      attrs=["", *(attrs or [""] * len(ops)), ""])


def signature(g):
    return list(zip(g.op_name, g.attrs)), sorted(zip(g.src.tolist(), g.dst.tolist()))


def test_layout_ops_are_contracted_and_the_stored_graph_is_untouched():
    plain = chain(["linear", "scaled_dot_product_attention", "linear"], [LIN, ATT, LIN])
    noisy = chain(["transpose", "linear", "unflatten", "view", "transpose", "contiguous",
                   "scaled_dot_product_attention", "permute", "view", "linear", "dropout"],
                  ["", LIN, "", "", "", "", ATT, "", "", LIN, ""])
    before = (list(noisy.op_name), noisy.arch_id, noisy.num_nodes)
    assert signature(canonical_graph(noisy)) == signature(canonical_graph(plain)) == signature(plain)
    assert (list(noisy.op_name), noisy.arch_id, noisy.num_nodes) == before
    assert canonical_graph(noisy).arch_id == noisy.arch_id  # ids are the stored graph's, never the view's


def test_separate_q_k_v_projections_read_as_one_fused_projection():
    # input -> norm -> {q, k, v} -> sdpa -> out: three parallel linears with one input and one consumer
    ops = ["input", "layer_norm", "linear", "linear", "linear", "scaled_dot_product_attention", "linear", "output"]
    edges = [(0, 1), (1, 2), (1, 3), (1, 4), (2, 5), (3, 5), (4, 5), (5, 6), (6, 7)]
    split = hand_graph(ops, edges, attrs=["", "", LIN, LIN, LIN, ATT, LIN, ""])
    fused = chain(["layer_norm", "linear", "scaled_dot_product_attention", "linear"], ["", LIN, ATT, LIN])
    assert signature(canonical_graph(split)) == signature(canonical_graph(fused))
    # a residual branch is not a parallel copy: a different consumer keeps both nodes
    two = hand_graph(["input", "relu", "relu", "add", "output"], [(0, 1), (0, 2), (1, 3), (2, 4), (3, 4)])
    assert canonical_graph(two).op_name.count("relu") == 2


def test_eager_attention_reads_as_the_fused_op():
    # q -> matmul(q, k) -> mul(scale) -> add(bias) -> softmax -> matmul(., v) -> out
    ops = ["input", "linear", "matmul", "mul", "add", "softmax", "matmul", "linear", "output"]
    edges = [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (5, 6), (1, 6), (6, 7), (7, 8)]
    eager = canonical_graph(hand_graph(ops, edges, attrs=["", LIN, "", "", "", "", "", LIN, ""]))
    assert eager.op_name == ["input", "linear", "scaled_dot_product_attention", "linear", "output"]
    assert signature(eager)[1] == [(0, 1), (1, 2), (2, 3), (3, 4)]


def test_pooling_synonyms_and_constants():
    ops = ["input", "conv2d", "mean", "linear", "output"]
    shapes = [[1, 3, 8, 8], [1, 4, 8, 8], [1, 4, 1, 1], [1, 10], [1, 10]]
    edges = [(0, 1), (1, 2), (2, 3), (3, 4)]
    conv = '{"dilation":[1,1],"groups":1,"in":3,"kernel":[3,3],"out":4,"stride":[1,1]}'
    a = canonical_graph(hand_graph(ops, edges, shapes=shapes, attrs=["", conv, "", LIN, ""]))
    ops_b = ["input", "conv2d", "adaptive_avg_pool2d", "flatten", "linear", "output"]
    b = canonical_graph(hand_graph(ops_b, [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5)],
                                   shapes=[shapes[0], shapes[1], [1, 4, 1, 1], [1, 4], [1, 10], [1, 10]],
                                   attrs=["", conv, '{"output":[1,1]}', "", LIN, ""]))
    assert a.op_name == b.op_name == ["input", "conv2d", "global_avg_pool", "linear", "output"]
    # a mean over the channels (an RMSNorm's) is not a pool
    rms = canonical_graph(hand_graph(["input", "pow", "mean", "output"], [(0, 1), (1, 2), (2, 3)],
                                     shapes=[[1, 5, 8], [1, 5, 8], [1, 5, 1], [1, 5, 1]]))
    assert "mean" in rms.op_name
    # a mask built from arange (no input reaches it) is not part of the data path
    masked = hand_graph(["input", "arange", "ge", "linear", "scaled_dot_product_attention", "output"],
                        [(0, 3), (1, 2), (2, 4), (3, 4), (4, 5)], attrs=["", "", "", LIN, ATT, ""])
    assert canonical_graph(masked).op_name == ["input", "linear", "scaled_dot_product_attention", "output"]
    # a pointwise convolution is a linear map over the channels
    pw = '{"bias":true,"dilation":[1,1],"groups":1,"in":8,"kernel":[1,1],"out":8,"stride":[1,1]}'
    assert canonical_graph(chain(["conv2d"], [pw])).op_name[1] == "linear"


def test_size_tokens_tell_widths_apart_where_the_design_tokens_do_not():
    def mlp(width, model_id):
        lin = json.dumps({"bias": True, "in": width, "out": width}, separators=(",", ":"))
        return chain(["linear", "gelu", "linear"], [lin, "", lin], model_id=model_id)

    narrow, wide = mlp(8, "hand:narrow"), mlp(32, "hand:wide")
    design = TokenFeaturizer(buckets=256, idf=False, channels=("op",)).fit([narrow, wide])
    size = TokenFeaturizer(buckets=256, idf=False, channels=("size",)).fit([narrow, wide])
    d, s = design.transform([narrow, wide]), size.transform([narrow, wide])
    assert d[0] @ d[1] == pytest.approx(1.0)
    assert s[0] @ s[1] < 0.5


def test_channel_shares_weight_the_cosine():
    a = chain(["linear", "gelu"], [LIN, ""], model_id="hand:a")
    b = chain(["linear", "relu"], [LIN, ""], model_id="hand:b")
    even = TokenFeaturizer(buckets=256, idf=False, channels=("op", "size")).fit([a, b]).transform([a, b])
    lopsided = TokenFeaturizer(buckets=256, idf=False, channels=("op", "size"), shares=(3.0, 1.0)).fit([a, b])
    x = lopsided.transform([a, b])
    assert np.allclose(np.linalg.norm(x, axis=1), 1.0, atol=1e-6)
    per = [TokenFeaturizer(buckets=256, idf=False, channels=(c,)).fit([a, b]).transform([a, b]) for c in ("op", "size")]
    cos = [p[0] @ p[1] for p in per]
    assert even[0] @ even[1] == pytest.approx((cos[0] + cos[1]) / 2, abs=1e-5)
    assert x[0] @ x[1] == pytest.approx(0.75 * cos[0] + 0.25 * cos[1], abs=1e-5)
    with pytest.raises(ValueError, match="one non-negative weight per channel"):
        TokenFeaturizer(channels=("op", "size"), shares=(1.0,))
    back = TokenFeaturizer.from_dict(lopsided.to_dict())
    assert np.allclose(back.transform([a, b]), x)


# --- level 2: the library conventions measured on the library set's twins ---------------------------------------

HEAD = json.dumps({"bias": True, "in": 8, "out": 1000}, separators=(",", ":"))


def test_level_2_drops_the_classification_head_and_the_pooler_not_the_trunk():
    trunk = ["linear", "relu", "linear", "relu", "linear"]
    timm = chain([*trunk, "layer_norm", "select", "linear"], [LIN, "", LIN, "", LIN, "", "", HEAD])  # norm, cls, head
    # transformers' XModel: the norm is an output, and so is the pooler (dense + tanh on the cls token)
    ops = ["input", *trunk, "layer_norm", "select", "linear", "tanh", "output"]
    edges = [(i, i + 1) for i in range(9)] + [(6, 10), (9, 10)]
    hf = hand_graph(ops, edges, shapes=[[1, 4, 8]] * 11, attrs=["", LIN, "", LIN, "", LIN, "", "", LIN, "", ""])
    a, b = canonical_graph(timm, 2), canonical_graph(hf, 2)
    assert a.op_name == b.op_name == ["input", *trunk, "layer_norm", "output"]
    assert canonical_graph(timm, 1).op_name.count("linear") == 4  # level 1 keeps it
    mlp = chain(["linear", "linear"], [LIN, LIN])  # mostly dense layers: nothing is a head
    assert canonical_graph(mlp, 2).op_name.count("linear") == 2


def test_level_2_reads_padding_masks_and_split_projections_as_one_convention():
    conv = lambda pad: json.dumps({"in": 4, "out": 4, "kernel": [3, 3], "stride": [1, 1], "padding": [pad, pad],
                                   "groups": 1}, separators=(",", ":"))
    folded = chain(["conv2d"], [conv(1)])
    padded = chain(["pad", "conv2d"], ["", conv(0)])  # transformers' MobileNetV2 pads with its own op
    assert signature(canonical_graph(folded, 2)) == signature(canonical_graph(padded, 2))
    assert signature(canonical_graph(folded, 1)) != signature(canonical_graph(padded, 1))
    masked = ATT.replace('"mask":false', '"mask":true')
    assert canonical_graph(chain(["scaled_dot_product_attention"], [masked]), 2).attrs[1] == \
        canonical_graph(chain(["scaled_dot_product_attention"], [ATT]), 2).attrs[1] == '{"causal":false,"head_dim":4,"heads":2}'
    # separate q, k, v of 8 read as one qkv projection of 24, as timm and torchvision write it
    ops = ["input", "layer_norm", "linear", "linear", "linear", "scaled_dot_product_attention", "relu", "output"]
    edges = [(0, 1), (1, 2), (1, 3), (1, 4), (2, 5), (3, 5), (4, 5), (5, 6), (6, 7)]
    split = hand_graph(ops, edges, attrs=["", "", LIN, LIN, LIN, ATT, "", ""])
    qkv = json.dumps({"bias": True, "in": 8, "out": 24}, separators=(",", ":"))
    fused = chain(["layer_norm", "linear", "scaled_dot_product_attention", "relu"], ["", qkv, ATT, ""])
    assert signature(canonical_graph(split, 2)) == signature(canonical_graph(fused, 2))


def test_level_2_drops_shape_only_mask_builders_and_cats_of_one_tensor():
    # x -> new_zeros(x.shape) -> fill -> eq -> masked_fill(attn, mask): the mask is a constant of the architecture
    ops = ["input", "linear", "new_zeros", "fill", "eq", "masked_fill", "relu", "output"]
    edges = [(0, 1), (1, 2), (2, 3), (3, 4), (1, 5), (4, 5), (5, 6), (6, 7)]
    g = hand_graph(ops, edges, shapes=[[1, 4, 8]] * 8, attrs=["", LIN, "", "", "", "", "", ""])
    assert canonical_graph(g, 2).op_name == ["input", "linear", "masked_fill", "relu", "output"]
    assert "new_zeros" in canonical_graph(g, 1).op_name
    # patch merging: four slices of one tensor put back together is a reshape
    ops = ["input", "linear", "slice", "slice", "cat", "relu", "output"]
    merged = hand_graph(ops, [(0, 1), (1, 2), (1, 3), (2, 4), (3, 4), (4, 5), (5, 6)], shapes=[[1, 4, 8]] * 7,
                        attrs=["", LIN, "", "", "", "", ""])
    assert canonical_graph(merged, 2).op_name == ["input", "linear", "relu", "output"]
    with pytest.raises(ValueError, match="level"):
        canonical_graph(merged, 4)


def test_level_2_reads_a_channels_last_or_token_mean_as_the_global_pool():
    for shape in ([1, 7, 7, 8], [1, 49, 8]):
        g = hand_graph(["input", "relu", "mean", "output"], [(0, 1), (1, 2), (2, 3)],
                       shapes=[shape, shape, [1, 8], [1, 8]])
        assert canonical_graph(g, 2).op_name[2] == "global_avg_pool"
        assert canonical_graph(g, 1).op_name[2] == "mean"
    rms = hand_graph(["input", "pow", "mean", "output"], [(0, 1), (1, 2), (2, 3)],
                     shapes=[[1, 49, 8], [1, 49, 8], [1, 49, 1], [1, 49, 1]])
    assert canonical_graph(rms, 2).op_name[2] == "mean"  # a norm's mean over the channels is not a pool


def _swinv2_pair():
    """The stored graphs of timm's swinv2_tiny_window8_256 and transformers' Swinv2Model (data/all, tracer 2.0):
    one design, cosine attention written as a fused qkv in timm and three projections in transformers."""
    import gzip
    from pathlib import Path

    from nar_data.schema import Graph

    rows = json.loads(gzip.open(Path(__file__).parents[1] / "fixtures" / "swinv2_pair.json.gz", "rt").read())
    return [Graph.from_row(r) for r in rows]


def test_level_3_reads_swinv2_cosine_attention_from_timm_and_transformers_as_one_design():
    timm, hf = _swinv2_pair()
    a, b = canonical_graph(timm, 3), canonical_graph(hf, 3)
    assert a.op_name == b.op_name and a.attrs == b.attrs
    out = a.op_name.index("output")  # transformers also returns the last hidden state: one more output edge
    assert {e for e in signature(a)[1] if e[1] != out} == {e for e in signature(b)[1] if e[1] != out}
    assert a.op_name.count("l2_normalize") == 12 and "linalg_vector_norm" not in a.op_name  # one per block
    # level 2 leaves transformers' q, k, v apart (their normalisations make the consumers differ)
    a2, b2 = canonical_graph(timm, 2), canonical_graph(hf, 2)
    assert a2.op_name != b2.op_name and len(b2.op_name) > len(b.op_name)
    cos = {}
    for level in (2, 3):
        f = TokenFeaturizer(canon=True, canon_level=level, idf=False, channels=("op", "size"), tf="binary")
        x = f.fit_transform([timm, hf]).reshape(2, 2, -1)
        cos[level] = (x[0] * x[1]).sum(-1) / np.linalg.norm(x[0], axis=-1) / np.linalg.norm(x[1], axis=-1)
    assert cos[3].min() > 0.9 and cos[2].max() < 0.7  # op and size tokens: .92 / .98 at level 3, .35 / .63 at 2


def test_level_3_fuses_f_normalize_and_merges_copies_through_it():
    lin = LIN
    # input -> ln -> {q, k, v}; q, k -> norm -> clamp_min -> div; sdpa(q', k', v) -> out
    ops = ["input", "layer_norm", "linear", "linear", "linear", "linalg_vector_norm", "clamp_min", "div",
           "linalg_vector_norm", "clamp_min", "div", "scaled_dot_product_attention", "relu", "output"]
    edges = [(0, 1), (1, 2), (1, 3), (1, 4), (2, 5), (5, 6), (6, 7), (2, 7), (3, 8), (8, 9), (9, 10), (3, 10),
             (7, 11), (10, 11), (4, 11), (11, 12), (12, 13)]
    split = canonical_graph(hand_graph(ops, edges, attrs=["", "", lin, lin, lin] + [""] * 6 + [ATT, "", ""]), 3)
    assert split.op_name == ["input", "layer_norm", "linear", "l2_normalize", "scaled_dot_product_attention",
                             "relu", "output"]
    assert json.loads(split.attrs[2])["out"] == 24
    # a division by something else is not a normalisation
    other = canonical_graph(hand_graph(["input", "relu", "linalg_vector_norm", "div", "output"],
                                       [(0, 1), (0, 2), (1, 3), (2, 3), (3, 4)]), 3)
    assert "l2_normalize" not in other.op_name and "div" in other.op_name
