"""Test set-up: offline, temporary caches, deterministic; `slow` tests only with FULL_TEST=1."""

from __future__ import annotations

import os
import tempfile

# Before any huggingface_hub / datasets import: never reach the real Hub, keep caches out of $HOME.
_tmp = tempfile.mkdtemp(prefix="nar-test-")
os.environ.setdefault("HF_HOME", os.path.join(_tmp, "hf"))
os.environ.setdefault("HF_ENDPOINT", "http://127.0.0.1:9")  # a closed port: any stray Hub call fails fast
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ["HF_HUB_DISABLE_XET"] = "1"
os.environ.setdefault("NAR_CACHE_DIR", os.path.join(_tmp, "nar-cache"))
os.environ.setdefault("PREFECT_HOME", os.path.join(_tmp, "prefect"))
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest  # noqa: E402


def pytest_configure(config: pytest.Config) -> None:
    # FULL_TEST=1 (PyG's convention) also runs the `slow` checks; `network` never runs here.
    if os.environ.get("FULL_TEST") == "1":
        config.option.markexpr = "not network"
