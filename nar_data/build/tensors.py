"""`tensor_leaves`: the tensors in a (nested) op argument or result, in pytree order, fast.

The recorder and `ShadowValues` call it for every op a model runs; ``torch.utils._pytree`` does the same walk
but several times slower (a type-registry look-up per node).
"""

from __future__ import annotations

from typing import Any

import torch
from torch.utils import _pytree as pytree

__all__ = ["tensor_leaves"]

#: Argument types that never hold a tensor (what an op's non-tensor arguments are).
_SCALARS = (int, float, bool, str, type(None), torch.dtype, torch.device, torch.layout, torch.memory_format)


def tensor_leaves(obj: Any) -> list[torch.Tensor]:
    """The tensors among ``obj``'s pytree leaves, in pytree order.

    It runs for every recorded op: plain tuples, lists and dicts (all an op's arguments and results are) are
    walked here, which is what pytree does with them, and anything else (named tuples, ``ModelOutput``,
    registered containers) is handed to pytree itself, so the tensors and their order are pytree's.
    """
    out: list[torch.Tensor] = []
    _collect(obj, out)
    return out


def _collect(obj: Any, out: list[torch.Tensor]) -> None:
    kind = type(obj)
    if kind is tuple or kind is list:
        for x in obj:
            _collect(x, out)
    elif kind is dict:
        for x in obj.values():
            _collect(x, out)
    elif isinstance(obj, torch.Tensor):
        out.append(obj)
    elif kind not in _SCALARS:
        out.extend(t for t in pytree.tree_leaves(obj) if isinstance(t, torch.Tensor))
