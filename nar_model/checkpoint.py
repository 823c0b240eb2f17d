"""Checkpoints: an encoder's weights + config + the schema, vocab and tracer versions it was fit on.

One ``torch.save`` file holding plain types only (``weights_only`` loading works). The
``encoder_version`` (``<name>-<12 hex>``) is a content hash of the saved state: it keys the
``embeddings`` table, so vectors of different checkpoints never mix.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

from nar_data import vocab
from nar_data.schema import SCHEMA_VERSION, TRACER_VERSION

from .config import EncoderConfig
from .encoders import Encoder, get_encoder

__all__ = ["CHECKPOINT_FORMAT", "CHECKPOINTS_DIR", "dataset_checkpoint", "default_checkpoint_path",
           "encoder_version", "load_checkpoint", "record_checkpoint", "save_checkpoint"]

CHECKPOINT_FORMAT = 1
#: Folder of a dataset that holds its checkpoints; ``latest.json`` there names the one to use.
CHECKPOINTS_DIR = "_checkpoints"
_LATEST = "latest.json"


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
        raise FileNotFoundError(f"No checkpoint at {path}; train one with `nar train --data DIR --ckpt {path}`")
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


def default_checkpoint_path(data: str | os.PathLike, encoder: str = "nar") -> Path:
    """Where `nar train` / `nar build` write the ``encoder`` checkpoint of dataset ``data``."""
    return Path(data) / CHECKPOINTS_DIR / f"{encoder}.pt"


def record_checkpoint(data: str | os.PathLike, path: str | os.PathLike, encoder_version: str | None = None) -> Path:
    """Make ``path`` the checkpoint dataset ``data`` answers with (``DATA/_checkpoints/latest.json``).

    A checkpoint inside ``data`` is recorded relative to it, so the folder can be moved or copied.

    Returns:
        The path of the record file.
    """
    data, path = Path(data), Path(path)
    try:
        stored = str(path.resolve().relative_to(data.resolve()))
    except ValueError:  # outside the dataset: keep it absolute
        stored = str(path.resolve())
    record = {"path": stored, "encoder_version": encoder_version,
              "recorded_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
    target = data / CHECKPOINTS_DIR / _LATEST
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(record, indent=1))
    os.replace(tmp, target)
    return target


def dataset_checkpoint(data: str | os.PathLike) -> Path:
    """The checkpoint dataset ``data`` records (`record_checkpoint`), else ``DATA/_checkpoints/nar.pt``.

    Raises:
        FileNotFoundError: nothing recorded and no ``nar.pt``, or the recorded file is gone; the message
            says which command writes one.
    """
    data = Path(data)
    record = data / CHECKPOINTS_DIR / _LATEST
    if record.is_file():
        stored = Path(json.loads(record.read_text())["path"])
        path = stored if stored.is_absolute() else data / stored
        if not path.is_file():
            raise FileNotFoundError(f"{record} names {path}, which is gone; run `nar train --data {data}` "
                                    "to write a new one, or pass --ckpt")
        return path
    path = default_checkpoint_path(data)
    if path.is_file():  # datasets written before the record existed
        return path
    raise FileNotFoundError(f"{data} records no checkpoint; run `nar train --data {data}` (or `nar build`) "
                            "to write one, or pass --ckpt")
