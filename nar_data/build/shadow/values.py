"""Shadow values: real CPU values behind chosen meta tensors, so value-reading code runs on meta.

A weight-free trace runs on the meta device, where tensors have shapes but no data. Multimodal
models, MoE routers and audio codecs read the *values* of small integer tensors (token ids, image
grids, masks, kernel sizes); `ShadowValues` keeps a CPU copy of each such tensor and of what is
computed from it (the op families it answers are `ShadowValues.dispatch`'s branches). `BuildConstants`
and `with_shadow_values` (``wrap.py``) put it on a model; `ListIndexShadows` (``indices.py``) is the opt-in
for Python-list indexing.
"""

from __future__ import annotations

from typing import Any

import torch

from ..meta_results import MetaResults
from ..tensors import tensor_leaves

__all__ = ["DERIVED_LIMIT", "SHADOW_LIMIT", "ShadowValues"]

#: Largest tensor (elements) whose values are shadowed on CPU: token ids, grids, masks, positions.
SHADOW_LIMIT = 1 << 16
#: The same for values the forward *derives* from shadowed ones: LED pads its mask to a 512-token window and
#: expands it to ``[B, 1, 512, 512]``; ViLT makes a ``[B, 384, 384]`` pixel mask before reading its sums.
DERIVED_LIMIT = 1 << 19


class ShadowValues:
    """Give chosen meta inputs *values*, so data-dependent code on them runs on the meta device.

    Meta tensors have shapes but no data; multimodal models read their token ids and image grids
    (``image_grid_thw.tolist()``, ``(input_ids == image_token_id).sum()``, ``repeat_interleave``).
    Under this context every op whose tensor operands are all either real CPU tensors or meta tensors
    with a shadow is also run on the small CPU shadows, so the result gets a shadow too; ``.item()``,
    ``.tolist()`` and data-dependent shapes (``nonzero``) are answered from the shadow. Weights and
    activations stay shadowless meta tensors: nothing large is ever computed or allocated.

    Enter it *inside* the model's forward (see `with_shadow_values`), below any recording mode.
    """

    _active: list["ShadowValues"] = []

    def __init__(self, seeds: dict[int, tuple[torch.Tensor, torch.Tensor]], int_only: bool = False) -> None:
        self.int_only = int_only  # while a model is built: shadow integer constants only, not weights
        self.values: dict[int, torch.Tensor] = {}
        self.meta = MetaResults()  # meta-only calls with known results: one forward's repeated blocks are cheap
        self.keep: list[torch.Tensor] = []  # strong refs: an id() must not be reused while we map it
        for meta_t, cpu_t in seeds.values():
            self.set(meta_t, cpu_t)

    def set(self, meta_t: torch.Tensor, cpu_t: torch.Tensor) -> None:
        self.values[id(meta_t)] = cpu_t
        self.keep.append(meta_t)

    def get(self, t: torch.Tensor) -> torch.Tensor | None:
        return self.values.get(id(t))

    def __enter__(self) -> "ShadowValues":
        from torch.utils._python_dispatch import TorchDispatchMode

        shadow = self

        class Mode(TorchDispatchMode):
            def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: ANN001
                return shadow.dispatch(func, args, kwargs or {})

        self._mode = Mode()
        self._mode.__enter__()
        ShadowValues._active.append(self)
        _patch_tensor_methods()
        return self

    def __exit__(self, *exc: object) -> None:
        ShadowValues._active.pop()
        self._mode.__exit__(*exc)
        if not ShadowValues._active:
            _unpatch_tensor_methods()

    def dispatch(self, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Run one aten op: on the CPU shadows too when every meta operand has one, else on meta alone."""
        if func in _INDEX_OPS and any(self._shadowed_mask(i) for i in args[1]):
            args = (args[0], self._mask_to_indices(args[1]), *args[2:])
        known = self._all_shadowed(args, kwargs)
        if not known and getattr(func, "_opname", "") in _VALUE_FREE \
                and args and isinstance(args[0], torch.Tensor) and args[0].is_meta \
                and args[0].numel() <= DERIVED_LIMIT:
            # zeros_like / new_full / ...: the result's values do not depend on the input's values
            self.set(args[0], torch.zeros(args[0].shape, dtype=args[0].dtype))  # deterministic, never garbage
            known = self._all_shadowed(args, kwargs)
        if known:
            return self._replay(func, args, kwargs)
        return self._unshadowed(func, args, kwargs)

    def _all_shadowed(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
        """Whether the op touches meta and every meta operand has a shadow (so the CPU copy can run too)."""
        tensors = tensor_leaves((args, kwargs))
        to_meta = str(kwargs.get("device", "")) == "meta"
        return (to_meta or any(t.is_meta for t in tensors)) and all(
            not t.is_meta or id(t) in self.values for t in tensors)

    def _unshadowed(self, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """An op with a shadowless meta operand: meta only, except for the few ops whose result values are known."""
        if func is torch.ops.aten.nonzero.default and args[0].is_meta and args[0].numel() <= DERIVED_LIMIT:
            return self._nonzero_all(func, args[0])
        if func is torch.ops.aten.argmin.default and not self.int_only and args[0].is_meta:
            return self._nearest_code(func, args, kwargs)
        if func is torch.ops.aten._to_copy.default and args[0].is_meta \
                and str(kwargs.get("device", "meta")) == "cpu":
            # meta -> cpu recurses in torch's decomposition (RecursionError): say what is missing instead
            raise RuntimeError("the forward reads the values of a tensor computed from weights or activations "
                               "(.tolist()/.cpu() on meta, e.g. data-dependent MoE split sizes)")
        out = self.meta.run(func, args, kwargs)
        if func._schema.is_mutable and args and isinstance(args[0], torch.Tensor):
            self.values.pop(id(args[0]), None)  # mutated by an unknown operand: stale
        return out

    def _replay(self, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Run the op on meta and on the CPU shadows; the meta result gets the CPU result as its shadow."""
        from torch.utils import _pytree as pytree

        scalar = not any("Tensor" in str(r.type) for r in func._schema.returns)  # item(), equal(), ...
        try:
            if scalar:
                raise RuntimeError(f"{func} returns a scalar: the shadow answers")
            out, meta_error = func(*args, **kwargs), None
        except Exception as e:  # noqa: BLE001 - data-dependent on meta: the CPU shadow decides
            out, meta_error = None, e
        outs = [t for t in pytree.tree_leaves(out) if isinstance(t, torch.Tensor)]
        if meta_error is None and (not outs or any(t.numel() > DERIVED_LIMIT for t in outs)):
            return out
        if meta_error is None and self.int_only and any(t.is_floating_point() or t.is_complex() for t in outs):
            return out

        def cpu(x: Any) -> Any:
            if isinstance(x, torch.Tensor) and x.is_meta:
                return self.values[id(x)]
            if isinstance(x, torch.device) and x.type == "meta":
                return torch.device("cpu")
            return x

        cargs, ckwargs = pytree.tree_map(cpu, (args, kwargs))
        try:
            cout = func(*cargs, **ckwargs)
        except Exception:  # noqa: BLE001
            if meta_error is not None:
                raise meta_error from None
            return out
        return self._adopt(func, out, cout, meta_error, scalar)

    def _adopt(self, func: Any, out: Any, cout: Any, meta_error: Exception | None, scalar: bool) -> Any:
        """The op's result, given its meta result ``out`` (or the meta kernel's ``meta_error``) and CPU result."""
        from torch.utils import _pytree as pytree

        if "empty" in func._schema.name:  # empty / empty_like / new_empty / empty_strided: never garbage values
            # (uninitialised memory made Mimi/PocketTTS/Encodec paddings depend on what the worker ran before)
            cout = pytree.tree_map_only(torch.Tensor, lambda c: c.zero_(), cout)
        if meta_error is None and any(isinstance(o, torch.Tensor) and isinstance(c, torch.Tensor) and o.shape != c.shape
                                      for o, c in zip(pytree.tree_leaves(out), pytree.tree_leaves(cout))):
            # a data-dependent shape the meta kernel guessed (nonzero assumes every element is non-zero): the
            # shadow knows it (Longformer counts its separator tokens: ``(input_ids == sep).nonzero()``)
            meta_error = RuntimeError("data-dependent shape")
        if meta_error is not None:
            if scalar and isinstance(cout, torch.Tensor) and cout.dim() == 0:
                return cout.item()
            if not any(isinstance(c, torch.Tensor) for c in pytree.tree_leaves(cout)):
                return cout  # a Python scalar: item(), equal(), is_nonzero()
            out = pytree.tree_map_only(torch.Tensor, lambda c: torch.empty_strided(
                c.shape, c.stride(), dtype=c.dtype, device="meta"), cout)
        for o, c in zip(pytree.tree_leaves(out), pytree.tree_leaves(cout)):
            if isinstance(o, torch.Tensor) and isinstance(c, torch.Tensor) and c.numel() <= DERIVED_LIMIT:
                self.set(o, c)
        return out

    def _shadowed_mask(self, t: Any) -> bool:
        return isinstance(t, torch.Tensor) and t.is_meta and t.dtype == torch.bool and id(t) in self.values

    def _mask_to_indices(self, indices: list[Any]) -> list[Any]:
        """``x[mask]`` with a mask whose values are known is ``x[mask.nonzero().unbind(1)]``: long indices give the
        meta kernel the right result size (it would assume every element of a boolean mask is set)."""
        out: list[Any] = []
        for i in indices:
            if not self._shadowed_mask(i):
                out.append(i)
                continue
            for column in self.values[id(i)].nonzero().unbind(1):
                index = column.to("meta")
                self.set(index, column)
                out.append(index)
        return out

    def _nonzero_all(self, func: Any, t: torch.Tensor) -> torch.Tensor:
        """``nonzero`` of a value-less tensor: the recorder assumes every element is non-zero
        (``meta_nonzero_assume_all_nonzero``), so the indices are known: every position, in order.

        MoE layers loop over ``(expert_mask.sum(...) > 0).nonzero()`` and read each expert's index
        (LongCat-Flash ``int(expert_idx.item())``, Switch ``self[f"expert_{idx[0]}"]``): every expert runs.
        """
        out = func(t)
        self.set(out, torch.ones(t.shape, dtype=torch.bool).nonzero())
        return out

    def _nearest_code(self, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> torch.Tensor:
        """``argmin`` of activations: in transformers that is a VQ tokenizer's nearest codebook entry per patch
        (Chameleon, Emu3, Janus, GLM-Image ``torch.argmin(distances, dim=1)``, Mimi ``dists.argmin(dim=-1)``).

        Which entries an image picks is data, not architecture, and some models look the picks up in a CPU table
        (Chameleon/Emu3 ``img2bpe_mapping_tensor[img_batch.to("cpu")]``): every pick is entry 0, a valid index
        whatever the codebook size, so the lookup runs and the graph is the one any image gives. (``argmax`` is
        left alone: MoE routers take it, and a fixed pick would route every token to one expert.)
        """
        out = func(*args, **kwargs)
        if out.numel() <= DERIVED_LIMIT:
            self.set(out, torch.zeros(out.shape, dtype=out.dtype))
        return out


_ORIGINAL: dict[str, Any] = {}
#: Advanced-indexing ops whose boolean masks `ShadowValues` turns into long indices.
_INDEX_OPS = (torch.ops.aten.index.Tensor, torch.ops.aten.index_put.default, torch.ops.aten.index_put_.default)
#: Ops whose result does not read the *values* of their first (tensor) argument.
_VALUE_FREE = frozenset(("new_zeros", "new_ones", "new_full", "new_empty", "zeros_like", "ones_like",
                         "full_like", "empty_like", "fill"))


def _patch_tensor_methods() -> None:
    """``Tensor.tolist``, ``format(t)`` and ``torch.tensor(..., device="meta")`` skip the dispatcher: route them
    via shadows."""
    if _ORIGINAL:
        return
    _ORIGINAL["tolist"] = torch.Tensor.tolist
    _ORIGINAL["tensor"] = torch.tensor
    _ORIGINAL["__format__"] = torch.Tensor.__format__

    def format_(self: torch.Tensor, spec: str) -> str:  # Switch/NLLB-MoE: self[f"expert_{expert_idx[0]}"]
        if self.is_meta and self.dim() == 0 and ShadowValues._active:
            value = ShadowValues._active[-1].get(self)
            if value is not None:
                return value.item().__format__(spec)
        return _ORIGINAL["__format__"](self, spec)

    def tolist(self: torch.Tensor) -> Any:
        if self.is_meta and ShadowValues._active:
            value = ShadowValues._active[-1].get(self)
            if value is not None:
                return value.tolist()
        return _ORIGINAL["tolist"](self)

    def tensor(data: Any, *args: Any, device: Any = None, **kwargs: Any) -> torch.Tensor:
        target = torch.device(device) if device is not None else _context_device()
        if target.type == "meta" and ShadowValues._active:
            kwargs.pop("device", None)
            shadow = ShadowValues._active[-1]

            def real(x: Any) -> Any:  # a list of 0-d meta tensors (``[t.max() + 1, ...]``): use their shadows
                if isinstance(x, torch.Tensor) and x.is_meta:
                    value = shadow.get(x)
                    if value is None:
                        raise RuntimeError("torch.tensor() of a meta tensor without a shadow value")
                    return value.item() if value.dim() == 0 else value.tolist()
                if isinstance(x, (list, tuple)):
                    return [real(v) for v in x]
                return x

            # device="cpu" explicitly: under ``torch.device("meta")`` the DeviceContext fills in a missing device for
            # every function in ``torch.utils._device._device_constructors()``, a list cached on first use; whether
            # the original ``torch.tensor`` is in it depends on whether this patch was active then (it was in a
            # fresh process, not after any earlier trace: Mimi/PocketTTS/Encodec lost their padding shadows)
            return _ORIGINAL["tensor"](real(data), *args, device="cpu", **kwargs).to("meta")
        return _ORIGINAL["tensor"](data, *args, device=device, **kwargs)

    torch.Tensor.tolist = tolist  # type: ignore[method-assign]
    torch.Tensor.__format__ = format_  # type: ignore[method-assign]
    torch.tensor = tensor  # type: ignore[assignment]


def _unpatch_tensor_methods() -> None:
    if _ORIGINAL:
        torch.Tensor.tolist = _ORIGINAL.pop("tolist")  # type: ignore[method-assign]
        torch.Tensor.__format__ = _ORIGINAL.pop("__format__")  # type: ignore[method-assign]
        torch.tensor = _ORIGINAL.pop("tensor")  # type: ignore[assignment]


def _context_device() -> torch.device:
    """The device of the innermost ``with torch.device(...)`` (``torch.get_default_device`` without its
    ``torch.tensor`` call, which would recurse into our patch)."""
    from torch.overrides import _get_current_function_mode_stack
    from torch.utils._device import DeviceContext

    mode = next((m for m in reversed(_get_current_function_mode_stack()) if isinstance(m, DeviceContext)), None)
    return torch.device(mode.device) if mode is not None else torch.device("cpu")
