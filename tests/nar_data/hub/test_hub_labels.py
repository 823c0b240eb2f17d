"""Labels from Hub card hints, against a hand-labelled table of real Hub repos (tests/fixtures/hub_labels.csv).

Each row holds what the Hub's listing says about a real repo (library, pipeline tag, config model_type and
architectures or timm architecture, tags, base model) and the family / coarse kind / task a person who
knows the model gives it. The crawler's own path (`ListedRepo.from_item` -> ``meta`` -> `labels_for`) must
agree on the family for at least 95 % of them.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest

from nar_data.hub.listing import ListedRepo
from nar_data.labels import labels_for
from nar_data.sources import ModelRef

TABLE = Path(__file__).resolve().parents[2] / "fixtures" / "hub_labels.csv"


def load_table() -> list[dict[str, str]]:
    lines = [ln for ln in TABLE.read_text().splitlines() if ln and not ln.startswith("#")]
    return list(csv.DictReader(lines))


def listing_item(row: dict[str, str]) -> dict[str, Any]:
    """The listing item the Hub would return for the row (what the crawler sees)."""
    split = lambda v: [x for x in v.split(";") if x]  # noqa: E731
    config: dict[str, Any] = {}
    if row["library"] == "timm":
        config["architecture"] = row["architectures"]
    else:
        if row["model_type"]:
            config["model_type"] = row["model_type"]
        if row["architectures"]:
            config["architectures"] = split(row["architectures"])
    tags = split(row["tags"]) + ([f"base_model:finetune:{row['base_model']}"] if row["base_model"] else [])
    item: dict[str, Any] = {"id": row["repo_id"], "sha": "0" * 40, "tags": tags, "config": config or None}
    if row["library"]:
        item["library_name"] = row["library"]
    if row["pipeline_tag"]:
        item["pipeline_tag"] = row["pipeline_tag"]
    return item


def predicted(row: dict[str, str]) -> dict[str, str]:
    repo = ListedRepo.from_item(listing_item(row))
    return labels_for(ModelRef(source="hf", name=repo.repo_id, library=repo.library, task=repo.pipeline_tag,
                               meta=repo.meta()))


def test_table_is_big_and_unique() -> None:
    rows = load_table()
    assert len(rows) >= 150
    assert len({r["repo_id"] for r in rows}) == len(rows)
    assert all(r["family"] and r["coarse"] and r["task"] for r in rows)


def test_family_agreement_at_least_95_percent() -> None:
    rows = load_table()
    misses = [(r["repo_id"], r["family"], p["family"]) for r in rows if (p := predicted(r))["family"] != r["family"]]
    agreement = 1 - len(misses) / len(rows)
    assert agreement >= 0.95, f"family agreement {agreement:.1%}; misses: {misses}"


@pytest.mark.parametrize("field, floor", [("coarse", 0.9), ("task", 0.9)])
def test_coarse_and_task_agreement(field: str, floor: float) -> None:
    rows = load_table()
    misses = [(r["repo_id"], r[field], p[field]) for r in rows if (p := predicted(r))[field] != r[field]]
    assert 1 - len(misses) / len(rows) >= floor, misses


def test_top_level_fields_fall_back_to_card_and_config() -> None:
    item = {"id": "someone/vit-finetune", "sha": "1" * 40, "tags": [],
            "cardData": {"library_name": "transformers", "pipeline_tag": "image-classification",
                         "base_model": "google/vit-base-patch16-224"},
            "config": {"architectures": ["ViTForImageClassification"], "model_type": "vit"}}
    repo = ListedRepo.from_item(item)
    assert (repo.library, repo.pipeline_tag, repo.base_model) == ("transformers", "image-classification",
                                                                 "google/vit-base-patch16-224")
    bare = ListedRepo.from_item({"id": "x/y", "config": {"architectures": ["BertForTokenClassification"],
                                                         "model_type": "bert"}})
    assert (bare.library, bare.pipeline_tag) == ("transformers", "token-classification")
