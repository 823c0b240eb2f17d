import numpy as np
import pytest

from nar_data.hand import hand_graph
from nar_model.motifs import (MotifVocab, _merge, chunk_segments, legacy_segments, node_codes, segment_graphs,
                              topo_order)



@pytest.fixture
def resnet(make_block_graph):
    return lambda repeats, model_id="hand:r": make_block_graph(["conv2d", "batch_norm", "relu", "conv2d", "batch_norm"], True, repeats, 16, "r", "cnn", model_id)


def test_topo_order_respects_edges_and_breaks_ties_by_index():
    # 0 -> 3, 2 -> 1: not in index order; Kahn with smallest-index tie-break
    g = hand_graph(["a", "b", "c", "d"], [(0, 3), (2, 1)])
    order = topo_order(g.num_nodes, g.src, g.dst).tolist()
    assert order == [0, 2, 1, 3]
    pos = {n: p for p, n in enumerate(order)}
    assert all(pos[s] < pos[d] for s, d in zip(g.src.tolist(), g.dst.tolist()))


def test_node_codes_hold_op_and_predecessor_offsets():
    g = hand_graph(["input", "conv2d", "relu", "add"], [(0, 1), (1, 2), (2, 3), (0, 3)])
    assert node_codes(g) == ["input|", "conv2d|1", "relu|1", "add|1,3"]
    assert node_codes(g, with_op=False) == ["", "1", "1", "1,3"]
    assert node_codes(g, max_offset=2)[3] == "add|1,far"


def test_merge_is_left_to_right_and_never_overlaps():
    tok = np.array([5, 5, 5, 5, 5, -1, 5, 5])
    assert _merge(tok, 5, 5, 9).tolist() == [9, 9, 5, -1, 9]
    assert _merge(np.array([1, 2, 1, 2, -1, 1]), 1, 2, 7).tolist() == [7, 7, -1, 1]


def test_bpe_makes_each_repeated_block_its_own_macro_node(resnet):
    graphs = [resnet(4, "hand:r4"), resnet(6, "hand:r6")]
    vocab = MotifVocab(max_size=6).fit(graphs)  # a residual block is 6 nodes (5 ops + add)
    seg = vocab.segment([graphs[0]])[0]
    # every block is one occurrence of the same learned motif
    # (BPE may glue the first block to the stem, so at least repeats - 1 clean occurrences)
    block_tokens = [t for t, s in zip(seg.token.tolist(), seg.size.tolist()) if s == 6]
    assert len(block_tokens) >= 3 and len(set(block_tokens)) == 1
    assert vocab.size[block_tokens[0]] == 6
    # segments are contiguous runs of the topological order and cover every node once
    assert sorted(np.unique(seg.seg).tolist()) == list(range(seg.num_segments))
    assert np.all(np.diff(seg.seg) >= 0)
    assert int(seg.size.sum()) == graphs[0].num_nodes


def test_vocabulary_is_global_and_applies_to_unseen_graphs(resnet):
    vocab = MotifVocab(max_size=6).fit([resnet(3, "a"), resnet(5, "b")])
    unseen = vocab.segment([resnet(9, "c")])[0]
    sizes = unseen.size.tolist()
    assert sizes.count(6) >= 8  # the motif recurs block after block in a deeper network never seen in fitting
    keys = {k for k, s in zip(unseen.key.tolist(), sizes) if s == 6}
    assert len(keys) == 1


def test_vocab_round_trips_through_dict(resnet):
    vocab = MotifVocab(max_size=6).fit([resnet(3), resnet(4, "x")])
    again = MotifVocab.from_dict(vocab.to_dict())
    g = resnet(5, "y")
    assert again.segment([g])[0].seg.tolist() == vocab.segment([g])[0].seg.tolist()


def test_legacy_rule_collapses_a_periodic_stack():
    # docs/method.md §2.1: uniform bigram frequencies give one segment
    assert legacy_segments(["a", "b", "c"] * 5).tolist() == [0]


def test_chunk_splits():
    assert chunk_segments(20, "node-num", size=8).tolist() == [0, 8, 16]
    assert chunk_segments(20, "motif-num", count=4).tolist() == [0, 5, 10, 15]
    starts = chunk_segments(100, "random", rng=np.random.default_rng(1))
    assert np.all((np.diff(starts) >= 5) & (np.diff(starts) <= 9))


@pytest.mark.parametrize("method", ["legacy", "node-num", "motif-num", "random"])
def test_every_split_partitions_the_nodes(method, resnet):
    g = resnet(5)
    seg = segment_graphs([g], method)[0]
    assert len(seg.seg) == g.num_nodes and int(seg.size.sum()) == g.num_nodes


def test_unknown_split_and_missing_vocab_raise(resnet):
    with pytest.raises(ValueError, match="valid splits"):
        segment_graphs([resnet(2)], "nope")
    with pytest.raises(ValueError, match="MotifVocab"):
        segment_graphs([resnet(2)], "bpe")
