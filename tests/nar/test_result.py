"""`SearchResult` round-trips through plain JSON."""

import json

from nar.result import Hit, QueryInfo, SearchResult


def test_search_result_round_trips_through_json() -> None:
    q = QueryInfo("resnet50", "timm:resnet50", "name", "timm:resnet50", "a" * 32, True, 10, 100, 1000)
    hits = (Hit(1, 1.0, "torchvision:resnet50", "a" * 32, twin=True),
            Hit(2, 0.9, "timm:resnet101", "b" * 32, "resnet", also=("hf:x/y",), explanation={"summary": "s"}))
    r = SearchResult(q, hits, 6, "v", 0.01, "data", twins_total=1)
    d = json.loads(json.dumps(r.to_dict()))
    assert d["hits"][0]["mark"] == "identical graph" and d["hits"][1]["mark"] == ""
    back = SearchResult.from_dict(d)
    assert back == r and back.twins == hits[:1]
