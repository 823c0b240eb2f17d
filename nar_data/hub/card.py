"""Model cards: the README's YAML front matter, parsed defensively, and the hints labels use.

The Hub parses the front matter itself and returns it as ``cardData`` in listings, so the crawler
needs the README only when it asks for it (``fetch_cards``). Both paths meet in `card_hints`.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

__all__ = ["CardError", "split_front_matter", "parse_card", "card_hints", "base_model_of"]

_FRONT = re.compile(r"\A\ufeff?---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)
#: A card's YAML larger than this is refused (a card is metadata, not data).
MAX_YAML_BYTES = 256_000


class CardError(ValueError):
    """The card's YAML front matter is malformed (not YAML, or not a mapping)."""


def split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """``(metadata, body)`` of a README; ``({}, text)`` when there is no front matter.

    Raises:
        CardError: the front matter exists but is not a YAML mapping.
    """
    match = _FRONT.match(text)
    if not match:
        return {}, text
    raw = match.group(1)
    if len(raw) > MAX_YAML_BYTES:
        raise CardError(f"card YAML is {len(raw)} bytes, more than {MAX_YAML_BYTES}")
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as e:
        raise CardError(f"card YAML does not parse: {str(e).splitlines()[0]}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise CardError(f"card YAML is a {type(data).__name__}, expected a mapping")
    return data, text[match.end():]


def parse_card(readme: bytes | str) -> dict[str, Any]:
    """The front matter of a README (bytes or text)."""
    text = readme.decode("utf-8", "replace") if isinstance(readme, bytes) else readme
    return split_front_matter(text)[0]


def _str_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (str, int, float)):
        return [str(value)]
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value if isinstance(v, (str, int, float))]
    return []


def base_model_of(tags: list[str] | None, card: dict[str, Any] | None) -> tuple[str, str]:
    """``(base model id, relation)`` from ``base_model:<relation>:<id>`` tags, else the card's ``base_model``."""
    for tag in tags or []:
        parts = tag.split(":", 2)
        if len(parts) == 3 and parts[0] == "base_model":
            return parts[2], parts[1]
    bases = _str_list((card or {}).get("base_model"))
    if bases:
        return bases[0], str((card or {}).get("base_model_relation") or "")
    return "", ""


def card_hints(card: dict[str, Any] | None) -> dict[str, Any]:
    """The label-relevant fields of a card, normalised to strings / lists of strings."""
    card = card or {}
    hints: dict[str, Any] = {}
    for key in ("pipeline_tag", "library_name", "license", "base_model_relation"):
        values = _str_list(card.get(key))
        if values:
            hints[key] = values[0]
    for key in ("tags", "datasets", "language", "base_model"):
        values = _str_list(card.get(key))
        if values:
            hints[f"card_{key}" if key != "base_model" else "card_base_model"] = values
    return hints
