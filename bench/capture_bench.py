"""Capture speed: the PreDispatch recorder against torch.export on the same meta-built models.

    python bench/capture_bench.py                       # default model list
    python bench/capture_bench.py timm:resnet50 transformers:BertModel --repeat 3

Prints, per model, build seconds, recorder seconds, export seconds (best of ``--repeat``), the speed-up and
whether both capture the same multiset of canonical ops (export's extra ``getitem`` nodes excluded).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter

DEFAULT = ["timm:resnet50", "timm:vit_base_patch16_224", "timm:convnext_tiny", "timm:efficientnet_b0",
           "torchvision:mobilenet_v3_large", "torchvision:swin_t", "transformers:BertModel", "transformers:GPT2Model"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="*", default=DEFAULT, help="source:name")
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()

    import torch

    from nar_data.sources import get_source
    from nar_data.tracing import capture
    from nar_data._warm import warm_up
    from nar_data.vocab import INPUT, OUTPUT, canonical

    torch.set_num_threads(1)
    warm_up()

    def ops(raw) -> Counter:  # noqa: ANN001
        return Counter(canonical(o) for o in raw.ops if o not in (INPUT, OUTPUT))

    print("| model | nodes | build s | recorder s | export s | speed-up | same ops |")
    print("|---|---:|---:|---:|---:|---:|:---:|")
    for spec in args.models:
        source_name, name = spec.split(":", 1)
        source = get_source(source_name)
        ref = next(iter(source.iter_refs(names=[name])), None)
        if ref is None:
            print(f"| {spec} | not found | | | | | |")
            continue
        t = time.perf_counter()
        built = source.build(ref)
        build_s = time.perf_counter() - t
        built.module.eval()
        best = {}
        raws = {}
        for method in ("dispatch", "export"):
            times = []
            for _ in range(args.repeat):
                t = time.perf_counter()
                try:
                    raws[method], _ = capture(built.module, built.args, built.kwargs, methods=(method,))
                except Exception as e:  # noqa: BLE001 - report, go on with the next model
                    print(f"  {spec} {method} failed: {str(e)[:120]}", file=sys.stderr)
                    break
                times.append(time.perf_counter() - t)
            best[method] = min(times) if times else float("nan")
        if "dispatch" not in raws:
            print(f"| {spec} | - | {build_s:.2f} | failed | | | |")
            continue
        same = "yes" if "export" in raws and ops(raws["dispatch"]) == ops(raws["export"]) else \
            ("export failed" if "export" not in raws else "no")
        print(f"| {spec} | {len(raws['dispatch'].ops)} | {build_s:.2f} | {best['dispatch']:.3f} | {best['export']:.3f} | "
              f"{best['export'] / best['dispatch']:.1f}x | {same} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
