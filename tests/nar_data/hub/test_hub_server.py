"""The local Hub speaks the Hub API well enough for the real huggingface_hub client."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from huggingface_hub import HfApi, hf_hub_download
from huggingface_hub import errors as hf_errors

from nar_data.testing.hub_fixtures import BAD_REPOS, generate_repos
from nar_data.testing.hub_server import HubRepo, HubServer, load_repos, running_hub, save_repos

EXPAND = ["sha", "lastModified", "pipeline_tag", "tags", "library_name", "config", "cardData", "downloads",
          "likes", "gated", "safetensors", "siblings"]


def test_fixtures_are_many_real_and_include_every_bad_kind(fixture_repos: list[HubRepo]) -> None:
    ids = [r.repo_id for r in fixture_repos]
    assert len(ids) >= 300 and len(set(ids)) == len(ids)
    assert set(BAD_REPOS) <= set(ids)
    bert = next(r for r in fixture_repos if r.repo_id == "google-bert/bert-base-uncased")
    assert bert.config_excerpt() == {"architectures": ["BertForMaskedLM"], "model_type": "bert"}
    assert bert.card_data()["pipeline_tag"] == "fill-mask"
    children = [r for r in fixture_repos if "base_model:finetune:google-bert/bert-base-uncased" in r.meta["tags"]]
    assert len(children) >= 3  # a fine-tune family sharing one base
    timm_repo = next(r for r in fixture_repos if r.repo_id == "timm/resnet50.a1_in1k")
    assert timm_repo.config_excerpt() == {"architecture": "resnet50"}


def test_list_models_paginates_with_link_cursor(hub: HubServer) -> None:
    api = HfApi(endpoint=hub.url)
    models = list(api.list_models(expand=EXPAND))
    assert len(models) == len([r for r in hub.repos.values() if r.repo_type == "model"])
    assert hub.calls["list_models"] == -(-len(models) // hub.page_size)  # ceil: one call per page
    bert = next(m for m in models if m.id == "google-bert/bert-base-uncased")
    assert bert.sha == hub.repo(bert.id).sha and bert.library_name == "transformers"
    assert bert.config["model_type"] == "bert" and bert.card_data.pipeline_tag == "fill-mask"
    assert bert.safetensors.total > 0 and "config.json" in {s.rfilename for s in bert.siblings}


def test_list_models_filters(hub: HubServer) -> None:
    api = HfApi(endpoint=hub.url)
    timm_ids = [m.id for m in api.list_models(author="timm")]
    assert timm_ids and all(i.startswith("timm/") for i in timm_ids)
    assert all(m.pipeline_tag == "fill-mask" for m in api.list_models(pipeline_tag="fill-mask", limit=20))
    assert [m.id for m in api.list_models(search="bert-base-uncased", limit=1)]
    libs = {m.library_name for m in api.list_models(filter="timm", expand=["library_name"])}
    assert libs == {"timm"}


def test_model_info_and_download_with_etag_and_commit(hub: HubServer, tmp_path: Path) -> None:
    api = HfApi(endpoint=hub.url)
    info = api.model_info("google-bert/bert-base-uncased")
    path = hf_hub_download("google-bert/bert-base-uncased", "config.json", endpoint=hub.url, cache_dir=tmp_path)
    assert Path(path).read_bytes() == hub.repo(info.id).files["config.json"]
    assert info.sha in path  # snapshot folder named by X-Repo-Commit


def test_errors_carry_hub_error_codes(hub: HubServer, tmp_path: Path) -> None:
    with pytest.raises(hf_errors.RepositoryNotFoundError):
        HfApi(endpoint=hub.url).model_info("nobody/nothing")
    with pytest.raises(hf_errors.EntryNotFoundError):
        hf_hub_download("google-bert/bert-base-uncased", "nope.json", endpoint=hub.url, cache_dir=tmp_path)
    with pytest.raises(hf_errors.GatedRepoError):
        hf_hub_download("nar-fixtures/gated-model", "config.json", endpoint=hub.url, cache_dir=tmp_path)
    # with a token the gated repo opens
    path = hf_hub_download("nar-fixtures/gated-model", "config.json", endpoint=hub.url, cache_dir=tmp_path,
                           token="hf_test")
    assert Path(path).is_file()


def test_rate_limit_headers_and_quota() -> None:
    with running_hub(generate_repos(0)[:5], quota=(3, 300)) as hub:
        api = HfApi(endpoint=hub.url)
        for _ in range(3):
            api.model_info("google-bert/bert-base-uncased")
        import httpx2

        r = httpx2.get(f"{hub.url}/api/models/google-bert/bert-base-uncased")
        assert r.status_code == 429
        assert r.headers["RateLimit"].startswith('"api";r=0;t=')
        assert "q=3;w=300" in r.headers["RateLimit-Policy"]


def test_dataset_write_path_roundtrip(tmp_path: Path) -> None:
    folder = tmp_path / "ds"
    (folder / "graphs").mkdir(parents=True)
    (folder / "graphs" / "graphs-0.parquet").write_bytes(b"PAR1" + bytes(range(256)) * 40 + b"PAR1")
    (folder / "README.md").write_text("---\nconfigs:\n- config_name: graphs\n---\n# nar\n")
    with running_hub() as hub:
        api = HfApi(endpoint=hub.url, token="hf_write")
        url = api.create_repo("nar-user/nar-graphs", repo_type="dataset")
        assert "datasets/nar-user/nar-graphs" in str(url)
        api.upload_folder(folder_path=folder, repo_id="nar-user/nar-graphs", repo_type="dataset")
        assert hub.calls["preupload"] >= 1 and hub.calls["commit"] == 1 and hub.calls["lfs_batch"] == 1
        files = api.list_repo_files("nar-user/nar-graphs", repo_type="dataset")
        assert {"README.md", "graphs/graphs-0.parquet"} <= set(files)
        got = hf_hub_download("nar-user/nar-graphs", "graphs/graphs-0.parquet", repo_type="dataset",
                              endpoint=hub.url, cache_dir=tmp_path / "cache")
        assert Path(got).read_bytes() == (folder / "graphs" / "graphs-0.parquet").read_bytes()


def test_save_and_load_repos_roundtrip(tmp_path: Path, fixture_repos: list[HubRepo]) -> None:
    subset = copy.deepcopy(fixture_repos[:10])
    save_repos(subset, tmp_path)
    loaded = load_repos(tmp_path)
    assert [r.repo_id for r in loaded] == [r.repo_id for r in subset]
    assert [r.sha for r in loaded] == [r.sha for r in subset]
    with HubServer(tmp_path) as hub:  # a folder seeds the server too
        assert next(iter(HfApi(endpoint=hub.url).list_models(limit=1))).id == subset[0].repo_id
