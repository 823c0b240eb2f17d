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
import functools
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")

__all__ = ["build_on_meta", "empty_weights", "skip_meta_init"]

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


#: In-place ATen ops that only write *values* into their first operand (random and constant initialisation).
_VALUE_WRITES = ("uniform_", "normal_", "zero_", "fill_", "erfinv_", "clamp_", "clamp_min_", "clamp_max_", "mul_",
                 "add_", "sub_", "div_", "exponential_", "log_normal_", "cauchy_", "geometric_", "random_",
                 "bernoulli_")


#: ``torch.nn.init`` functions that only write values into their tensor (the fan-based ones need 2 dimensions).
_INIT_FUNCTIONS = ("uniform_", "normal_", "trunc_normal_", "constant_", "ones_", "zeros_")
_FAN_INIT_FUNCTIONS = ("xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_")


def _value_only(t: Any, watched: bool = True, min_dim: int = 0) -> bool:
    """Whether writing values into ``t`` can be skipped: a floating-point meta tensor that autograd does not watch
    (an in-place op on a leaf that requires grad, with grad on, must still raise as it would have). With
    ``watched=False`` autograd is not asked: for the ``torch.nn.init`` functions, which write under ``no_grad``;
    ``min_dim``: the fewest dimensions ``t`` may have (the fan-based ``nn.init`` functions need 2)."""
    import torch

    if not isinstance(t, torch.Tensor):
        return False
    with torch._C.DisableTorchFunction():  # attribute reads need not pass through ``torch.device``'s function mode
        return t.is_meta and t.is_floating_point() and not (watched and t.requires_grad and torch.is_grad_enabled()) \
            and (min_dim == 0 or t.dim() >= min_dim)


@contextlib.contextmanager
def skip_meta_init() -> Iterator[None]:
    """Skip weight initialisation on meta tensors while a model is built: same module, less work.

    A meta tensor has no values, so an in-place op that only writes values into it (``uniform_``, ``normal_``,
    ``fill_`` with a number, ``mul_`` by a number; what ``nn.init`` and timm's ``trunc_normal_`` run) leaves it
    as it was: shape, strides and dtype unchanged. Yet each runs a meta kernel (many in Python), and each
    ``nn.init`` call goes through ``torch.device("meta")``'s function mode: together a half or more of building a
    timm model. Under this context such a ``Tensor`` method on a floating-point meta tensor with no other tensor
    operand returns the tensor at once, and so do the ``torch.nn.init`` functions above (the fan-based ones only
    for tensors of 2 or more dimensions: on fewer they raise, as before). Nothing else is touched: every other
    op runs as usual, with no dispatch mode in the way (an earlier version of this was one, and its Python
    handler ran for every op of the build). Integer tensors (whose values `BuildConstants` may shadow), real
    tensors and leaves that require grad with grad enabled run as usual.
    """
    import torch
    from torch.nn import init

    saved: list[tuple[Any, str, Any]] = []

    def patch(owner: Any, name: str, fast: Any) -> None:
        saved.append((owner, name, owner.__dict__[name] if name in owner.__dict__ else getattr(owner, name)))
        setattr(owner, name, fast)

    def method(name: str) -> Any:
        original = getattr(torch.Tensor, name)

        def skip(self: Any, *args: Any, **kwargs: Any) -> Any:
            if _value_only(self) and not any(isinstance(a, torch.Tensor) for a in args) \
                    and not any(isinstance(v, torch.Tensor) for v in kwargs.values()):
                return self
            return original(self, *args, **kwargs)

        return skip

    def init_function(name: str, min_dim: int) -> Any:
        original = getattr(init, name)

        def skip(tensor: Any, *args: Any, **kwargs: Any) -> Any:
            # nn.init writes under no_grad, so a parameter (a leaf that requires grad) is skipped too
            if _value_only(tensor, watched=False, min_dim=min_dim):
                return tensor
            return original(tensor, *args, **kwargs)

        return skip

    for name in _VALUE_WRITES:
        patch(torch.Tensor, name, method(name))
    for name in _INIT_FUNCTIONS:
        patch(init, name, init_function(name, 0))
    for name in _FAN_INIT_FUNCTIONS:
        patch(init, name, init_function(name, 2))
    try:
        yield
    finally:
        for owner, name, original in reversed(saved):
            setattr(owner, name, original)


def needs_values(error: BaseException) -> bool:
    text = str(error)
    return any(s in text for s in _NEEDS_VALUES)


def build_on_meta(builder: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``builder(*args, **kwargs)`` with all weights on meta; see the module docstring for the fallback."""
    import torch

    try:
        with torch.device("meta"), skip_meta_init():
            return builder(*args, **kwargs)
    except (NotImplementedError, RuntimeError, TypeError, ValueError) as e:
        if not needs_values(e):
            raise
    with empty_weights(), skip_meta_init():
        return builder(*args, **kwargs)
