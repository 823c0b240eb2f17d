"""Build a module with every parameter and buffer on the meta device: no weight is ever allocated.

`build_on_meta` first runs the builder under ``torch.device("meta")``. Some builders compute *values*
while they build (torchvision's RegNet turns ``torch.arange`` results into Python ints; rotary caches,
relative-position tables), which meta tensors cannot give; for those it builds again with ordinary CPU
tensors for such computations while every parameter and buffer is moved to meta the moment it is
registered (the ``init_empty_weights`` idea of accelerate): at most one uninitialised parameter lives on
the CPU at a time, and no weight is ever initialised.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")

__all__ = ["build_on_meta", "empty_weights"]

#: Errors that mean "this builder needs real values at build time".
_NEEDS_VALUES = ("meta tensor", "meta tensors", "data-dependent", "Cannot copy out of meta",
                 "item() cannot be called", "is not implemented for 'Meta'", "on meta device")


@contextlib.contextmanager
def empty_weights(buffers: bool = True) -> Iterator[None]:
    """Register every new parameter (and buffer, unless ``buffers`` is False) directly on the meta device."""
    import torch
    from torch import nn

    register_parameter = nn.Module.register_parameter
    register_buffer = nn.Module.register_buffer

    def param_on_meta(module: nn.Module, name: str, param: nn.Parameter | None) -> None:
        register_parameter(module, name, param)
        if param is not None and param.device.type != "meta":
            kwargs = dict(param.__dict__)
            module._parameters[name] = type(param)(param.to("meta"), requires_grad=param.requires_grad, **kwargs) \
                if kwargs else nn.Parameter(param.to("meta"), requires_grad=param.requires_grad)

    def buffer_on_meta(module: nn.Module, name: str, tensor: torch.Tensor | None, persistent: bool = True) -> None:
        register_buffer(module, name, tensor, persistent=persistent)
        if tensor is not None and tensor.device.type != "meta":
            module._buffers[name] = tensor.to("meta")

    nn.Module.register_parameter = param_on_meta  # type: ignore[method-assign]
    if buffers:
        nn.Module.register_buffer = buffer_on_meta  # type: ignore[method-assign]
    try:
        yield
    finally:
        nn.Module.register_parameter = register_parameter  # type: ignore[method-assign]
        nn.Module.register_buffer = register_buffer  # type: ignore[method-assign]


def needs_values(error: BaseException) -> bool:
    text = str(error)
    return any(s in text for s in _NEEDS_VALUES)


def build_on_meta(builder: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``builder(*args, **kwargs)`` with all weights on meta; see the module docstring for the fallback."""
    import torch

    try:
        with torch.device("meta"):
            return builder(*args, **kwargs)
    except (NotImplementedError, RuntimeError, TypeError, ValueError) as e:
        if not needs_values(e):
            raise
    with empty_weights():
        return builder(*args, **kwargs)
