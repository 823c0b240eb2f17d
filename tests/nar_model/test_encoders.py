import numpy as np
import pytest

from nar_model.checkpoint import load_checkpoint, save_checkpoint
from nar_model.config import EncoderConfig
from nar_model.data import GraphSet
from nar_model.encoders import get_encoder, list_encoders
from nar_model.metrics import evaluate

TINY = EncoderConfig(dim=16, hidden=16, layers=2, epochs=3, motif_epochs=1, batch_size=8, motif_dim=16)


def test_registry_lists_ours_and_the_baselines():
    assert {"nar", "gcn", "gat", "gin", "wl"} <= set(list_encoders())
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


def test_nar_split_variants_and_end_to_end(tiny_graphs):
    gs = GraphSet(tiny_graphs)
    for overrides in ({"split": "random"}, {"split": "legacy"}, {"end_to_end": True}):
        emb = get_encoder("nar", TINY.replace(epochs=1), **overrides).fit(gs).embed(gs.graphs[:3])
        assert emb.shape == (3, TINY.dim)


def test_load_checkpoint_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="nar train"):
        load_checkpoint(tmp_path / "missing.pt")
    import torch

    torch.save({"something": 1}, tmp_path / "bad.pt")
    with pytest.raises(ValueError, match="not a nar checkpoint"):
        load_checkpoint(tmp_path / "bad.pt")
