from __future__ import annotations

import pytest

from nar_data.hub.card import CardError, base_model_of, card_hints, parse_card, split_front_matter


def test_front_matter_is_parsed_and_body_kept() -> None:
    meta, body = split_front_matter("---\nlicense: mit\ntags:\n- bert\n---\n\n# Title\n")
    assert meta == {"license": "mit", "tags": ["bert"]}
    assert body.strip() == "# Title"


def test_no_front_matter_is_empty_not_an_error() -> None:
    assert split_front_matter("# Just a title\n") == ({}, "# Just a title\n")
    assert parse_card(b"---\n---\n") == {}


@pytest.mark.parametrize("yaml_text", ["license: [mit\n", "- a\n- list\n", "key: : value\n"])
def test_malformed_front_matter_raises(yaml_text: str) -> None:
    with pytest.raises(CardError):
        split_front_matter(f"---\n{yaml_text}---\nbody")


def test_base_model_from_tags_then_card() -> None:
    assert base_model_of(["base_model:finetune:google-bert/bert-base-uncased"], {}) == (
        "google-bert/bert-base-uncased", "finetune")
    assert base_model_of([], {"base_model": ["a/b", "c/d"]}) == ("a/b", "")
    assert base_model_of(None, None) == ("", "")


def test_card_hints_normalise_types() -> None:
    hints = card_hints({"pipeline_tag": "fill-mask", "tags": ["x", 3, {"bad": 1}], "language": "en",
                        "base_model": "a/b"})
    assert hints == {"pipeline_tag": "fill-mask", "card_tags": ["x", "3"], "card_language": ["en"],
                     "card_base_model": ["a/b"]}
