"""Checkpoints: an encoder's weights + config + the schema, vocab and tracer versions it was fit on.

One ``torch.save`` file holding plain types only (``weights_only`` loading works). The
``encoder_version`` (``<name>-<12 hex>``) is a content hash of the saved state: it keys the
``embeddings`` table, so vectors of different checkpoints never mix.
"""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path
from typing import Any

import torch

from nar_data import vocab
from nar_data.schema import SCHEMA_VERSION, TRACER_VERSION

from .config import EncoderConfig
from .encoders import Encoder, get_encoder

__all__ = ["CHECKPOINT_FORMAT", "encoder_version", "load_checkpoint", "save_checkpoint"]

CHECKPOINT_FORMAT = 1


def _payload(encoder: Encoder) -> dict[str, Any]:
    return {"format": CHECKPOINT_FORMAT, "encoder": encoder.name, "config": encoder.config.to_dict(),
            "state": encoder.state(), "schema_version": SCHEMA_VERSION, "tracer_version": TRACER_VERSION,
            "vocab_version": vocab.VOCAB_VERSION, "history": encoder.history}


def encoder_version(encoder: Encoder) -> str:
    """``<name>-<hash>`` of the encoder's config and state (same weights, same version)."""
    buf = io.BytesIO()
    torch.save({"config": encoder.config.to_dict(), "state": encoder.state()}, buf)
    return f"{encoder.name}-{hashlib.blake2b(buf.getvalue(), digest_size=6).hexdigest()}"


def save_checkpoint(encoder: Encoder, path: str | os.PathLike) -> str:
    """Write ``encoder`` to ``path`` (atomically) and return its ``encoder_version``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = _payload(encoder)
    payload["encoder_version"] = version = encoder_version(encoder)
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)
    return version


def load_checkpoint(path: str | os.PathLike) -> tuple[Encoder, dict[str, Any]]:
    """``(encoder, meta)`` from ``path``; meta has the versions and ``encoder_version``.

    Raises:
        FileNotFoundError: no such file.
        ValueError: not a nar checkpoint, or written for another schema version.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No checkpoint at {path}; train one with `nar train --data DIR --out {path}`")
    payload = torch.load(path, map_location="cpu", weights_only=False)
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path} is not a nar checkpoint of format {CHECKPOINT_FORMAT}")
    if payload["schema_version"] != SCHEMA_VERSION:
        raise ValueError(f"{path} was trained on schema version {payload['schema_version']}, this nar reads "
                         f"{SCHEMA_VERSION}; re-train with `nar train`")
    encoder = get_encoder(payload["encoder"], EncoderConfig.from_dict(payload["config"]))
    encoder.load_state(payload["state"])
    encoder.history = list(payload.get("history", []))
    meta = {k: payload[k] for k in ("encoder", "encoder_version", "schema_version", "tracer_version", "vocab_version")}
    return encoder, meta
