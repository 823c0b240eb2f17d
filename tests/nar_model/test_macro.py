import numpy as np

from nar_model.macro import context_membership, intra_edges, macro_edges


def test_macro_edges_are_the_weighted_quotient_graph():
    # nodes 0,1 | 2,3 | 4 ; edges 0->1 (inside), 1->2, 0->3 (two edges A->B), 3->4, 1->4 (A->C skip)
    src = np.array([0, 1, 0, 3, 1])
    dst = np.array([1, 2, 3, 4, 4])
    seg = np.array([0, 0, 1, 1, 2])
    ms, md, w = macro_edges(src, dst, seg)
    assert list(zip(ms.tolist(), md.tolist(), w.tolist())) == [(0, 1, 2.0), (0, 2, 1.0), (1, 2, 1.0)]
    assert intra_edges(src, dst, seg).tolist() == [True, False, False, False, False]


def test_one_motif_graph_has_no_macro_edges_and_no_context():
    src, dst, seg = np.array([0, 1]), np.array([1, 2]), np.zeros(3, dtype=np.int64)
    assert len(macro_edges(src, dst, seg)[0]) == 0
    nodes, motifs = context_membership(3, src, dst, seg, 1)
    assert len(nodes) == 0


def test_context_is_the_k_hop_ring_outside_the_motif():
    # chain 0-1-2-3-4-5, motif 1 = nodes {2, 3}
    src, dst = np.arange(5), np.arange(1, 6)
    seg = np.array([0, 0, 1, 1, 2, 2])
    nodes, motifs = context_membership(6, src, dst, seg, k=1)
    ring = sorted(n for n, m in zip(nodes.tolist(), motifs.tolist()) if m == 1)
    assert ring == [1, 4]
    nodes, motifs = context_membership(6, src, dst, seg, k=2)
    assert sorted(n for n, m in zip(nodes.tolist(), motifs.tolist()) if m == 1) == [0, 1, 4, 5]
