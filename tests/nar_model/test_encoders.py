import numpy as np
import pytest

from nar_model.checkpoint import load_checkpoint, save_checkpoint
from nar_model.config import EncoderConfig
from nar_model.data import GraphSet
from nar_model.encoders import get_encoder, list_encoders
from nar_model.metrics import evaluate

TINY = EncoderConfig(dim=16, hidden=16, layers=2, epochs=3, motif_epochs=1, batch_size=8, motif_dim=16, hist_buckets=64,
                     token_buckets=64, token_epochs=5)


def test_registry_lists_ours_and_the_baselines():
    assert {"nar", "nar-paper", "gcn", "gat", "gin", "wl", "wl_motif"} <= set(list_encoders())
    with pytest.raises(ValueError, match="valid encoders"):
        get_encoder("transformer-xxl")


@pytest.mark.parametrize("name", list_encoders())
def test_fit_embed_checkpoint_round_trip(name, tiny_graphs, tmp_path):
    gs = GraphSet(tiny_graphs)
    enc = get_encoder(name, TINY).fit(gs)
    emb = enc.embed(gs.graphs)
    assert emb.shape[0] == len(gs) and emb.dtype == np.float32
    assert np.allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    assert np.isfinite(emb).all()
    # same seed, same embedding
    again = get_encoder(name, TINY).fit(gs).embed(gs.graphs)
    assert np.allclose(emb, again, atol=1e-5)
    # checkpoint carries everything needed
    version = save_checkpoint(enc, tmp_path / "enc.pt")
    loaded, meta = load_checkpoint(tmp_path / "enc.pt")
    assert meta["encoder_version"] == version and version.startswith(f"{name}-")
    assert meta["schema_version"] >= 1 and "vocab_version" in meta
    assert np.allclose(loaded.embed(gs.graphs), emb, atol=1e-5)
    # the tiny families are easy: every encoder must retrieve same-family graphs first
    assert evaluate(emb, gs.families, ks=(1,))["mrr@1"] >= 0.5


def test_training_reduces_the_loss(tiny_graphs):
    enc = get_encoder("gin", TINY.replace(epochs=6)).fit(GraphSet(tiny_graphs))
    losses = [h["loss"] for h in enc.history]
    assert losses[-1] < losses[0]


def test_nar_paper_split_variants_and_end_to_end(tiny_graphs):
    gs = GraphSet(tiny_graphs)
    for overrides in ({"split": "random"}, {"split": "legacy"}, {"end_to_end": True}):
        enc = get_encoder("nar-paper", TINY.replace(epochs=1), **overrides).fit(gs)
        emb = enc.embed(gs.graphs[:3])
        assert emb.shape == (3, enc.embedding_size) == (3, TINY.dim + 2 * TINY.hist_buckets)


def test_nar_paper_embedding_mixes_learned_and_histogram_similarities(tiny_graphs):
    """cos(a, b) = w cos(learned) + (1 - w) mean(cos(channel)), as documented in encoders/paper.py."""
    gs = GraphSet(tiny_graphs)
    enc = get_encoder("nar-paper", TINY.replace(epochs=1, hist_weight=0.4)).fit(gs)
    emb = enc.embed(gs.graphs)
    d, b = TINY.dim, TINY.hist_buckets
    parts = [emb[:, :d], emb[:, d:d + b], emb[:, d + b:]]
    unit = [p / np.linalg.norm(p, axis=1, keepdims=True) for p in parts]
    expected = 0.6 * unit[0] @ unit[0].T + 0.2 * unit[1] @ unit[1].T + 0.2 * unit[2] @ unit[2].T
    assert np.allclose(emb @ emb.T, expected, atol=1e-5)
    learned_only = get_encoder("nar-paper", TINY.replace(epochs=1, hist_weight=0.0)).fit(gs)
    assert learned_only.embed(gs.graphs).shape == (len(gs), TINY.dim)
    with pytest.raises(ValueError, match="hist_channels"):
        get_encoder("nar-paper", TINY.replace(hist_channels="op,bogus")).channels


def test_load_checkpoint_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="nar train"):
        load_checkpoint(tmp_path / "missing.pt")
    import torch

    torch.save({"something": 1}, tmp_path / "bad.pt")
    with pytest.raises(ValueError, match="not a nar checkpoint"):
        load_checkpoint(tmp_path / "bad.pt")


def test_wl_rounds_see_structure_not_node_order():
    from nar_model.encoders.wl import labelled_wl_histogram, wl_rounds

    # a -> b -> c and a -> c (a triangle DAG); the same graph with nodes listed in another order
    labels, src, dst = ["conv", "relu", "add"], [0, 1, 0], [1, 2, 2]
    perm = [2, 0, 1]  # new index of old node i
    labels_p = [None] * 3
    for i, p in enumerate(perm):
        labels_p[p] = labels[i]
    src_p, dst_p = [perm[s] for s in src], [perm[d] for d in dst]
    assert np.array_equal(labelled_wl_histogram(labels, src, dst, 3, 64), labelled_wl_histogram(labels_p, src_p, dst_p, 3, 64))
    # same node labels, reversed edge between conv and relu: round 0 equal, round 1 differs
    r1, r2 = wl_rounds(labels, src, dst, 1), wl_rounds(labels, [1, 1, 0], [0, 2, 2], 1)
    assert np.array_equal(r1[0], r2[0]) and not np.array_equal(r1[1], r2[1])
    # direction matters: in- and out-neighbours are kept apart
    a, b = wl_rounds(["x", "x"], [0], [1], 1)[1]
    assert a != b


def test_a_checkpoint_from_before_the_wl_channels_keeps_its_embedding():
    from nar_model.config import EncoderConfig

    old = {k: v for k, v in TINY.to_dict().items() if not k.startswith("hist_")}
    assert EncoderConfig.from_dict(old).hist_weight == 0.0  # learned part only, as it was trained
    assert EncoderConfig.from_dict(TINY.to_dict()).hist_weight == TINY.hist_weight


def test_nar_is_compact_exact_on_its_training_graphs_and_the_map_trains(tiny_graphs):
    from nar_model.tokens import TokenFeaturizer

    gs = GraphSet(tiny_graphs)
    enc = get_encoder("nar", TINY.replace(dim=64, token_epochs=0, token_smooth_k=0, token_blocks="")).fit(gs)
    emb = enc.embed(gs.graphs)
    assert emb.shape == (len(gs), 64) and emb.dtype == np.float32
    exact = TokenFeaturizer.from_config(TINY.replace(idf=False)).fit(gs.graphs).transform(gs.graphs)
    # 24 graphs < 64 dims: the SVD basis spans them, so their cosines are the token cosines
    assert np.allclose(emb @ emb.T, exact @ exact.T, atol=1e-4)
    # a basis per block of channels: exact too once every block has as many dims as the graphs span
    blocks = get_encoder("nar", TINY.replace(dim=256, token_epochs=0, token_smooth_k=0)).fit(gs).embed(gs.graphs)
    assert np.allclose(blocks @ blocks.T, exact @ exact.T, atol=1e-4)
    sketch = get_encoder("nar", TINY.replace(dim=512, token_epochs=0, token_basis="random",
                                             token_smooth_k=0)).fit(gs).embed(gs.graphs)
    assert np.abs(sketch @ sketch.T - exact @ exact.T).max() < 0.25  # JL: error ~ 1/sqrt(dim)
    trained = get_encoder("nar", TINY.replace(token_epochs=20)).fit(gs)
    assert trained.history[-1]["loss"] < trained.history[0]["loss"]
    assert evaluate(trained.embed(gs.graphs), gs.families, ks=(1,))["mrr@1"] == 1.0


def test_nar_refuses_a_checkpoint_of_the_paper_network_with_a_hint(tiny_graphs):
    state = get_encoder("nar-paper", TINY.replace(epochs=1)).fit(GraphSet(tiny_graphs)).state()
    with pytest.raises(ValueError, match="nar-paper"):
        get_encoder("nar", TINY).load_state(state)


def test_nar_refuses_a_token_checkpoint_of_an_earlier_version_with_a_hint(tiny_graphs):
    state = get_encoder("nar", TINY.replace(token_epochs=0)).fit(GraphSet(tiny_graphs)).state()
    assert state["version"] == 6
    old = {k: v for k, v in state.items() if k != "version"}  # written before the canonical view
    with pytest.raises(ValueError, match="version 1.*Re-train"):
        get_encoder("nar", TINY).load_state(old)


def test_token_channels_are_validated():
    from nar_model.tokens import TokenFeaturizer

    with pytest.raises(ValueError, match="valid: op, motif"):
        TokenFeaturizer(channels=("op", "bogus"))


def test_a_version_2_token_checkpoint_still_reads_as_log_counts(tiny_graphs):
    gs = GraphSet(tiny_graphs)
    v2 = get_encoder("nar", TINY.replace(token_epochs=0, token_tf="log1p", token_channels="op,motif,size")).fit(gs)
    state = v2.state()
    state["version"] = 2
    del state["features"]["tf"], state["features"]["raw_vocab"]  # what a version-2 checkpoint holds
    back = get_encoder("nar", TINY).load_state(state)
    assert back.features.tf == "log1p"
    assert np.allclose(back.embed(gs.graphs), v2.embed(gs.graphs), atol=1e-6)


def test_token_basis_from_the_gram_matrix_is_the_svd_basis():
    from nar_model.encoders.nar import token_basis

    rng = np.random.default_rng(0)
    x = (rng.random((40, 300)) > 0.8).astype(np.float32)  # fewer rows than columns: the Gram route
    _, _, vt = np.linalg.svd(x.astype(np.float64), full_matrices=False)
    e, ref = x @ token_basis(x, 16), x @ vt[:16].T
    assert np.allclose(np.abs(e), np.abs(ref), atol=1e-4)  # the same vectors up to sign
    wide = token_basis(x, 64)
    assert not wide[:, 40:].any()  # columns beyond the rank are zero
    assert np.allclose((x @ wide) @ (x @ wide).T, x @ x.T, atol=1e-3)  # a spanning basis keeps every cosine
    tall = np.concatenate([x.T, x.T])  # more rows than columns: the plain SVD
    assert token_basis(tall, 8).shape == (40, 8)


def test_the_neighbourhood_stage_adds_the_nearest_fitted_graphs_and_survives_a_checkpoint(tiny_graphs):
    gs = GraphSet(tiny_graphs)
    base = get_encoder("nar", TINY.replace(dim=64, token_epochs=0, token_smooth_k=0)).fit(gs).embed(gs.graphs)
    enc = get_encoder("nar", TINY.replace(dim=64, token_epochs=0, token_smooth_k=2, token_smooth_alpha=0.5)).fit(gs)
    emb = enc.embed(gs.graphs)
    s = base @ base.T
    for i in range(len(gs)):
        others = np.where(s[i] >= 1 - 1e-6, -np.inf, s[i])  # itself (and exact copies) skipped
        nn = np.argsort(-others, kind="stable")[:2]
        want = base[i] + 0.5 * (np.maximum(s[i, nn], 0)[:, None] * base[nn]).sum(0)
        assert np.allclose(emb[i], want / np.linalg.norm(want), atol=1e-4)
    assert not np.allclose(emb, base, atol=1e-3)
    back = get_encoder("nar", TINY).load_state(enc.state())
    assert np.allclose(back.embed(gs.graphs), emb, atol=1e-6)
    one = back.embed(gs.graphs[:1])  # a graph embedded alone reads the same fitted neighbours
    assert np.allclose(one, emb[:1], atol=1e-6)


def test_a_version_4_token_checkpoint_reads_and_scores_as_it_was_written(tiny_graphs):
    from nar_model.tokens import _VIEWS

    gs = GraphSet(tiny_graphs)
    v4 = get_encoder("nar", TINY.replace(token_epochs=0, token_canon_level=2)).fit(gs)
    state = v4.state()
    state["version"] = 4  # what a version-4 checkpoint holds: canon level 2 in its featuriser
    assert state["features"]["canon_level"] == 2
    _VIEWS.clear()
    back = get_encoder("nar", TINY).load_state(state)
    assert back.features.canon_level == 2
    assert np.allclose(back.embed(gs.graphs), v4.embed(gs.graphs), atol=1e-6)
    from tests.nar_model.test_canon import _swinv2_pair

    pair = _swinv2_pair()  # graphs whose level-3 view differs from their level-2 one
    _VIEWS.clear()
    assert np.allclose(back.embed(pair), v4.embed(pair), atol=1e-6)
    assert get_encoder("nar", TINY.replace(token_epochs=0)).fit(gs).state()["version"] == 6
