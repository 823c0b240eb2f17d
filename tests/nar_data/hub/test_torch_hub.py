"""PyTorch Hub source: the allow-list drives listing; a local hubconf fixture is built on meta, offline."""

from __future__ import annotations

from pathlib import Path

import pytest

from nar_data.errors import SchemaError
from nar_data.sources import get_source
from nar_data.sources.torch_hub import DEFAULT_CATALOG, TorchHubSource, load_catalog

FIXTURE_CATALOG = Path(__file__).resolve().parents[2] / "fixtures" / "hub_torchhub" / "catalog.yaml"


def test_shipped_allow_list_is_valid_and_listing_runs_no_code() -> None:
    entries = load_catalog(DEFAULT_CATALOG)
    refs = list(TorchHubSource().iter_refs())
    assert len(refs) == sum(len(e["entrypoints"]) for e in entries) >= 20
    assert len({r.config_hash for r in refs}) == len(refs)
    assert get_source("torch_hub").runs_remote_code


def test_bad_allow_list_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("repos:\n  - repo: a/b\n")
    with pytest.raises(SchemaError, match="entrypoints"):
        load_catalog(bad)


def test_local_hubconf_builds_on_meta_without_weights() -> None:
    import torch

    source = TorchHubSource(FIXTURE_CATALOG)
    refs = list(source.iter_refs())
    assert [r.name.split("#")[1] for r in refs] == ["tiny_cnn", "tiny_mlp"]
    built = source.build(refs[0])
    assert all(p.device.type == "meta" for p in built.module.parameters())
    out = built.module(*built.args)
    assert tuple(out.shape) == (2, 4)
    assert isinstance(built.module[0], torch.nn.Conv2d)
