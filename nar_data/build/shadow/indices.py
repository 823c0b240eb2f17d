"""Shadows through Python-list indexing (``t[:, [0, 2, 1]]``), opt-in per model."""

from __future__ import annotations

from typing import Any

import torch

from .values import ShadowValues

__all__ = ["SHADOW_LIST_INDICES", "ListIndexShadows"]


class ListIndexShadows:
    """Keep shadows through ``t[:, [0, 2, 1]]``: opt-in, for models that index a shadowed tensor with a Python list.

    torch turns the list into a meta index tensor in C++, before any dispatch mode sees its values, so the result
    loses its shadow (MuseSpark reorders ``grid_thw`` so, then ``repeat_interleave``s by it). Under this
    torch-function mode such a list becomes a meta index tensor *with* a shadow, made outside every mode (a
    constant, as export lifts it: no op is recorded). Opt-in (`SHADOW_LIST_INDICES` on the model) because keeping
    the shadow changes what later ops on the result can compute, and so other models' graphs (a patched
    ``Tensor.__getitem__`` did: it also made every tensor look like a Python sequence to torch's C++).
    """

    def __enter__(self) -> "ListIndexShadows":
        from torch.overrides import TorchFunctionMode

        class Mode(TorchFunctionMode):
            def __torch_function__(self, func, types, args=(), kwargs=None):  # noqa: ANN001
                if func is torch.Tensor.__getitem__ and ShadowValues._active:
                    args = (args[0], _shadowed_list_indices(args[0], args[1], ShadowValues._active[-1]))
                return func(*args, **(kwargs or {}))

        self._mode = Mode()
        self._mode.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._mode.__exit__(*exc)


#: Set this attribute (True) on a model whose forward indexes shadowed tensors with Python lists.
SHADOW_LIST_INDICES = "_nar_shadow_list_indices"


def _shadowed_list_indices(t: torch.Tensor, index: Any, shadow: ShadowValues) -> Any:
    if not (isinstance(t, torch.Tensor) and t.is_meta and shadow.get(t) is not None):
        return index

    def is_int_list(x: Any) -> bool:  # flat only: torch reads ``t[[[0, 1], [1, 0]]]`` as a tuple of indices
        return isinstance(x, list) and bool(x) and all(type(v) is int for v in x)

    def as_tensor(values: list[int]) -> torch.Tensor:
        from torch.utils._python_dispatch import _disable_current_modes

        with _disable_current_modes():
            cpu = torch.as_tensor(values, dtype=torch.long, device="cpu")
            index = torch.empty(cpu.shape, dtype=torch.long, device="meta")
        shadow.set(index, cpu)
        return index

    if is_int_list(index):
        return as_tensor(index)
    if isinstance(index, tuple) and any(is_int_list(i) for i in index):
        return tuple(as_tensor(i) if is_int_list(i) else i for i in index)
    return index
