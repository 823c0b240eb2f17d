"""The canonical op vocabulary: torch op name -> canonical name -> frozen integer id.

Canonical names are the ATen op at the pre-dispatch level without namespace and overload
(``aten.conv2d.default`` -> ``conv2d``), in-place variants folded into their op (``relu_`` -> ``relu``)
and a few spellings of one thing merged (``reshape``/``_unsafe_view`` -> ``view``), so an op is named the
same whichever library implemented it. Non-ATen ops keep their namespace (``torchvision.roi_align``).

The id table is frozen per ``VOCAB_VERSION`` in ``vocab_data/v<N>.txt`` (one name a line, sorted,
line 0 = ``<unk>``); names not in it map to id 0, and the graph keeps the name so a later version can
re-map without re-tracing.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from importlib import resources

VOCAB_VERSION = 1
UNK = "<unk>"
#: Pseudo-ops for the graph's boundary (model inputs and the collected outputs).
INPUT, OUTPUT = "input", "output"

ALIASES = {
    "reshape": "view", "_unsafe_view": "view", "view_as": "view", "_reshape_alias": "view",
    "absolute": "abs", "true_divide": "div", "divide": "div", "multiply": "mul", "subtract": "sub",
    "greater": "gt", "less": "lt", "greater_equal": "ge", "less_equal": "le", "not_equal": "ne",
    "concat": "cat", "concatenate": "cat", "swapaxes": "transpose", "swapdims": "transpose",
    "moveaxis": "movedim", "arctan": "atan", "clip": "clamp", "fix": "trunc", "negative": "neg",
    "special_expit": "sigmoid", "_softmax": "softmax", "_log_softmax": "log_softmax",
    "special_softmax": "softmax", "__and__": "bitwise_and", "__or__": "bitwise_or", "__xor__": "bitwise_xor",
    "__lshift__": "bitwise_left_shift", "__rshift__": "bitwise_right_shift",
}


@lru_cache(maxsize=4096)
def canonical(op: str) -> str:
    """Canonical name of a torch op as ``str(OpOverload)`` prints it, or an already short name."""
    parts = op.split(".")
    if len(parts) >= 2 and parts[0] in {"aten", "prims", "_ops"}:
        name = parts[1]
    elif len(parts) >= 3:  # other namespaces: keep "ns.op", drop the overload
        name = f"{parts[0]}.{parts[1]}"
    else:
        name = parts[0]
    if name.endswith("_") and not name.endswith("__") and len(name) > 1:
        name = name[:-1]  # relu_ -> relu, add_ -> add (in-place is an implementation detail)
    return ALIASES.get(name, name)


@lru_cache(maxsize=8)
def vocabulary(version: int = VOCAB_VERSION) -> tuple[str, ...]:
    """The frozen names of ``version``; index = id. Line 0 is always ``<unk>``."""
    text = resources.files("nar_data.vocab_data").joinpath(f"v{version}.txt").read_text()
    names = tuple(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))
    if not names or names[0] != UNK:
        raise ValueError(f"vocab v{version} must start with {UNK!r}")
    return names


@lru_cache(maxsize=8)
def _index(version: int) -> dict[str, int]:
    return {name: i for i, name in enumerate(vocabulary(version))}


def op_id(name: str, version: int = VOCAB_VERSION) -> int:
    """Id of a canonical name in ``version`` (0 = unknown)."""
    return _index(version).get(name, 0)


def vocab_size(version: int = VOCAB_VERSION) -> int:
    return len(vocabulary(version))


def freeze(names: Iterable[str], min_count: int = 1) -> list[str]:
    """The lines of a new vocabulary file from the canonical op names of a traced dataset.

    Reserved names first (``<unk>``, ``input``, ``output``), then every name seen at least ``min_count``
    times, sorted, so the file is reproducible from the same data.
    """
    from collections import Counter

    counts = Counter(canonical(n) for n in names)
    reserved = [UNK, INPUT, OUTPUT]
    return reserved + sorted(n for n, c in counts.items() if c >= min_count and n not in reserved)


def _main(argv: list[str] | None = None) -> int:
    """``python -m nar_data.vocab DATA_DIR... > nar_data/vocab_data/v<N>.txt`` freezes a new version."""
    import argparse

    from .parquet import read_table

    ap = argparse.ArgumentParser(prog="python -m nar_data.vocab", description=_main.__doc__)
    ap.add_argument("data", nargs="+", help="traced dataset folders")
    ap.add_argument("--min-count", type=int, default=1)
    args = ap.parse_args(argv)
    names = (n for d in args.data for ops in read_table(d, "graphs", ["op_name"]).column("op_name").to_pylist()
             for n in ops)
    lines = freeze(names, args.min_count)
    print(f"# nar op vocabulary: {len(lines)} canonical ops, frozen from {', '.join(args.data)}")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())
