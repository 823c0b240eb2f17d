"""Token featuriser options (nar_model/tokens.py): binary presence, the stored graph's motif channel, fit_transform."""

import json

import numpy as np
import pytest

from nar_data.hand import hand_graph
from nar_model.config import EncoderConfig
from nar_model.tokens import TokenFeaturizer

CONV = json.dumps({"bias": False, "groups": 1, "in": 8, "kernel": [3, 3], "out": 8, "stride": [1, 1]},
                  separators=(",", ":"))


def stack(blocks, model_id, layout=False):
    """input -> ``blocks`` x (conv -> relu [-> view]) -> output: one design, depth ``blocks``."""
    ops, attrs = [], []
    for _ in range(blocks):
        ops += ["conv2d", "relu"] + (["view"] if layout else [])
        attrs += [CONV, ""] + ([""] if layout else [])
    names = ["input", *ops, "output"]
    edges = [(i, i + 1) for i in range(len(names) - 1)]
    return hand_graph(names, edges, model_id=model_id, shapes=[[1, 8, 4, 4]] * len(names), attrs=["", *attrs, ""])


def test_binary_presence_reads_a_deeper_member_of_a_design_as_the_same_row():
    shallow, deep = stack(4, "hand:shallow"), stack(12, "hand:deep")
    other = hand_graph(["input", "linear", "gelu", "output"], [(0, 1), (1, 2), (2, 3)], model_id="hand:mlp",
                       shapes=[[1, 8]] * 4, attrs=["", '{"bias":true,"in":8,"out":8}', "", ""])
    gs = [shallow, deep, other]
    counts = TokenFeaturizer(buckets=512, idf=False, channels=("op",)).fit(gs).transform(gs)
    binary = TokenFeaturizer(buckets=512, idf=False, channels=("op",), tf="binary").fit(gs).transform(gs)
    assert all(len(np.unique(row[row > 0].round(6))) == 1 for row in binary)  # presence: one weight per row
    assert np.all((binary > 0) == (counts > 0))  # the same tokens, only their weights differ
    # round-k WL labels repeat with depth, so log counts differ, presence agrees more
    assert binary[0] @ binary[1] > counts[0] @ counts[1]
    assert binary[0] @ binary[2] < 0.5
    with pytest.raises(ValueError, match="valid: log1p, binary"):
        TokenFeaturizer(tf="bogus")


def test_the_stored_graphs_motif_channel_has_its_own_vocabulary_and_round_trips():
    plain, noisy = stack(6, "hand:plain"), stack(6, "hand:noisy", layout=True)
    gs = [plain, noisy]
    f = TokenFeaturizer(buckets=512, idf=False, canon=True, channels=("motif", "rmotif"), tf="binary").fit(gs)
    assert f.vocab is not None and f.raw_vocab is not None and f.raw_vocab.codes != f.vocab.codes
    x = f.transform(gs)
    canon, raw = x[:, :512], x[:, 512:]
    # the canonical view contracts the layout ops: equal motif rows there, not in the stored graphs
    assert canon[0] @ canon[1] == pytest.approx(0.5, abs=1e-5)  # each half holds 1/sqrt(2) of the row
    assert raw[0] @ raw[1] < 0.5 - 1e-3
    back = TokenFeaturizer.from_dict(json.loads(json.dumps(f.to_dict())))
    assert back.tf == "binary" and np.allclose(back.transform(gs), x)


def test_fit_transform_equals_fit_then_transform_and_the_config_names_the_shipped_tokens(tiny_graphs):
    c = EncoderConfig(token_buckets=256)
    a = TokenFeaturizer.from_config(c)
    rows = a.fit_transform(tiny_graphs)
    b = TokenFeaturizer.from_config(c).fit(tiny_graphs)
    assert np.allclose(rows, b.transform(tiny_graphs))
    assert a.channels == ("op", "motif", "size", "raw", "input") and a.tf == "binary" and a.canon
    assert a.canon_level == 3 and a.size_depth
    assert EncoderConfig.from_dict({"dim": 256}).token_tf == "log1p"  # a checkpoint from before token_tf


def test_the_memoised_canonical_view_follows_the_graphs_content():
    from nar_model.canon import canonical_graph
    from nar_model.tokens import _canonical

    a, b = stack(3, "hand:same", layout=True), stack(5, "hand:same", layout=True)  # one model id, two graphs
    for g in (a, b, a.replace(family="relabelled")):
        view = _canonical(g)
        assert list(view.op_name) == list(canonical_graph(g).op_name)
        assert view.src.tolist() == canonical_graph(g).src.tolist()
    assert _canonical(a.replace(family="relabelled")) is _canonical(a)  # the bench's relabelled copies hit
    assert len(_canonical(a).op_name) != len(_canonical(b).op_name)


def test_shares_by_name_fit_any_channel_subset():
    from nar_model.tokens import parse_shares

    assert parse_shares("", ("op", "size")) is None
    assert parse_shares("size=1.5", ("op", "motif", "size", "raw")) == (1.0, 1.0, 1.5, 1.0)
    assert parse_shares("size=1.5", ("op", "motif")) == (1.0, 1.0)  # not selected: ignored
    assert parse_shares("1,2", ("op", "motif")) == (1.0, 2.0)
    with pytest.raises(ValueError, match="Unknown token channel 'sise'"):
        parse_shares("sise=2", ("op",))
    assert TokenFeaturizer.from_config(EncoderConfig(token_channels="op,size")).shares == (1.0, 2.5)


def test_depth_classed_size_tokens_tell_a_deeper_family_member_apart_and_keep_equal_graphs_equal():
    from nar_model.wl_hash import depth_wl_histogram, labelled_wl_histogram

    def blocks(n):
        labels = ["input", *["relu"] * n, "output"]
        edges = [(i, i + 1) for i in range(n + 1)]
        return labels, [e[0] for e in edges], [e[1] for e in edges]

    six, eighteen = blocks(6), blocks(18)
    plain = [labelled_wl_histogram(*b, iterations=1, buckets=512) > 0 for b in (six, eighteen)]
    deep = [depth_wl_histogram(*b, iterations=1, buckets=512) > 0 for b in (six, eighteen)]
    assert (plain[0] == plain[1]).all()  # presence alone: 6 and 18 blocks have one token set
    assert not (deep[0] == deep[1]).all()
    assert (depth_wl_histogram(*six, iterations=1, buckets=512) == depth_wl_histogram(*blocks(6), iterations=1,
                                                                                       buckets=512)).all()
    assert (deep[0] == (depth_wl_histogram(*blocks(7), iterations=1, buckets=512) > 0)).all()  # 6, 7: one class


def test_the_input_channel_reads_the_input_resolution(tiny_graphs):
    g = tiny_graphs[0]
    i = list(g.op_name).index("input")
    other = g.replace(shape=[list(s) if k != i else [s[0], *[2 * v for v in s[1:]]] for k, s in enumerate(g.shape)])
    f = TokenFeaturizer(channels=("op", "input"), idf=False, tf="binary").fit([g, other])
    c = f.counts([g, other])
    assert (c["op"][0] == c["op"][1]).all() and not (c["input"][0] == c["input"][1]).all()


def test_a_basis_per_block_gives_each_block_its_dims():
    from nar_model.encoders.nar import block_basis, parse_blocks

    chans = ("op", "motif", "size", "raw", "input")
    assert parse_blocks("op+raw=160,motif=64,size=256,input=32", chans, 512) == [
        (("op", "raw"), 160), (("motif",), 64), (("size",), 256), (("input",), 32)]
    assert parse_blocks("op+raw=160,motif=64,size=256,input=32", ("op", "size"), 512) == [
        (("op",), 256), (("size",), 256)]  # dims not given go to the first block
    assert sum(d for _, d in parse_blocks("op+raw=160,motif=64,size=256,input=32", chans, 64)) == 64
    assert parse_blocks("", chans, 512) == [(chans, 512)]
    with pytest.raises(ValueError, match="no dims"):
        parse_blocks("op=10", ("op", "size"), 512)
    x = np.random.default_rng(0).random((6, 4 * 5)).astype(np.float32)
    b = block_basis(x, list(chans), 4, "op+raw=4,motif=2,size=2,input=2", 10)
    assert b.shape == (20, 10)
    assert not b[4:8, :4].any() and not b[:4, 4:].any()  # motif rows and op columns stay apart
