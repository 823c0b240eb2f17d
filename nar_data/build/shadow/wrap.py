"""Put shadow values on a built model: constants captured while it is built, inputs while it runs forward."""

from __future__ import annotations

import contextlib
from typing import Any

import torch

from .indices import SHADOW_LIST_INDICES, ListIndexShadows
from .values import ShadowValues

__all__ = ["BuildConstants", "with_shadow_values"]


class BuildConstants:
    """Remember the values of small integer constants a model creates on meta while it is built.

    ``self.register_buffer("stride", torch.tensor(stride))`` under ``torch.device("meta")`` loses the value,
    and so does ``kernel_size - stride``; audio codecs compute their padding from such buffers in forward.
    Inside this context a `ShadowValues` (integer tensors only) runs, and ``seeds`` are the shadows to
    hand to `with_shadow_values`.

    It also registers every parameter on meta: legacy constructors ignore ``torch.device("meta")``
    (XLNet's ``nn.Parameter(torch.FloatTensor(d_model, n_head, d_head))`` lands on the CPU, uninitialised).
    """

    def __enter__(self) -> "BuildConstants":
        from ..meta import empty_weights

        self._params = empty_weights(buffers=False)
        self._params.__enter__()
        self.shadow = ShadowValues({}, int_only=True)
        self.shadow.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shadow.__exit__(*exc)
        self._params.__exit__(*exc)

    @property
    def seeds(self) -> dict[int, tuple[torch.Tensor, torch.Tensor]]:
        return {id(t): (t, self.shadow.values[id(t)]) for t in self.shadow.keep if id(t) in self.shadow.values}


def with_shadow_values(model: torch.nn.Module, kwargs: dict[str, Any], values: dict[str, torch.Tensor],
                       constants: dict[int, tuple[torch.Tensor, torch.Tensor]] | None = None) -> None:
    """Make ``model``'s forward run under `ShadowValues` seeded with ``values[name]`` for ``kwargs[name]``.

    The instance's ``forward`` is wrapped (module hooks and names are unchanged), so any capture method
    that calls the model sees the shadowed values.
    """
    constants = dict(constants or {})  # (meta, cpu) pairs: the strong refs keep every id() valid
    forward = model.forward

    list_indices = getattr(model, SHADOW_LIST_INDICES, False)

    def shadowed_forward(*args: Any, **kw: Any) -> Any:
        by_id = {id(v): (v, values[k]) for k, v in kw.items() if k in values and isinstance(v, torch.Tensor)}
        with ShadowValues({**constants, **by_id}), ListIndexShadows() if list_indices else contextlib.nullcontext():
            return forward(*args, **kw)

    shadowed_forward.__wrapped__ = forward  # type: ignore[attr-defined]
    model.forward = shadowed_forward  # type: ignore[method-assign]
