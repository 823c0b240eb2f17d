"""One function per loss: InfoNCE (motif level) and supervised contrastive (graph level).

Both take L2-normalisable embeddings and a temperature; both are means over anchors that have at
least one positive, so a batch without positives contributes zero instead of NaN.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["info_nce", "supervised_contrastive"]


def info_nce(anchor: torch.Tensor, positive: torch.Tensor, group: torch.Tensor | None = None,
             temperature: float = 0.1, key: torch.Tensor | None = None) -> torch.Tensor:
    """InfoNCE of ``anchor[i]`` against ``positive[i]``; the other rows of ``positive`` are negatives.

    Args:
        anchor: (B, D) motif embeddings.
        positive: (B, D) embeddings of their contexts.
        group: (B,) graph id of each row; candidates from the *same* graph as the anchor (other than
            its own positive) are masked out, so a repeated motif is never its own negative
            (docs/method.md §7.10: negatives come from other graphs).
        temperature: softmax temperature.
        key: (B,) motif-vocabulary key of each row; candidates with the anchor's key (another
            occurrence of the same motif, in any graph) are masked too, as they are not negatives.
    """
    a, p = F.normalize(anchor, dim=-1), F.normalize(positive, dim=-1)
    logits = a @ p.t() / temperature  # (B, B)
    eye = torch.eye(len(a), dtype=torch.bool, device=a.device)
    if group is not None:
        same = group[:, None] == group[None, :]
        logits = logits.masked_fill(same & ~eye, float("-inf"))
    if key is not None:
        logits = logits.masked_fill((key[:, None] == key[None, :]) & ~eye, float("-inf"))
    target = torch.arange(len(a), device=a.device)
    return F.cross_entropy(logits, target)


def supervised_contrastive(z: torch.Tensor, labels: torch.Tensor, temperature: float = 0.1) -> torch.Tensor:
    """SupCon (Khosla et al. 2020, L_out): per anchor, self excluded, mean over its positives.

    ``loss_i = -1/|P(i)| * sum_{p in P(i)} log( exp(z_i.z_p/t) / sum_{a != i} exp(z_i.z_a/t) )``,
    averaged over anchors with ``|P(i)| > 0``. Labels ``< 0`` mark rows that are never positives.

    Shapes:
        z: (B, D), labels: (B,) long.
    """
    z = F.normalize(z, dim=-1)
    sim = z @ z.t() / temperature
    eye = torch.eye(len(z), dtype=torch.bool, device=z.device)
    sim = sim.masked_fill(eye, float("-inf"))
    log_prob = sim - torch.logsumexp(sim, dim=1, keepdim=True)
    pos = (labels[:, None] == labels[None, :]) & ~eye & (labels[:, None] >= 0)
    n_pos = pos.sum(1)
    has = n_pos > 0
    if not has.any():
        return z.sum() * 0.0
    per_anchor = -(log_prob.masked_fill(~pos, 0.0).sum(1)[has]) / n_pos[has]
    return per_anchor.mean()
