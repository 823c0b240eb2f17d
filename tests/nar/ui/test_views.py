"""The data behind each view of the page, on hand-made graphs (no server, no browser)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nar.ui.datasetview import dataset_summary, op_histogram
from nar.ui.embedmap import MapCache, pca_2d, place_query
from nar.ui.graphview import graph_pair, layered_layout, macro_view, motif_label, segment_pair, shared_tokens
from nar_model.explain import explain
from nar_model.motifs import Segmentation

from .conftest import block_graph, write_dataset


def test_layered_layout_puts_each_node_below_its_inputs():
    # diamond 0 -> (1, 2) -> 3, plus a long edge 0 -> 3
    layer, pos = layered_layout(4, np.array([0, 0, 1, 2, 0]), np.array([1, 2, 3, 3, 3]))
    assert layer.tolist() == [0, 1, 1, 2]
    assert sorted(pos[[1, 2]].tolist()) == [0, 1] and pos[0] == pos[3] == 0


def test_macro_view_collapses_a_stack_of_blocks_into_one_node_counted():
    g = block_graph("vggish", 6)  # input, stem conv, 6 x (conv2d relu max_pool2d), mean, linear, output
    starts = [0, *range(2, 20, 3), 20]
    keys = [11, *([22] * 6), 33]
    bounds = [*starts, g.num_nodes]
    seg = Segmentation(seg=np.repeat(np.arange(len(starts)), np.diff(bounds)), key=np.array(keys),
                       token=np.array(keys), size=np.diff(bounds))
    view = macro_view(g, seg, shared={22})
    assert [(n["motif"], n["count"], n["ops"]) for n in view["nodes"]] == [(11, 1, 2), (22, 6, 3), (33, 1, 3)]
    assert [n["shared"] for n in view["nodes"]] == [False, True, False]
    assert view["nodes"][1]["label"] == "conv2d, relu, max_pool2d"
    assert [(e["source"], e["target"]) for e in view["edges"]] == [(0, 1), (1, 2)]
    assert [n["layer"] for n in view["nodes"]] == [0, 1, 2]
    assert json.loads(json.dumps(view)) == view  # plain JSON


def _shared_ops(side: dict) -> int:
    return sum(n["count"] * n["ops"] for n in side["macro"]["nodes"] if n["shared"])


def test_graph_pair_marks_the_same_motifs_shared_on_both_sides():
    q, m, other = block_graph("resnetish", 3), block_graph("resnetish", 4), block_graph("vitish", 3)
    pair = graph_pair(q, m)
    assert pair["shared"], "two resnet-like graphs share motifs"
    for side in ("query", "match"):
        macro = pair[side]["macro"]
        assert all(n["shared"] == (n["motif"] in pair["shared"]) for n in macro["nodes"])
        assert any(n["shared"] for n in macro["nodes"])
        ops = pair[side]["ops"]
        assert len(ops["nodes"]) == pair[side]["nodes"] and len(ops["edges"]) > 0
        assert {n["group"] for n in ops["nodes"]} == {n["id"] for n in macro["nodes"]}
    far = graph_pair(q, other)
    assert _shared_ops(far["query"]) < _shared_ops(pair["query"])
    assert json.loads(json.dumps(pair)) == pair


def test_graph_view_highlights_the_motifs_the_explanation_lists():
    q, m = block_graph("resnetish", 3), block_graph("resnetish", 4, width=32)
    shared = shared_tokens(segment_pair([q, m]))
    listed = explain(q, m).shared_motifs
    assert len(shared) == len(listed) >= 1
    sizes = sorted(s.size for s in listed)
    seg_q = segment_pair([q, m])[0]
    assert sizes == sorted(int(seg_q.size[list(seg_q.token).index(t)]) for t in shared)


def test_motif_label_names_compute_ops_with_counts_as_the_explanation_does():
    assert motif_label(["conv2d", "relu", "conv2d", "relu", "add"]) == "conv2d x2, relu x2, add"
    assert motif_label(["view", "linear", "transpose"]) == "linear"  # shape-only ops left out
    assert motif_label(["input"]) == "input"


def test_pca_map_separates_clusters_and_projects_a_query_exactly():
    rng = np.random.default_rng(0)
    a = np.array([1.0, 0, 0, 0]) + 0.01 * rng.normal(size=(5, 4))
    b = np.array([0, 1.0, 0, 0]) + 0.01 * rng.normal(size=(5, 4))
    vectors = np.concatenate([a, b])
    coords, mean, comps = pca_2d(vectors)
    assert coords.shape == (10, 2)
    assert np.sign(coords[:5, 0]).tolist() == [np.sign(coords[0, 0])] * 5
    assert np.sign(coords[5:, 0]).tolist() == [-np.sign(coords[0, 0])] * 5  # first axis splits the clusters
    meta = {"method": "pca", "mean": mean.tolist(), "components": comps.tolist()}
    ids = [f"a{i}" for i in range(10)]
    assert place_query(vectors[3], ids, vectors, coords, meta) == pytest.approx(tuple(coords[3]))
    # a UMAP map has no projection: the query lands among its neighbours
    xy = place_query(vectors[7], ids, vectors, coords, {"method": "umap"}, k=3)
    assert np.linalg.norm(np.array(xy) - coords[5:].mean(axis=0)) < np.linalg.norm(np.array(xy) - coords[:5].mean(axis=0))


def test_map_is_cached_per_encoder_version_and_recomputed_for_new_ids(tmp_path):
    vectors = np.eye(4)[[0, 0, 1, 2, 3]] + 0.1
    ids = ["a", "b", "c", "d", "e"]
    cache = MapCache(tmp_path, "nar-abc")
    got_ids, coords, meta = cache.load(ids, vectors, "pca")
    assert cache.path == tmp_path / "_ui" / "map-nar-abc.parquet" and cache.path.is_file()
    assert got_ids == ids and meta["method"] == "pca"
    stamp = cache.path.stat().st_mtime_ns
    again_ids, again, _ = MapCache(tmp_path, "nar-abc").load(list(reversed(ids)), vectors[::-1], "pca")
    assert cache.path.stat().st_mtime_ns == stamp  # read back, not recomputed
    assert again_ids == ids and np.allclose(again, coords)
    MapCache(tmp_path, "nar-abc").load(ids[:4], vectors[:4], "pca")
    assert cache.path.stat().st_mtime_ns != stamp  # another set of architectures: recomputed
    assert not (tmp_path / "_ui" / "map-nar-other.parquet").exists()
    with pytest.raises(ValueError, match="pca"):
        MapCache(tmp_path, "v2").load(ids, vectors, "tsne")


def test_dataset_page_reuses_coverage_and_counts_ops_once_per_architecture(tmp_path, graphs):
    from nar_data.coverage import coverage

    twin = graphs[0].replace(model_id="hand:twin", config_hash="twin")  # same arch_id as graphs[0]
    root = write_dataset(tmp_path, graphs + [twin])
    summary = dataset_summary(root, "nar-test")
    json.dumps(summary, allow_nan=False)  # strict JSON: NaN medians are None
    cov = coverage(root)
    assert summary["coverage"]["total"] == cov["total"]
    hand = summary["coverage"]["sources"]["hand"]
    assert hand["failed"] == 1 and hand["failures"][0]["class"] == "trace/RuntimeError"
    assert summary["versions"]["encoder_version"] == "nar-test"
    hist = {h["op"]: h for h in op_histogram(root)}
    assert hist["conv2d"]["graphs"] == len(graphs)  # the twin's architecture is counted once
    assert hist["input"]["nodes"] == len(graphs)
    assert hist["softmax"]["graphs"] == 6  # vitish: 3 depths x 2 widths


def test_map_uses_umap_when_installed(tmp_path, monkeypatch):
    import importlib.machinery
    import sys
    import types

    fitted = []

    class FakeUMAP:  # stands in for umap-learn (not a dependency): records its arguments, returns fixed coords
        def __init__(self, **kwargs):
            fitted.append(kwargs)

        def fit_transform(self, x):
            return np.stack([np.arange(len(x)), -np.arange(len(x))], axis=1).astype(float)

    fake = types.ModuleType("umap")
    fake.UMAP = FakeUMAP
    fake.__spec__ = importlib.machinery.ModuleSpec("umap", None)
    monkeypatch.setitem(sys.modules, "umap", fake)
    ids, coords, meta = MapCache(tmp_path, "v").load(list("abcde"), np.eye(5), "auto")
    assert meta["method"] == "umap" and fitted[0]["metric"] == "cosine"
    assert coords[:, 0].tolist() == [0, 1, 2, 3, 4]
    # cached: a second load does not fit again, and an explicit pca request recomputes
    MapCache(tmp_path, "v").load(list("abcde"), np.eye(5), "auto")
    assert len(fitted) == 1
    assert MapCache(tmp_path, "v").load(list("abcde"), np.eye(5), "pca")[2]["method"] == "pca"
