"""Fast capture: record ATen ops at the PreDispatch key during one plain forward on meta tensors.

This sees exactly the ops ``torch.export`` (non-strict, pre-dispatch IR) puts in its graph: ``linear``,
``conv2d``, ``layer_norm`` and ``scaled_dot_product_attention`` stay whole. It skips export's graph
construction, fake-tensor conversion and verification, and is 10-20x faster (resnet50: 0.09 s vs
1.7 s; ``bench/capture_bench.py``). ``tests/nar_data/tracing/test_attrs_golden.py`` checks on a sample that the
canonical ops and their attributes (`.attrs`) equal export's.

The PreDispatch mode slot only takes a few mode classes, so the recorder subclasses
``SchemaCheckMode`` (the one meant for per-op inspection) and replaces its handler.
"""

from __future__ import annotations

import contextlib
import functools
from dataclasses import dataclass, field
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode

from ..build.meta_results import MetaResults
from ..build.tensors import tensor_leaves
from ..vocab import INPUT, OUTPUT, canonical
from ._flops import counts_flops, op_flops
from .attrs import ATTR_OPS, op_attrs


@dataclass
class RawGraph:
    """Captured ops before normalisation. Node i: ``ops[i]`` (``str(OpOverload)``), shape, dtype, module and
    ``attrs[i]``, the canonical JSON of its architecture-defining arguments (`.attrs`; ``""`` = none)."""

    ops: list[str] = field(default_factory=list)
    shapes: list[list[int]] = field(default_factory=list)
    dtypes: list[str] = field(default_factory=list)
    modules: list[str] = field(default_factory=list)
    flops: list[int] = field(default_factory=list)
    attrs: list[str] = field(default_factory=list)
    src: list[int] = field(default_factory=list)
    dst: list[int] = field(default_factory=list)

    def add(self, op: str, value: Any, module: str, preds: list[int], flops: int = 0, attrs: str = "") -> int:
        idx = len(self.ops)
        first = value if isinstance(value, torch.Tensor) else next(iter(tensor_leaves(value)), None)
        self.ops.append(op)
        self.shapes.append(list(first.shape) if first is not None else [])  # a meta tensor's sizes are ints
        self.dtypes.append(_dtype_name(first.dtype) if first is not None else "")
        self.modules.append(module)
        self.flops.append(int(flops))
        self.attrs.append(attrs)
        for p in preds:
            self.src.append(p)
            self.dst.append(idx)
        return idx


@functools.cache
def _dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def _recorder_base() -> type:
    from torch._subclasses.schema_check_mode import SchemaCheckMode

    return SchemaCheckMode


class _ModuleStack:
    """Tracks the innermost running module with global forward hooks.

    ``names`` maps ``id(module)`` to the module and its dotted name, and so keeps every module it has seen
    alive: a module freed during forward cannot hand its ``id`` to a new one (BigBird replaces each layer's
    attention in forward; with ids alone a new attention took the name of a freed one of another layer, or not,
    depending on the allocator: another graph run to run, tracer < 2.2). A module not in the tree at the start
    (made or swapped in during forward) is looked up in the model's tree when it first runs, and otherwise
    belongs to the module that called it.
    """

    #: Re-reads of the module tree per forward at most (a model making modules in forward each call).
    MAX_REFRESH = 32

    def __init__(self, model: torch.nn.Module) -> None:
        self.model = model
        self.names: dict[int, tuple[torch.nn.Module, str | None]] = {
            id(m): (m, name) for name, m in model.named_modules()}
        self.stack: list[str] = [""]
        self._handles: list[Any] = []
        self._refreshes = 0

    def name(self, m: torch.nn.Module) -> str | None:
        """``m``'s dotted name in the model (None: not in the tree)."""
        entry = self.names.get(id(m))
        if entry is None:
            if self._refreshes < self.MAX_REFRESH:
                self._refreshes += 1
                for name, sub in self.model.named_modules():
                    self.names.setdefault(id(sub), (sub, name))
            entry = self.names.setdefault(id(m), (m, None))
        return entry[1]

    def __enter__(self) -> "_ModuleStack":
        from torch.nn.modules import module as mod

        def pre(m: torch.nn.Module, *_: Any) -> None:
            name = self.name(m)
            self.stack.append(self.stack[-1] if name is None else name)

        def post(m: torch.nn.Module, *_: Any) -> None:
            if len(self.stack) > 1:
                self.stack.pop()

        self._handles = [mod.register_module_forward_pre_hook(pre),
                         mod.register_module_forward_hook(post, always_call=True)]
        return self

    def __exit__(self, *exc: object) -> None:
        for h in self._handles:
            h.remove()

    @property
    def current(self) -> str:
        return self.stack[-1]


@contextlib.contextmanager
def _no_distribution_checks() -> Any:
    """Skip ``torch.distributions`` argument validation: under export it asserts on tensor *values*
    (``torch._assert_async(valid.cpu())``, BLT's entropy patcher builds a ``Categorical``), which meta
    tensors do not have; the checks are no part of the architecture."""
    default = torch.distributions.Distribution._validate_args
    torch.distributions.Distribution.set_default_validate_args(False)
    try:
        yield
    finally:
        torch.distributions.Distribution.set_default_validate_args(default)


@contextlib.contextmanager
def _plain_mod_index() -> Any:
    """Index with ``aten.index`` directly where torch's ``TransformGetItemToIndex`` mode would call ``ModIndex``.

    Mask functions vmapped over (batch, head, q, kv) (transformers' ``sdpa_mask`` with ``or_mask_function``,
    flex-attention score mods) index tensors under that mode, which routes ``t[b, kv]`` through the autograd
    Function ``ModIndex``; under ``vmap`` it becomes the ``custom_function_call`` higher-order op, which has no
    rule for our PreDispatch mode ("Current active mode ... not registered"). Its forward *is*
    ``aten.index(x, indices)`` (the Function only exists for flex-attention's backward, which a trace never
    runs), so the recorded ops are the same wherever it worked before.
    """
    from torch._dynamo import _trace_wrapped_higher_order_op as wrapped

    def mod_index(x: torch.Tensor, indices: list[torch.Tensor]) -> torch.Tensor:
        return torch.ops.aten.index(x, indices) if indices else x

    original = wrapped.mod_index
    wrapped.mod_index = mod_index
    try:
        yield
    finally:
        wrapped.mod_index = original


_OP_INFO: dict[int, tuple[tuple[str, bool, bool], Any]] = {}  # id(op) -> (_op_info(op), op: keeps the id valid)


def _op_info(func: Any) -> tuple[str, bool, bool]:
    """``(str(func), counts FLOPs, has attributes)`` of an op: a function of the op alone, looked up once
    (by ``id``: an op's own ``__hash__`` is Python, and this runs for every recorded op)."""
    entry = _OP_INFO.get(id(func))
    if entry is None:
        name = str(func)
        entry = _OP_INFO[id(func)] = ((name, counts_flops(name), canonical(name) in ATTR_OPS), func)
    return entry[0]


def _run_op(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Run a recorded op below the recorder, with the C++ dispatcher.

    The Python dispatcher is only what calls the recorder at the PreDispatch key. Below it, it would run the
    Python twins of composite ops' decompositions (``matmul``, ``batch_norm``...), slower than their C++
    versions and with the same outputs. An op that fails without it (a kernel only the Python dispatcher
    has, or a real error) runs again with it, as it always did, so it fails or works as before.
    """
    try:
        with torch._C._DisablePythonDispatcher():
            return func(*args, **kwargs)
    except Exception:  # noqa: BLE001 - the op again, as before this fast path; its error is the one raised
        return func(*args, **kwargs)


class _MetaResultsMode(TorchDispatchMode):
    """The bottom Python dispatch mode of a recorded forward: every op below autograd runs through `MetaResults`.

    Repeated blocks run the same ops on equal shapes; the second call gets fresh meta tensors of the first call's
    output metadata instead of running its meta kernel again (most of them Python: `torch._refs` / prims).
    The results of ``aten`` / ``prims`` ops are kept for the process (`_process_meta_results`): the next model's
    equal calls are served too. `ShadowValues` (entered inside a transformers forward, above this mode) passes its
    meta-only ops down to it. Having a Python mode below the recorder is also what links a factory op's output to
    the op that consumes it (tracer 2.1; see `record`).
    """

    @classmethod
    def _should_skip_dynamo(cls) -> bool:
        return False  # no torch.compile wrapper around every op's handler: nothing is compiled while recording

    def __init__(self, meta: MetaResults) -> None:
        super().__init__()
        self.meta = meta

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: ANN001
        return self.meta.run(func, args, kwargs or {})


_PROCESS_META: list[MetaResults] = []


def _process_meta_results() -> MetaResults:
    """The process's `MetaResults`, started afresh for each recorded forward (`MetaResults.new_forward`)."""
    if not _PROCESS_META:
        _PROCESS_META.append(MetaResults())
    meta = _PROCESS_META[0]
    meta.new_forward()
    return meta


@contextlib.contextmanager
def _direct_pre_dispatch(recorder: TorchDispatchMode) -> Any:
    """Hand ops to ``recorder`` (the PreDispatch mode) without torch's per-op handler machinery.

    For a mode on the PreDispatch key the Python dispatcher asks ``OpOverload._get_dispatch`` for a handler on
    every op (it is never cached), and that handler pops the mode with a context manager made per call, re-imports
    the mode classes to set it back, and calls ``torch._library.utils.handle_dispatch_mode``, which flattens the
    arguments with pytree only to list the types of tensors with the Python key, then calls the mode's
    ``__torch_dispatch__``. While ``recorder`` is the only PreDispatch mode, each op gets a handler made once per op
    that does the same state changes directly (the mode slot emptied and the PreDispatch key excluded while the
    recorder runs, both restored after) and calls the recorder, which ignores the types. Anything else (another
    PreDispatch mode on the stack, ``no_dispatch``) gets torch's own handler.
    """
    from torch._library import utils
    from torch._ops import OpOverload, mode_stack_state_for_pre_dispatch

    state = mode_stack_state_for_pre_dispatch()
    infra = state._ModeStackStateForPreDispatch__infra_modes  # [proxy, functional] slots; None when empty
    pre, python = torch._C.DispatchKey.PreDispatch, torch._C.DispatchKey.Python
    set_included = torch._C._dispatch_tls_set_dispatch_key_included
    excluded = torch._C._dispatch_tls_is_dispatch_key_excluded
    original_get, original_handle = OpOverload._get_dispatch, utils.handle_dispatch_mode
    dispatch = recorder.__torch_dispatch__
    handlers: dict[Any, Any] = {}

    def make(op: Any) -> Any:
        def handler(*args: Any, **kwargs: Any) -> Any:
            state._schema_check_mode = None  # what torch's handler does: pop the mode, the key goes off
            set_included(pre, False)
            try:
                return dispatch(op, (), args, kwargs)
            finally:
                state._schema_check_mode = recorder
                set_included(pre, True)

        return handler

    def get_dispatch(op: Any, key: Any) -> Any:
        if key == pre and state._schema_check_mode is recorder and infra[0] is None and infra[1] is None \
                and not excluded(python):
            handler = handlers.get(op)
            if handler is None:
                handler = handlers[op] = make(op)
            return handler
        return original_get(op, key)

    def handle(curr_mode: Any, op_overload: Any, *args: Any, **kwargs: Any) -> Any:
        if curr_mode is recorder:
            return dispatch(op_overload, (), args, kwargs)
        return original_handle(curr_mode, op_overload, *args, **kwargs)

    OpOverload._get_dispatch = get_dispatch  # type: ignore[method-assign]
    utils.handle_dispatch_mode = handle
    try:
        yield
    finally:
        OpOverload._get_dispatch = original_get  # type: ignore[method-assign]
        utils.handle_dispatch_mode = original_handle


def record(model: torch.nn.Module, args: tuple[Any, ...] = (), kwargs: dict[str, Any] | None = None) -> RawGraph:
    """Run ``model(*args, **kwargs)`` once and record its pre-dispatch ATen graph."""
    import torch.fx.experimental._config as fx_config
    from torch._dispatch.python import enable_python_dispatcher

    kwargs = kwargs or {}
    graph = RawGraph()
    producer: dict[int, int] = {}
    keep: list[torch.Tensor] = []  # strong refs: a freed tensor's id() could be reused by a new one
    for t in tensor_leaves((args, kwargs)):
        producer[id(t)] = graph.add(INPUT, t, "", [])
        keep.append(t)
    modules = _ModuleStack(model)

    class Recorder(_recorder_base()):  # type: ignore[misc]
        @classmethod
        def _should_skip_dynamo(cls) -> bool:
            return False  # no torch.compile wrapper around the recorder: nothing is compiled while recording

        def __init__(self) -> None:
            TorchDispatchMode.__init__(self, torch._C.DispatchKey.PreDispatch)

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: ANN001
            kwargs = kwargs or {}
            out = _run_op(func, args, kwargs)
            outs = [out] if type(out) is torch.Tensor else tensor_leaves(out)
            if not outs:
                return out
            ins = tensor_leaves((args, kwargs) if kwargs else args)  # the same tensors, in the same order
            preds = []
            for t in ins:  # the producers of the inputs, each once, in order (a loop: this runs for every op)
                p = producer.get(id(t))
                if p is not None and p not in preds:
                    preds.append(p)
            name, flops, attrs = _op_info(func)
            idx = graph.add(name, outs[0], modules.current, preds,
                            op_flops(name, [tuple(t.shape) for t in ins], tuple(outs[0].shape)) if flops else 0,
                            op_attrs(func, args, kwargs) if attrs else "")
            for t in outs:
                producer[id(t)] = idx
                keep.append(t)
            return out

    with contextlib.ExitStack() as stack:
        stack.enter_context(modules)
        stack.enter_context(enable_python_dispatcher())
        # [transformers source] Look like torch.export to the model (torch.compiler.is_compiling() and
        # is_exporting() are True), so libraries take their export-friendly branches instead of data-dependent
        # ones that meta tensors cannot answer (transformers' `padding_mask.all()` mask skip, `.item()` checks),
        # and the recorded graph is the one export would give.
        from torch._export.utils import _compiling_state_context

        stack.enter_context(_compiling_state_context())
        # Meta tensors have no values: let nonzero/where/masked_select assume every element is non-zero
        # (MoE routing, detection post-processing) rather than fail; the op graph is the same.
        stack.enter_context(fx_config.patch(meta_nonzero_assume_all_nonzero=True))
        stack.enter_context(_no_distribution_checks())
        stack.enter_context(_plain_mod_index())
        stack.enter_context(_MetaResultsMode(_process_meta_results()))
        recorder = Recorder()
        stack.enter_context(_direct_pre_dispatch(recorder))
        stack.enter_context(recorder)
        out = model(*args, **kwargs)
    preds = list(dict.fromkeys(producer[id(t)] for t in tensor_leaves(out) if id(t) in producer))
    graph.add(OUTPUT, None, "", preds)
    return graph
