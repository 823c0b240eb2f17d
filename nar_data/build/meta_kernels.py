"""`prefer_native_meta_kernels`: let torch's C++ meta kernels run where its Python ones shadow them.

Importing ``torch._meta_registrations`` (``torch._dynamo`` and ``torch.export`` do) registers a Python kernel on the
``Meta`` dispatch key for about 1 350 ATen ops. For some 650 of them (``addmm``, ``cat``, ``add``, ``mul``, ``gelu``,
``mean``...) a C++ structured meta kernel exists and is *shadowed*: ``torch._C._dispatch_dump`` lists it as
``Meta (inactive)``. The Python kernels are there for symbolic shapes. A trace runs on concrete shapes, and every
call with shapes it has not seen before (a `MetaResults` miss) pays for the Python kernel: 0.2-2 ms a call against
a few microseconds in C++, about a fifth of a timm model's trace.

`prefer_native_meta_kernels` takes down the Python library that holds those registrations and registers the Python
kernel again for every op that has **no** C++ meta kernel, so each op keeps exactly one meta kernel and the ones
with a native kernel use it. Kernels the Python dispatcher sees (``py_impl``: FakeTensor, ``torch.export``, the
export rung) are untouched. It changes the process, so only `nar_data._warm` calls it: the pool's trace workers
and the search servers, which import it to warm up the tracer; ``import nar`` and `nar.search` in a user's session
do not. Both kinds of kernel compute the same output metadata; ``bench/trace_profile.py --against`` checks
that the graphs stay the same model by model (docs/results-speed.md).
"""

from __future__ import annotations

import logging
from typing import Any

__all__ = ["prefer_native_meta_kernels"]

logger = logging.getLogger(__name__)

#: Ops torch's ``activate_meta`` leaves to their own kernels (recursion or known mismatches there).
_SKIPPED = frozenset(("aten::clone", "aten::_to_copy", "aten::copy_", "aten::constant_pad_nd", "aten::rot90"))

_state: dict[str, Any] = {}


def _python_meta_table() -> dict[Any, Any]:
    """What ``torch._meta_registrations.activate_meta`` registers on the Meta key of the ``aten`` library."""
    import torch
    import torch._meta_registrations as registrations
    from torch._decomp import global_decomposition_table
    from torch._ops import OpOverload

    table: dict[Any, Any] = {}
    for kind in ("meta", "post_autograd", "pre_autograd"):  # activate_meta's precedence
        for op, fn in global_decomposition_table[kind].items():
            table.setdefault(op, fn)
    kept = {}
    for op, fn in table.items():
        if not isinstance(op, OpOverload) or op in getattr(registrations, "cpp_meta_supports_symint_ops", ()):
            continue
        name = op.name()
        if not name.startswith("aten::") or name in _SKIPPED or op.is_view or \
                torch._C._dispatch_has_kernel_for_dispatch_key(name, "CompositeImplicitAutograd"):
            continue
        kept[op] = fn
    return kept


def prefer_native_meta_kernels() -> int:
    """Activate the shadowed C++ meta kernels in this process (once); returns how many ops now use one.

    Does nothing (returns 0, logs why) if torch's registrations do not look as expected, so a torch upgrade can make
    traces slower but never wrong.
    """
    if "native" in _state:
        return _state["native"]
    import torch
    import torch._meta_registrations as registrations

    library = getattr(registrations, "_meta_lib_dont_use_me_use_register_meta", None)
    if library is None or getattr(library, "m", None) is None or library.ns != "aten":
        logger.info("torch's Python meta library not found; meta kernels left as they are")
        _state["native"] = 0
        return 0
    try:
        table = _python_meta_table()
    except Exception as e:  # noqa: BLE001 - torch's internals moved: slower traces, never wrong ones
        logger.info("torch's meta registrations not understood (%s); meta kernels left as they are", e)
        _state["native"] = 0
        return 0
    library.m.reset()  # every Python Meta kernel of that library goes; the C++ ones it shadowed come back
    replacement = torch.library.Library("aten", "IMPL", "Meta")
    native = 0
    for op, fn in table.items():
        if torch._C._dispatch_has_kernel_for_dispatch_key(op.name(), "Meta"):
            native += 1
        else:
            replacement.impl(op, fn)
    _state.update(native=native, library=replacement)  # the library object holds the registrations
    return native
