"""ListedRepo: listing items parsed defensively, and the fingerprint that saves config downloads."""

from __future__ import annotations

import pytest

from nar_data.hub.listing import ListedRepo, head_width


def test_garbage_fields_do_not_crash() -> None:
    repo = ListedRepo.from_item({"id": "a/b", "sha": 5, "tags": "notalist", "downloads": "many", "likes": None,
                                 "cardData": ["x"], "config": "nope", "siblings": [{"rfilename": 3}, "x"],
                                 "safetensors": {"total": "big"}})
    assert (repo.sha, repo.tags, repo.downloads, repo.card, repo.config, repo.params_total) == ("", [], 0, {}, {}, 0)
    assert repo.siblings == [] and repo.fingerprint() == ("", 0)
    with pytest.raises(ValueError, match="without an id"):
        ListedRepo.from_item({"sha": "x"})


def item(repo_id: str, params: int, arch: str = "BertForSequenceClassification", base: str = "org/base") -> dict:
    return {"id": repo_id, "library_name": "transformers", "safetensors": {"total": params},
            "config": {"architectures": [arch], "model_type": "bert"},
            "tags": [f"base_model:finetune:{base}"] if base else []}


def test_fingerprint_keys_on_lineage_class_and_params() -> None:
    a, b = ListedRepo.from_item(item("u/a", 100)), ListedRepo.from_item(item("v/b", 100))
    assert a.fingerprint() == b.fingerprint()  # two fine-tunes of one base, same class and size
    assert ListedRepo.from_item(item("u/c", 100, base="org/other")).fingerprint()[0] != a.fingerprint()[0]
    assert ListedRepo.from_item(item("u/d", 100, arch="BertForMaskedLM")).fingerprint()[0] != a.fingerprint()[0]
    remote = item("u/e", 100)
    remote["config"]["auto_map"] = {"AutoModel": "m.M"}
    assert ListedRepo.from_item(remote).fingerprint() == ("", 0)  # remote code is never assumed


def test_head_width() -> None:
    assert head_width({"hidden_size": 768}) == 768
    assert head_width({"hidden_sizes": [64, 128, 2048]}) == 2048
    assert head_width({"embed_dim": 96, "depths": [2, 2, 6, 2]}) == 768
    assert head_width({}) == 0


def test_label_count_is_the_only_tolerated_difference() -> None:
    from nar_data.hub.crawler import _match

    unit = 768 + 1  # a Linear(768, labels) head: 769 parameters per label
    known = [(109_483_778, "h-bert-2-labels", unit)]
    assert _match(known, 109_483_778) == "h-bert-2-labels"
    assert _match(known, 109_483_778 + 3 * unit) == "h-bert-2-labels"  # 5 labels: same architecture config
    assert _match(known, 109_483_778 + 8 * 768) is None  # 8 added tokens: a new config, fetched
    assert _match([(1000, "h", 0)], 1001) is None  # no head unit: exact match only
