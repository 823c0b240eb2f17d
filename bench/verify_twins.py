"""Check every pair of the twin table by building both models on the meta device (no weights).

Two models are twins when their *trunks* (all parameters but the classification head and pooler, whose size is
a dataset choice, not the design) agree within ``--tol`` (default 0.5 %) and they have the same depth: the number
of normalisation layers (ConvNeXt-V2's global response norm included), or for a model without any (VGG) its convolutions + linear layers. Norms count blocks
the same in every library, where weight layers do not (timm fuses q/k/v into one linear, transformers has three;
timm's VGG and MobileNetV3 heads are 1x1 convs where torchvision has linears).

    PYTHONPATH=. python bench/verify_twins.py                      # the pairs of nar_data/catalog/twins.yaml
    PYTHONPATH=. python bench/verify_twins.py --section near       # the recorded near-twins (expected to fail)
    PYTHONPATH=. python bench/verify_twins.py --pairs cand.yaml --json out.json

Exit status 1 when a pair of the checked section fails or cannot be built.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from nar_data.catalog import catalog_file

#: last-component module names that hold a pooler (transformers ``XModel`` adds one; timm and torchvision do not)
POOLERS = {"pooler"}


def _hub_refs() -> dict[str, Any]:
    """``hf:<repo>`` -> ModelRef for the local Hub fixtures (the repos tests serve from nar_data/testing)."""
    from nar_data.sources import ModelRef
    from nar_data.testing.hub_fixtures import generate_repos

    out = {}
    for repo in generate_repos(0):
        raw = repo.files.get("config.json")
        try:
            cfg = json.loads(raw) if raw else None
        except ValueError:
            continue
        if not isinstance(cfg, dict):
            continue
        if "architecture" in cfg:
            lib = "timm"
        elif "modules.json" in repo.files:
            lib = "sentence-transformers"
        else:
            lib = "transformers"
        out[f"hf:{repo.repo_id}"] = ModelRef(source="hf", name=repo.repo_id, library=lib, config=cfg)
    return out


def _ref(model_id: str, hub: dict[str, Any]) -> Any:
    from nar_data.sources import get_source

    source, name = model_id.split(":", 1)
    if source == "hf":
        if model_id not in hub:
            raise KeyError(f"{model_id} is not a local Hub fixture (nar_data/testing/hub_fixtures.py)")
        return hub[model_id]
    refs = list(get_source(source).iter_refs(names=[name]))
    if not refs:
        raise KeyError(f"{model_id}: {source} lists no such model")
    return refs[0]


def _n_classes(module: Any, model_id: str) -> int | None:
    """Outputs of the classification head, or None for a headless model."""
    if model_id.startswith(("timm:", "hf:timm/")):
        return int(getattr(module, "num_classes", 0)) or None
    if model_id.startswith("torchvision:"):
        return 1000
    name = type(module).__name__
    if "ForImageClassification" in name or "ForSequenceClassification" in name:
        return int(getattr(module.config, "num_labels", 0)) or None
    return None


def stats(module: Any, model_id: str) -> dict[str, Any]:
    """Parameter counts (total, trunk) and depth (norm layers, convolutions) of a built module."""
    from torch import nn

    total = sum(p.numel() for p in module.parameters())
    classes = _n_classes(module, model_id)
    head = 0
    norms = convs = linears = 0
    for qname, m in module.named_modules():
        own = sum(p.numel() for p in m.parameters(recurse=False))
        last = qname.rsplit(".", 1)[-1]
        if classes and isinstance(m, nn.Linear) and m.out_features == classes:
            head += own
            continue
        if classes and isinstance(m, nn.Conv2d) and m.out_channels == classes and m.kernel_size == (1, 1):
            head += own
            continue
        if last in POOLERS and qname.count(".") <= 1:
            head += sum(p.numel() for p in m.parameters())
        if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Conv3d)):
            convs += 1
        elif isinstance(m, nn.Linear):
            linears += 1
        elif ("norm" in type(m).__name__.lower() or type(m).__name__.endswith("GRN")) and own:
            norms += 1
    return {"params": total, "trunk": total - head, "depth": norms or convs + linears,
            "layers": {"norm": norms, "conv": convs, "linear": linears}}


def measure(model_id: str, hub: dict[str, Any]) -> dict[str, Any]:
    from nar_data.sources import get_source

    t0 = time.perf_counter()
    ref = _ref(model_id, hub)
    built = get_source(ref.source).build(ref)
    out = stats(built.module, model_id)
    out["seconds"] = round(time.perf_counter() - t0, 2)
    return out


def check(a: dict[str, Any], b: dict[str, Any], tol: float) -> tuple[bool, float]:
    diff = abs(a["trunk"] - b["trunk"]) / max(a["trunk"], b["trunk"], 1)
    return diff <= tol and a["depth"] == b["depth"], diff


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", default=str(catalog_file("twins.yaml")), help="twin table (default: the catalog's)")
    ap.add_argument("--section", choices=["pairs", "near", "all"], default="pairs")
    ap.add_argument("--tol", type=float, default=0.005, help="relative trunk-parameter tolerance (default 0.005)")
    ap.add_argument("--json", help="write per-model stats and per-pair results here")
    ap.add_argument("--only", default="", help="check only pairs with a member containing this string")
    args = ap.parse_args(argv)

    data = yaml.safe_load(Path(args.pairs).read_text()) or {}
    pairs = [tuple(p) for p in data.get("pairs") or []] if args.section in ("pairs", "all") else []
    if args.section in ("near", "all"):
        pairs += [tuple(e["pair"]) for e in data.get("near") or []]
    pairs = [p for p in pairs if args.only in p[0] or args.only in p[1]]
    hub = _hub_refs() if any(m.startswith("hf:") for p in pairs for m in p) else {}
    cache: dict[str, dict[str, Any]] = {}
    results, bad = [], 0
    t0 = time.perf_counter()
    for a, b in pairs:
        for m in (a, b):
            if m not in cache:
                try:
                    cache[m] = measure(m, hub)
                except Exception as e:  # noqa: BLE001 - report and go on
                    cache[m] = {"error": f"{type(e).__name__}: {str(e)[:200]}"}
        sa, sb = cache[a], cache[b]
        if "error" in sa or "error" in sb:
            bad += 1
            results.append({"a": a, "b": b, "ok": False, "error": sa.get("error") or sb.get("error")})
            print(f"ERROR {a} ~ {b}: {sa.get('error') or sb.get('error')}", flush=True)
            continue
        ok, diff = check(sa, sb, args.tol)
        bad += not ok
        results.append({"a": a, "b": b, "ok": ok, "trunk_diff": diff})
        print(f"{'ok  ' if ok else 'FAIL'} {a:48s} {b:52s} params {sa['params']:>12,d} {sb['params']:>12,d}  "
              f"trunk {sa['trunk']:>12,d} {sb['trunk']:>12,d} ({100 * diff:.3f} %)  depth {sa['depth']} {sb['depth']}",
              flush=True)
    print(f"{len(pairs) - bad} of {len(pairs)} pairs pass ({len(cache)} models, {time.perf_counter() - t0:.0f} s)")
    if args.json:
        Path(args.json).write_text(json.dumps({"models": cache, "pairs": results}, indent=1))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
