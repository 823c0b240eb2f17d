"""nar: find the existing architectures most like any network.

The product layer above `nar_data` (tracing, the dataset) and `nar_model` (encoders, search index):

    from nar import search
    result = search("timm:resnet50", k=5)                    # any query form, see `nar.query`
    result = search(my_module, torch.randn(1, 3, 224, 224))  # any nn.Module you built

`generate(...)` (lazy: `nar.generate`) samples new architectures near a query or within a budget.
`search` returns a `SearchResult` (typed hits, twins first; ``to_dict()`` for JSON); `Searcher` keeps a
dataset loaded for many queries; `resolve` turns a query into what it names. Importing nar is cheap:
torch loads only when a model has to be built or traced.
"""

from nar.errors import AmbiguousQueryError, BuildFailedError, QueryError, RemoteCodeRefusedError, UnknownModelError
from nar.query import QueryContext, Resolved, list_forms, resolve
from nar.result import Hit, QueryInfo, SearchResult
from nar.search import Searcher, search

__all__ = ["AmbiguousQueryError", "BuildFailedError", "Hit", "QueryContext", "QueryError", "QueryInfo",
           "RemoteCodeRefusedError", "Resolved", "SearchResult", "Searcher", "UnknownModelError", "list_forms",
           "generate", "resolve", "search"]


def __getattr__(name: str):  # noqa: ANN202 - `nar.generate` imports torch; only load it when asked for
    if name == "generate":
        from nar.generate import generate

        return generate
    raise AttributeError(f"module 'nar' has no attribute {name!r}")
