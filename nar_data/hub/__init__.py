"""Hub crawling: a quota-aware client, resumable crawl state, card parsing, and the crawler.

    >>> from nar_data.hub import HubCrawler, CrawlQuery
    >>> summary = HubCrawler("data/nar", endpoint="https://huggingface.co").crawl(CrawlQuery(author="timm", limit=50))
    >>> print(summary.line())

Nothing here imports torch; `source` (the ``hf`` source) builds the crawled repos, importing torch only then.
"""

from __future__ import annotations

from .budget import ANONYMOUS, UNLIMITED, WITH_TOKEN, CallBudget, Quota, parse_quota
from .card import CardError, card_hints, parse_card, split_front_matter
from .client import HubClient, Page
from .crawler import CrawlQuery, CrawlSummary, HubCrawler, model_id_of, refs_from_state
from .listing import ListedRepo
from .state import CrawlState

__all__ = [
    "ANONYMOUS", "UNLIMITED", "WITH_TOKEN", "CallBudget", "CardError", "CrawlQuery", "CrawlState", "CrawlSummary",
    "HubClient", "HubCrawler", "ListedRepo", "Page", "Quota", "card_hints", "model_id_of", "parse_card",
    "parse_quota", "refs_from_state", "split_front_matter",
]
