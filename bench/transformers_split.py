"""Base vs head coverage of the transformers rows of a traced dataset (bars: >= 95 % base, >= 90 % heads),
and every transformers model still failing, with its class.

    .venv/bin/python bench/transformers_split.py data/all
"""

import collections
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nar_data.parquet import read_table  # noqa: E402
from nar_data.sources import get_source  # noqa: E402

def main(data: str) -> None:
    refs = list(get_source("transformers").iter_refs())
    base = {r.model_id: bool(r.meta.get("base")) for r in refs}
    models = {}
    for r in read_table(data, "models", ["model_id", "status", "source"]).to_pylist():
        if r["source"] == "transformers":
            models[r["model_id"]] = r["status"]
    fails = {r["model_id"]: (r["stage"], r["error_class"], r["message"][:160])
             for r in read_table(data, "failures").to_pylist() if r["model_id"].startswith("transformers:")
             and models.get(r["model_id"]) != "ok"}  # a failure a later --retry-failed traced is history
    for kind, want in (("base", True), ("heads", False)):
        ids = [m for m, b in base.items() if b == want]
        seen = [m for m in ids if m in models]
        ok = [m for m in seen if models[m] == "ok"]
        print(f"{kind}: {len(ok)}/{len(ids)} ok ({100*len(ok)/len(ids):.1f} %), rows for {len(seen)}")
    c = collections.Counter((v[0], v[1]) for v in fails.values())
    print("failures by class:", c.most_common())
    print("missing rows:", [m for m in base if m not in models][:20])
    for m, v in sorted(fails.items()):
        print(("BASE " if base.get(m) else "head ") + m, v[1], v[2][:120])


if __name__ == "__main__":
    main(sys.argv[1])
