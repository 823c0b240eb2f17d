import math

import pytest
import torch

from nar_model.losses import info_nce, supervised_contrastive


def test_supcon_by_hand_and_self_excluded():
    z = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    labels = torch.tensor([0, 0, 1])
    t = 1.0
    # anchor 0: positive 1 (sim 1), others: 1 (sim 1), 2 (sim 0) -> -log(e / (e + 1)); same for anchor 1;
    # anchor 2 has no positive and is skipped
    expected = -math.log(math.e / (math.e + 1))
    assert supervised_contrastive(z, labels, t).item() == pytest.approx(expected, rel=1e-5)


def test_supcon_prefers_clustered_embeddings_and_ignores_unknown():
    labels = torch.tensor([0, 0, 1, 1, -1])
    good = torch.tensor([[1.0, 0], [1, 0.1], [0, 1], [0.1, 1], [1, 1]])
    bad = torch.tensor([[1.0, 0], [0, 1], [1, 0.1], [0.1, 1], [1, 1]])
    assert supervised_contrastive(good, labels) < supervised_contrastive(bad, labels)
    assert supervised_contrastive(good, torch.tensor([0, 1, 2, 3, -1])).item() == 0.0  # no positives


def test_info_nce_masks_same_graph_and_same_motif_candidates():
    a = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    p = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    unmasked = info_nce(a, p, temperature=0.1)
    # rows 0 and 2 are the same motif (key 5): they must not be each other's negatives
    masked = info_nce(a, p, key=torch.tensor([5, 6, 5]), temperature=0.1)
    assert masked < unmasked
    same_graph = info_nce(a, p, group=torch.tensor([0, 1, 0]), temperature=0.1)
    assert same_graph.item() == pytest.approx(masked.item())
