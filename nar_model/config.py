"""`EncoderConfig`: one dataclass for every encoder, with laptop-sized defaults.

Baselines and ours share the fields that make a comparison fair (embedding size, hidden width,
depth, loss, epochs, batch size, learning rate, seed); the ``motif_*``/``split``/``end_to_end``
fields only matter to the two-stage ``nar`` encoder.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

__all__ = ["EncoderConfig"]


@dataclass
class EncoderConfig:
    dim: int = 512  # embedding size used for retrieval (stored vectors: at most 512)
    hidden: int = 64  # GNN width
    layers: int = 3  # message-passing layers
    epochs: int = 10  # graph-level epochs (same budget for every trained encoder)
    batch_size: int = 128  # graphs per step
    lr: float = 3e-3
    weight_decay: float = 1e-4
    temperature: float = 0.1  # SupCon / InfoNCE temperature
    ce_weight: float = 0.5  # weight of the coarse-label cross-entropy next to SupCon
    dropout: float = 0.0
    heads: int = 4  # GAT attention heads
    seed: int = 0
    # two-stage nar encoder only
    split: str = "bpe"  # segmentation: bpe | legacy | node-num | motif-num | random
    motif_epochs: int = 2  # stage-1 (motif-level InfoNCE) epochs
    motif_dim: int = 64  # motif embedding size
    motifs_per_step: int = 512  # motifs sampled per stage-1 step for the InfoNCE matrix
    context_hops: int = 1  # k of the k-hop context graph
    max_merges: int = 600  # BPE merges (motif vocabulary size bound)
    max_motif_size: int = 48  # nodes per motif, at most
    end_to_end: bool = False  # let the graph-level loss also train the motif encoder
    # token encoder (the shipped nar; see encoders/nar.py)
    # op = WL tokens of the op graph, motif = WL tokens of the motif graph, size = WL tokens with every attribute
    # (widths, heads), raw / rmotif = op / motif tokens of the stored graph when token_canon is on (tokens.CHANNELS)
    token_channels: str = "op,motif,size,raw,input"
    token_size_depth: bool = True  # size tokens carry the power of two of their count (tokens.depth_wl_histogram)
    token_tf: str = "binary"  # binary = token present or not | log1p = log counts (tokens.TFS)
    token_buckets: int = 4096  # hashed tokens per channel
    idf: bool = False  # weight tokens by inverse document frequency (fit on the graphs given to fit)
    token_attrs: bool = True  # op-graph node labels carry the size-free node attributes (kernel, stride, ...)
    token_canon: bool = True  # read tokens from the canonical view (nar_model/canon.py: layout ops contracted, ...)
    token_canon_level: int = 3  # 1 = the first canonical view; 2 = + heads, masks, padding, widths; 3 = + l2_normalize
    # fused and copies merged through it (cosine attention) (canon.CANON_LEVELS)
    token_shares: str = "size=2.5,input=0.25,raw=0.75"  # share of the cosine per channel: "" = equal, "size=1.5" = named (others 1),
    # or one positional weight per token_channels entry (tokens.parse_shares)
    token_basis: str = "svd"  # svd = top singular vectors of the fit graphs' tokens | random = JL sketch
    # the basis per block of channels ("op+raw=160,..." = an SVD of the op and raw columns with 160 dims, ...; the
    # dims not given go to the first block; "" = one SVD of every channel; encoders/nar.py `block_basis`)
    token_blocks: str = "op+raw=160,motif=64,size=256,input=32"
    # neighbourhood stage (label-free): each vector + token_smooth_alpha x the cosine-weighted vectors of its
    # token_smooth_k nearest fitted graphs (0 = off; encoders/nar.py)
    token_smooth_k: int = 0
    token_smooth_alpha: float = 0.25
    token_epochs: int = 0  # supervised passes over the map (0: off; on held-out families it loses, docs/retrieval.md)
    token_lr: float = 1e-2
    token_reg: float = 1e-3  # L2 pull of the projection towards its random start and of the token weights to 0
    # training-free structure channels appended to the learned vector (nar-paper only; see encoders/paper.py)
    hist_weight: float = 2 / 3  # share of the cosine carried by the histograms (0 = learned only); 2/3 = thirds
    hist_channels: str = "op,macro"  # op = WL over the op graph, macro = WL over the macro graph of motifs
    hist_buckets: int = 4096  # hashed size of each histogram channel

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "EncoderConfig":
        """Inverse of `to_dict`; a dict saved before a field existed gets the value that reproduces how that
        checkpoint behaved (`SINCE`), not today's default."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"Unknown EncoderConfig keys {sorted(unknown)}; valid keys: {sorted(names)}")
        return cls(**{**{k: v for k, v in SINCE.items() if k not in d}, **d})

    def replace(self, **changes: Any) -> "EncoderConfig":
        return dataclasses.replace(self, **changes)


#: Fields added after checkpoints were first written, with the value that keeps an older checkpoint's
#: embeddings unchanged (its stored vectors stay valid): the WL channels did not exist before.
SINCE: dict[str, Any] = {"hist_weight": 0.0, "token_canon": False, "token_canon_level": 1, "token_size_depth": False,
                         "token_shares": "", "token_channels": "op,motif", "token_tf": "log1p", "token_smooth_k": 0,
                         "token_blocks": ""}
