"""Node attributes: the op arguments that define an architecture, read where the op runs.

Shapes alone cannot tell a grouped convolution from a dense one (resnext50_32x4d and wide_resnet50_2 have the
same tensor shapes everywhere), nor a linear layer with a bias from one without (Qwen2's q/k/v projections
vs Llama's). Each rule below turns one op family's arguments into a small dict, the same whichever library
called the op: kernel / stride / padding / dilation / groups of a convolution, in / out features and bias of a
linear layer, heads / head dim / kv heads of ``scaled_dot_product_attention``, kind and groups of a
normalisation, window of a pooling. The recorder (`._record`) and ``torch.export`` (`._export`) both call
`op_attrs` with the op's schema and its argument values, so both capture methods give the same attributes.

A node's attributes are stored as canonical compact JSON (keys sorted, no spaces), ``""`` when the op has
none; see docs/graph-attributes.md for every key.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable, Sequence
from typing import Any

from ..vocab import canonical

__all__ = ["ATTR_OPS", "attr_rule", "bind", "op_attrs"]

Rule = Callable[[dict[str, Any]], dict[str, Any]]
_RULES: dict[str, Rule] = {}


def attr_rule(*names: str) -> Callable[[Rule], Rule]:
    """Register the attribute rule of the canonical op ``names``."""
    def wrap(fn: Rule) -> Rule:
        for name in names:
            _RULES[name] = fn
        return fn
    return wrap


def bind(schema: Any, args: Sequence[Any], kwargs: dict[str, Any]) -> dict[str, Any]:
    """Argument name -> value of one call, defaults filled from ``schema`` (a ``torch.FunctionSchema``)."""
    out: dict[str, Any] = {}
    for i, arg in enumerate(schema.arguments):
        if i < len(args) and not arg.kwarg_only:
            out[arg.name] = args[i]
        elif arg.name in kwargs:
            out[arg.name] = kwargs[arg.name]
        else:
            out[arg.name] = arg.default_value if arg.has_default_value() else None
    return out


def op_attrs(op: Any, args: Sequence[Any], kwargs: dict[str, Any]) -> str:
    """Canonical JSON of the attributes of one call of ``op`` (an ``OpOverload``), ``""`` if it has none.

    ``args``/``kwargs`` hold tensors (real, meta or fake) where the op takes tensors.
    """
    rule = _RULES.get(canonical(str(op)))
    schema = getattr(op, "_schema", None)
    if rule is None or schema is None:
        return ""
    try:
        attrs = rule(bind(schema, args, kwargs))
    except (AttributeError, IndexError, KeyError, TypeError, ValueError):
        return ""  # an unusual overload: the node keeps its op and shape, only the attributes are lost
    return json.dumps(attrs, sort_keys=True, separators=(",", ":")) if attrs else ""


def _ints(value: Any, n: int) -> list[int]:
    """An int or int list as ``n`` ints (``stride=2`` -> ``[2, 2]``)."""
    if isinstance(value, (int, float)):
        return [int(value)] * n
    vals = [int(v) for v in value]
    return vals * n if len(vals) == 1 and n > 1 else vals


def _shape(t: Any) -> list[int]:
    return [int(s) for s in t.shape]


def _padding(value: Any, kernel: list[int], dilation: list[int]) -> list[int] | str:
    """Explicit padding; ``"valid"`` is 0 and ``"same"`` its symmetric amount, so spellings compare equal."""
    if value == "valid":
        return [0] * len(kernel)
    if value == "same":
        total = [d * (k - 1) for k, d in zip(kernel, dilation)]
        return [t // 2 for t in total] if all(t % 2 == 0 for t in total) else "same"
    return _ints(value, len(kernel))


def _conv(a: dict[str, Any], transposed: bool) -> dict[str, Any]:
    w = _shape(a["weight"])
    spatial = len(w) - 2
    groups = int(a["groups"])
    kernel = w[2:]
    dilation = _ints(a["dilation"], spatial)
    out: dict[str, Any] = {
        "kernel": kernel, "stride": _ints(a["stride"], spatial), "padding": _padding(a["padding"], kernel, dilation),
        "dilation": dilation, "groups": groups, "bias": a["bias"] is not None,
        # weight is (out, in/groups, k...) for a convolution, (in, out/groups, k...) transposed
        "in": w[0] if transposed else w[1] * groups, "out": w[1] * groups if transposed else w[0],
    }
    if transposed:
        out["transposed"] = True
        out["output_padding"] = _ints(a["output_padding"], spatial)
    return out


@attr_rule("conv1d", "conv2d", "conv3d")
def _conv_nd(a: dict[str, Any]) -> dict[str, Any]:
    return _conv(a, transposed=False)


@attr_rule("conv_transpose1d", "conv_transpose2d", "conv_transpose3d")
def _conv_transpose(a: dict[str, Any]) -> dict[str, Any]:
    return _conv(a, transposed=True)


@attr_rule("convolution", "_convolution")
def _convolution(a: dict[str, Any]) -> dict[str, Any]:
    return _conv(a, transposed=bool(a["transposed"]))


@attr_rule("linear")
def _linear(a: dict[str, Any]) -> dict[str, Any]:
    w = _shape(a["weight"])
    return {"in": w[-1], "out": w[0] if len(w) > 1 else 1, "bias": a["bias"] is not None}


@attr_rule("addmm")
def _addmm(a: dict[str, Any]) -> dict[str, Any]:
    # bias + x @ W: a linear layer spelled with a (in, out) weight (transformers' GPT-2 ``Conv1D``)
    w = _shape(a["mat2"])
    return {"in": w[0], "out": w[1], "bias": True}


@attr_rule("scaled_dot_product_attention")
def _sdpa(a: dict[str, Any]) -> dict[str, Any]:
    q, k, v = _shape(a["query"]), _shape(a["key"]), _shape(a["value"])
    out: dict[str, Any] = {
        "heads": q[-3] if len(q) >= 4 else 1, "head_dim": q[-1], "kv_heads": k[-3] if len(k) >= 4 else 1,
        "causal": bool(a["is_causal"]), "mask": a["attn_mask"] is not None,
    }
    if v[-1] != q[-1]:
        out["v_head_dim"] = v[-1]
    scale = a.get("scale")
    if scale is not None and not math.isclose(float(scale), q[-1] ** -0.5, rel_tol=1e-6):
        out["scale"] = round(float(scale), 6)  # only a non-default scale is part of the design
    return out


@attr_rule("_native_multi_head_attention")
def _native_mha(a: dict[str, Any]) -> dict[str, Any]:
    heads, dim = int(a["num_head"]), int(a["embed_dim"])
    return {"heads": heads, "head_dim": dim // heads, "kv_heads": heads, "causal": False,
            "mask": a["mask"] is not None}


@attr_rule("layer_norm")
def _layer_norm(a: dict[str, Any]) -> dict[str, Any]:
    return {"norm": "layer", "affine": a["weight"] is not None, "bias": a["bias"] is not None}


@attr_rule("rms_norm")
def _rms_norm(a: dict[str, Any]) -> dict[str, Any]:
    return {"norm": "rms", "affine": a["weight"] is not None}


@attr_rule("batch_norm")
def _batch_norm(a: dict[str, Any]) -> dict[str, Any]:
    return {"norm": "batch", "affine": a["weight"] is not None, "bias": a["bias"] is not None}


@attr_rule("instance_norm")
def _instance_norm(a: dict[str, Any]) -> dict[str, Any]:
    return {"norm": "instance", "affine": a["weight"] is not None, "bias": a["bias"] is not None}


@attr_rule("group_norm")
def _group_norm(a: dict[str, Any]) -> dict[str, Any]:
    return {"norm": "group", "groups": int(a["num_groups"]), "affine": a["weight"] is not None,
            "bias": a["bias"] is not None}


def _window(a: dict[str, Any], n: int) -> dict[str, Any]:
    kernel = _ints(a["kernel_size"], n)
    stride = _ints(a["stride"], n) if a["stride"] not in (None, []) else kernel  # empty stride = the window
    return {"kernel": kernel, "stride": stride, "padding": _ints(a["padding"], n), "ceil": bool(a["ceil_mode"])}


def _max_pool(a: dict[str, Any], n: int) -> dict[str, Any]:
    out = _window(a, n)
    out["dilation"] = _ints(a["dilation"], n)
    return out


def _avg_pool(a: dict[str, Any], n: int) -> dict[str, Any]:
    out = _window(a, n)
    out["count_pad"] = bool(a["count_include_pad"])
    return out


def _adaptive_pool(a: dict[str, Any], n: int) -> dict[str, Any]:
    return {"output": _ints(a["output_size"], n)}


for _n in (1, 2, 3):  # pooling rules per spatial rank: an int window means n equal sides
    attr_rule(f"max_pool{_n}d", f"max_pool{_n}d_with_indices")(functools.partial(_max_pool, n=_n))
    attr_rule(f"avg_pool{_n}d")(functools.partial(_avg_pool, n=_n))
    attr_rule(f"adaptive_avg_pool{_n}d", f"adaptive_max_pool{_n}d")(functools.partial(_adaptive_pool, n=_n))
del _n


@attr_rule("gelu")
def _gelu(a: dict[str, Any]) -> dict[str, Any]:
    approximate = a.get("approximate") or "none"
    return {"approximate": approximate} if approximate != "none" else {}


#: Canonical ops that carry attributes.
ATTR_OPS = frozenset(_RULES)
