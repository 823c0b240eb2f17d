"""`MetaResults`: meta kernels skipped for calls whose results are known (every op below the recorder)."""

from __future__ import annotations

import functools
from typing import Any

import torch

from .tensors import tensor_leaves

__all__ = ["MetaResults"]

#: Non-tensor argument types a cached op may take (their values go into the key, with their type).
_KEY_SCALARS = (int, float, bool, str, type(None), torch.dtype, torch.device, torch.layout, torch.memory_format)


@functools.cache
def _cacheable(func: Any) -> bool:
    """A functional op returning fresh tensors only: no mutation, no output aliasing an input (views)."""
    schema = getattr(func, "_schema", None)
    return schema is not None and not schema.is_mutable and bool(schema.returns) and all(
        r.alias_info is None and str(r.type) == "Tensor" for r in schema.returns)


#: In-place ops outside the ``pointwise`` tag whose result is ``self`` with unchanged metadata (shape, strides, dtype).
_INPLACE_SAME_META = frozenset(("hardswish_", "hardsigmoid_", "copy_", "fill_", "zero_", "masked_fill_"))


@functools.cache
def _inplace_on_self(func: Any) -> bool:
    """An in-place op that writes ``self`` only, returns it, and never changes its metadata (a pointwise op such as
    ``sigmoid_`` / ``add_``, or ``fill_`` / ``copy_``; not ``resize_``, ``unsqueeze_``, ``set_``): called again with
    equal arguments it passes the same checks and returns ``self`` as it is."""
    schema = getattr(func, "_schema", None)
    if schema is None or not schema.name.endswith("_") or len(schema.returns) != 1:
        return False
    ret = schema.returns[0].alias_info
    written = [a for a in schema.arguments if a.alias_info is not None and a.alias_info.is_write]
    if ret is None or not ret.is_write or len(written) != 1 or written[0].name != "self" or \
            torch.Tag.inplace_view in func.tags:
        return False
    return torch.Tag.pointwise in func.tags or schema.name.removeprefix("aten::") in _INPLACE_SAME_META


_SCALAR_KINDS = frozenset(_KEY_SCALARS)
_STRIDED = torch.strided
_TENSOR = torch.Tensor


def _key_of(obj: Any, parts: list[Any]) -> bool:
    """Append ``obj``'s part of a cache key to ``parts``; False where it cannot be keyed.

    A sequence's scalars and tensors (all an op's arguments nearly always are) are keyed in its own loop, not by a
    call each: this runs for every op below the recorder. The parts are the same either way."""
    kind = type(obj)
    if kind is tuple or kind is list:
        parts.append(("(", len(obj)))
        for x in obj:  # a loop, not all(generator): this runs for every op of a forward
            k = type(x)
            if k in _SCALAR_KINDS:
                parts.append((k, x))
            elif isinstance(x, _TENSOR):
                if not x.is_meta or x.layout is not _STRIDED or x.is_conj() or x.is_neg():
                    return False
                parts.append((x.shape, x.stride(), x.dtype, x.storage_offset()))
            elif not _key_of(x, parts):
                return False
        return True
    if kind in _SCALAR_KINDS:
        parts.append((kind, obj))
        return True
    if isinstance(obj, _TENSOR):
        if not obj.is_meta or obj.layout is not _STRIDED or obj.is_conj() or obj.is_neg():
            return False  # a real tensor has values a result may depend on (a boolean mask's count)
        parts.append((obj.shape, obj.stride(), obj.dtype, obj.storage_offset()))
        return True
    return False


def _call_key(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...] | None:
    """The cache key of ``func(*args, **kwargs)``: the op (its ``id``: ops live as long as the process, and
    `_facts` keeps a reference), the default dtype (it decides a factory op's or a Python scalar's result
    dtype), argument metadata and scalar values; None if unkeyable."""
    parts: list[Any] = [id(func), torch.get_default_dtype()]
    if not _key_of(args, parts) or (kwargs and not _key_of(sorted(kwargs.items()), parts)):
        return None
    return tuple(parts)


@functools.cache
def _kept(func: Any) -> bool:
    """Whether a result of ``func`` is kept from one forward to the next: torch's own ops (``aten``, ``prims``),
    whose meta kernels are functions of the argument metadata alone. Other libraries' ops are kept for one
    forward only (a meta implementation of theirs might read state of its own)."""
    return getattr(func, "namespace", None) in ("aten", "prims")


_OTHER, _INPLACE, _FUNCTIONAL = 0, 1, 2
_FACTS: dict[int, tuple[Any, int, bool]] = {}  # id(op) -> (op, kind, kept): one dict look-up per call


def _facts(func: Any) -> tuple[Any, int, bool]:
    """``(func, kind, kept)``: `_inplace_on_self` (``_INPLACE``), `_cacheable` (``_FUNCTIONAL``) or neither, and
    `_kept`; looked up by ``id`` (an op's own ``__hash__`` is Python), with a reference that keeps the id valid."""
    facts = _FACTS.get(id(func))
    if facts is None:
        kind = _INPLACE if _inplace_on_self(func) else _FUNCTIONAL if _cacheable(func) else _OTHER
        facts = _FACTS[id(func)] = (func, kind, _kept(func))
    return facts


class MetaResults:
    """Reuse the output *metadata* of a functional op seen before with equal arguments.

    A meta kernel only computes output shapes, strides and dtypes, and many run in Python (elementwise ops,
    norms, attention): most of a recorded forward. Repeated blocks run the same ops on the same shapes, so the
    second time an op is called with equal arguments (tensor shape / stride / dtype / offset, scalar values, and
    the default dtype) it gets fresh meta tensors of the first call's output metadata instead. Only functional
    ops whose every operand is a meta tensor or a plain value qualify (a real tensor may carry values a shape
    depends on), and only ops that returned fresh storage (``_unsafe_view`` returns a view its schema does not
    declare). In-place ops that write ``self`` and keep its metadata (`_inplace_on_self`: ``sigmoid_``,
    ``add_``, ``fill_``...) called again with equal arguments return ``self`` without their kernel (its checks
    passed on equal arguments before). The recorder's bottom dispatch mode (``nar_data.tracing._record``) runs
    every op below autograd through one instance per process, so the recorder, autograd and `ShadowValues`
    (above that mode) still see every op; `ShadowValues` passes its meta-only ops down to it.

    `new_forward` starts a forward: results of torch's own ops (`_kept`) stay, so the next model's equal calls
    (the same stem, the same block widths) are served too; other libraries' ops are forgotten, and everything
    once more than ``limit`` calls are known (a bound on memory; the pool's workers are recycled anyway).
    """

    def __init__(self, limit: int = 100_000) -> None:
        self.limit = limit
        self.results: dict[tuple[Any, ...], tuple[tuple[tuple[int, ...], tuple[int, ...], torch.dtype], ...]] = {}
        self.aliasing: dict[int, Any] = {}  # id(op) -> op, for ops seen returning a tensor sharing an input's storage
        self.inplace: set[tuple[Any, ...]] = set()  # in-place calls (`_inplace_on_self`) seen with these arguments
        self._forward_only: list[tuple[Any, ...]] = []  # keys of ops not `_kept`, forgotten by `new_forward`

    def new_forward(self) -> None:
        """Forget what is kept for one forward only, and everything once the cache is past its limit."""
        for key in self._forward_only:
            self.results.pop(key, None)
            self.inplace.discard(key)
        self._forward_only.clear()
        if len(self.results) + len(self.inplace) > self.limit:
            self.results.clear()
            self.inplace.clear()

    def run(self, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """``func(*args, **kwargs)``, or fresh meta tensors of an equal call's results."""
        facts = _FACTS.get(id(func)) or _facts(func)
        kind = facts[1]
        if kind == _OTHER or torch._C._len_torch_dispatch_stack():  # another mode below: it must see the op
            return func(*args, **kwargs)
        if kind == _INPLACE:
            key = _call_key(func, args, kwargs)
            if key is not None and key in self.inplace:
                return args[0]  # its checks passed on equal arguments; a meta tensor has no values to write
            out = func(*args, **kwargs)
            if key is not None and out is args[0]:
                self.inplace.add(key)
                if not facts[2]:
                    self._forward_only.append(key)
            return out
        if id(func) in self.aliasing:
            return func(*args, **kwargs)
        key = _call_key(func, args, kwargs)
        if key is None:
            return func(*args, **kwargs)
        hit = self.results.get(key)
        if hit is not None:
            if len(hit) == 1:
                shape, stride, dtype = hit[0]
                return torch.empty_strided(shape, stride, dtype=dtype, device="meta")
            return tuple(torch.empty_strided(shape, stride, dtype=dtype, device="meta") for shape, stride, dtype in hit)
        out = func(*args, **kwargs)
        outs = out if isinstance(out, tuple) else (out,)
        if not all(isinstance(t, torch.Tensor) and t.is_meta and t.layout is _STRIDED
                   and t.storage_offset() == 0 and not t.is_conj() and not t.is_neg() for t in outs):
            return out
        inputs = {t.untyped_storage()._cdata for t in tensor_leaves((args, kwargs))}
        if any(t.untyped_storage()._cdata in inputs for t in outs):  # a view its schema does not declare
            self.aliasing[id(func)] = func  # (``_unsafe_view``): its result must stay the view, never cached
            return out
        self.results[key] = tuple((tuple(t.shape), t.stride(), t.dtype) for t in outs)
        if not facts[2]:
            self._forward_only.append(key)
        return out
