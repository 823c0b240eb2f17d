"""Cost of the node-attribute capture: the recorder with and without attributes, same models, same process.

    python bench/attrs_bench.py                              # default model list
    python bench/attrs_bench.py timm:resnet50 --repeat 5

Each model is built once on the meta device. Then the recorder runs alternately with attribute capture on
and off (off = the rule table emptied), ``--repeat`` times each. The script prints the median seconds of
each and their ratio, and the share of nodes that carry attributes.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DEFAULT = ["timm:resnet50", "timm:vit_base_patch16_224", "timm:convnext_tiny", "timm:efficientnet_b0",
           "torchvision:resnext50_32x4d", "torchvision:swin_t", "transformers:BertModel", "transformers:GPT2Model"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="*", default=DEFAULT, help="source:name")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()

    import torch

    from nar_data.sources import get_source
    from nar_data.tracing import _record
    from nar_data.tracing._record import record

    torch.set_num_threads(1)
    full = _record.ATTR_OPS
    print("| model | nodes | with attrs | with s (median) | without s (median) | ratio |")
    print("|---|---:|---:|---:|---:|---:|")
    ratios = []
    for spec in args.models:
        source_name, name = spec.split(":", 1)
        source = get_source(source_name)
        ref = next(iter(source.iter_refs(names=[name])), None)
        if ref is None:
            print(f"| {spec} | not found | | | | |")
            continue
        built = source.build(ref)
        built.module.eval()
        record(built.module, built.args, built.kwargs)  # warm-up: first-call caches of torch and the library
        times: dict[bool, list[float]] = {True: [], False: []}
        raw = None
        for _ in range(args.repeat):
            for on in (True, False):
                _record.ATTR_OPS = full if on else frozenset()
                t = time.perf_counter()
                out = record(built.module, built.args, built.kwargs)
                times[on].append(time.perf_counter() - t)
                raw = out if on else raw
        _record.ATTR_OPS = full
        with_s, without_s = statistics.median(times[True]), statistics.median(times[False])
        ratios.append(with_s / without_s)
        n_attr = sum(1 for a in raw.attrs if a)
        print(f"| {spec} | {len(raw.ops)} | {n_attr} | {with_s:.3f} | {without_s:.3f} | {with_s / without_s:.3f} |")
    if ratios:
        print(f"\nmedian ratio with/without attributes: {statistics.median(ratios):.3f} over {len(ratios)} models")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
