"""The speed-ups of tracing keep every graph as it was: fast tensor walk, init skipped on meta, C++ dispatch
below the recorder, and no state carried from one model to the next."""

from __future__ import annotations

import collections
import contextlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.utils import _pytree as pytree
from torch.utils._python_dispatch import TorchDispatchMode

from nar_data.build.meta import build_on_meta, skip_meta_init
from nar_data.build.tensors import tensor_leaves
from nar_data.tracing._record import _run_op

ROOT = Path(__file__).resolve().parents[3]

Pair = collections.namedtuple("Pair", "a b")


def _structures() -> list[object]:
    a, b, c = torch.zeros(1), torch.ones(2), torch.empty(3, device="meta")
    return [a, (a, b), [a, [b, (c,)]], {"y": b, "x": a}, {"k": [a, {"z": c}]}, Pair(b, a), torch.Size([2, 3]),
            collections.OrderedDict(second=b, first=a), (1, 2.0, None, "s", torch.float32, torch.device("cpu")),
            torch.zeros(3).max(0), (a, Pair(c, [b])), [], {}, ()]


@pytest.mark.parametrize("obj", _structures(), ids=lambda o: type(o).__name__)
def test_tensor_leaves_are_pytrees_tensors_in_pytrees_order(obj: object) -> None:
    expected = [t for t in pytree.tree_leaves(obj) if isinstance(t, torch.Tensor)]
    got = tensor_leaves(obj)
    assert [id(t) for t in got] == [id(t) for t in expected]


class _Count(TorchDispatchMode):
    def __init__(self) -> None:
        super().__init__()
        self.ops: collections.Counter[str] = collections.Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: ANN001
        self.ops[func.overloadpacket.__name__] += 1
        return func(*args, **(kwargs or {}))


class _Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, groups=1)
        self.bn = nn.BatchNorm2d(8)
        self.fc = nn.Linear(8, 4)
        nn.init.trunc_normal_(self.fc.weight, std=0.02)
        self.register_buffer("steps", torch.arange(4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.bn(self.conv(x)).mean((2, 3)))


def _layout(m: nn.Module) -> list[tuple]:
    return [(n, tuple(t.shape), t.stride(), t.dtype, t.device.type, t.requires_grad)
            for n, t in [*m.named_parameters(), *m.named_buffers()]]


def test_skip_meta_init_builds_the_same_module_without_init_kernels() -> None:
    plain, skipped = _Count(), _Count()
    with torch.device("meta"), plain:
        reference = _Net()
    with torch.device("meta"), skipped, skip_meta_init():  # the counter sits outside: it sees what is not skipped
        fast = _Net()
    assert _layout(fast) == _layout(reference)
    assert plain.ops["uniform_"] > 0 and plain.ops["fill_"] + plain.ops["zero_"] > 1
    assert skipped.ops["uniform_"] == skipped.ops["normal_"] == 0
    assert skipped.ops["fill_"] + skipped.ops["zero_"] == 1  # BatchNorm's integer num_batches_tracked only
    assert skipped.ops["arange"] == plain.ops["arange"]  # everything else still runs
    assert _layout(build_on_meta(_Net)) == _layout(reference)


def test_skip_meta_init_leaves_real_integer_and_tensor_operand_ops_alone() -> None:
    cpu = torch.zeros(3)
    with skip_meta_init():
        cpu.fill_(2.0)  # not meta: runs
        counted = _Count()
        with counted:
            torch.empty(3, dtype=torch.long, device="meta").fill_(1)  # integer: runs (shadows may track it)
            torch.empty(3, device="meta").mul_(torch.empty(3, device="meta"))  # a tensor operand: runs
        with pytest.raises(RuntimeError):  # so a shape error is still an error
            torch.empty(3, device="meta").mul_(torch.empty(4, device="meta"))
    assert cpu.tolist() == [2.0, 2.0, 2.0]
    assert counted.ops["fill_"] == 1 and counted.ops["mul_"] == 1


def test_an_op_that_fails_below_the_recorder_runs_again_as_before() -> None:
    calls: list[bool] = []

    def flaky(x: int) -> int:  # fails the first time (as a kernel only the Python dispatcher has would)
        calls.append(True)
        if len(calls) == 1:
            raise NotImplementedError("no C++ kernel")
        return x + 1

    assert _run_op(flaky, (1,), {}) == 2 and len(calls) == 2

    def broken(x: int) -> int:
        raise ValueError("a real error")

    with pytest.raises(ValueError, match="a real error"):
        _run_op(broken, (1,), {})


def _bert() -> object:
    from nar_data.sources import ModelRef
    from nar_data.sources.transformers import build_from_config
    from nar_data.tracing import trace_built

    cfg = {"model_type": "bert", "num_hidden_layers": 1, "hidden_size": 32, "num_attention_heads": 2,
           "intermediate_size": 64, "vocab_size": 100, "max_position_embeddings": 64}
    return trace_built(ModelRef("local", "bert"), build_from_config(cfg, architecture="BertForMaskedLM"), {})


def _t5() -> object:
    from nar_data.sources import ModelRef
    from nar_data.sources.transformers import build_from_config
    from nar_data.tracing import trace_built

    cfg = {"model_type": "t5", "num_layers": 1, "num_decoder_layers": 1, "d_model": 32, "d_kv": 8, "d_ff": 64,
           "num_heads": 2, "vocab_size": 100}
    return trace_built(ModelRef("local", "t5"), build_from_config(cfg, architecture="T5Model"), {})


def _tiny(name: str) -> object:
    from nar_data.testing import tiny_model
    from nar_data.tracing import trace_module

    module, args = tiny_model(name)
    return trace_module(module, args)


def _digests(before: list[str]) -> list[str]:
    """Digests of a tiny BERT and a CNN traced after the models ``before`` (names of the helpers above)."""
    from nar_data.fingerprint import graph_digest

    makers = {"bert": _bert, "t5": _t5, "cnn": lambda: _tiny("cnn"), "mlp": lambda: _tiny("mlp")}
    for name in before:
        makers[name]()
    return [graph_digest(makers[name]()) for name in ("bert", "cnn")]


def test_tracing_other_models_first_does_not_change_a_graph() -> None:
    """Per-process state (op facts looked up once, the sources' caches) must not leak from one model into the
    next: a tiny BERT and a CNN give the same graphs before and after other models in this process."""
    pytest.importorskip("transformers")
    first = _digests([])
    assert _digests(["t5", "mlp", "bert", "cnn", "t5"]) == first
    assert len(set(first)) == 2


@pytest.mark.slow
def test_a_fresh_process_gives_the_graphs_of_a_used_one() -> None:
    """The same in a fresh process (nothing traced before at all) and in one that traced other models first."""
    pytest.importorskip("transformers")
    code = ("import json, runpy, sys; sys.path.insert(0, {root!r}); import nar_data._warm; "
            "ns = runpy.run_path({test!r}); print(json.dumps(ns['_digests']({before!r})))")

    def run(before: list[str]) -> list[str]:
        out = subprocess.run([sys.executable, "-c", code.format(root=str(ROOT), test=__file__, before=before)],
                             capture_output=True, text=True, timeout=600, check=True)
        return json.loads(out.stdout.strip().splitlines()[-1])

    assert run([]) == run(["t5", "mlp", "bert", "cnn"])


def test_meta_results_reuse_metadata_only_for_functional_meta_ops() -> None:
    from nar_data.build.meta_results import MetaResults

    aten = torch.ops.aten
    cache = MetaResults()
    x = torch.empty(2, 3, device="meta").t()  # non-contiguous: strides are part of the key and of the result
    a = cache.run(aten.exp.default, (x,), {})
    b = cache.run(aten.exp.default, (x,), {})  # the same call again: served from the cache
    c = cache.run(aten.exp.default, (torch.empty(3, 2, device="meta"),), {})  # other strides: a new entry
    cache.run(aten.add_.Tensor, (x, 1), {})  # in-place: never cached
    y = cache.run(aten.exp.default, (torch.ones(3, 2),), {})  # a real tensor: never cached (values may decide a shape)
    v = cache.run(aten._unsafe_view.default, (x.t(), [6]), {})  # a view its schema does not declare: never cached
    cache.run(aten._unsafe_view.default, (x.t(), [6]), {})
    assert [key[0] for key in cache.results] == [id(aten.exp.default)] * 2  # keys start with the op's id
    assert list(cache.aliasing.values()) == [aten._unsafe_view.default]
    assert b is not a and (b.shape, b.stride(), b.dtype) == (a.shape, a.stride(), a.dtype) == ((3, 2), (1, 3), x.dtype)
    assert c.stride() == (2, 1) and y.device.type == "cpu" and v.shape == (6,)


def test_meta_results_skip_a_repeated_in_place_op_only_where_it_keeps_self_as_it_is() -> None:
    from nar_data.build.meta_results import MetaResults, _inplace_on_self

    aten = torch.ops.aten
    assert all(_inplace_on_self(op) for op in (aten.sigmoid_.default, aten.add_.Tensor, aten.fill_.Scalar,
                                                aten.hardswish_.default, aten.copy_.default))
    # these change self's metadata or write another operand: their kernel always runs
    assert not any(_inplace_on_self(op) for op in (aten.unsqueeze_.default, aten.resize_.default, aten.t_.default,
                                                    aten.add.out, aten.sigmoid.default))
    cache = MetaResults()
    x, y = torch.empty(2, 3, device="meta"), torch.empty(2, 3, device="meta")
    assert cache.run(aten.sigmoid_.default, (x,), {}) is x
    assert cache.run(aten.sigmoid_.default, (y,), {}) is y  # equal metadata: served without the kernel, self back
    assert len(cache.inplace) == 1
    with pytest.raises(RuntimeError):  # another shape is another key: its kernel runs and its check still fails
        cache.run(aten.add_.Tensor, (x, torch.empty(4, 3, device="meta")), {})
    with pytest.raises(RuntimeError):  # and fails again: a failed call is never remembered
        cache.run(aten.add_.Tensor, (x, torch.empty(4, 3, device="meta")), {})
    z = torch.empty(3, dtype=torch.long, device="meta")
    cache.run(aten.fill_.Scalar, (z, 1), {})
    assert len(cache.inplace) == 2 and z.shape == (3,) and z.dtype == torch.long


def test_a_factory_op_feeds_the_op_that_consumes_it() -> None:
    """Tracer 2.1: ``torch.zeros`` / ``arange`` made inside forward are linked to their consumers (2.0 left them
    unconnected for models without shadows: the tensor a model gets from a factory function is a shallow copy of
    the kernel's output, which only a Python dispatch mode below the recorder sees being made, as a ``detach``)."""
    from nar_data.tracing import trace_module

    class Factory(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            steps = torch.arange(x.shape[-1], device=x.device).to(x.dtype)
            return x + torch.zeros(x.shape, device=x.device) * steps

    graph = trace_module(Factory(), (torch.empty(2, 4, device="meta"),), methods=("dispatch",))
    edges = {(graph.op_name[s], graph.op_name[d]) for s, d in zip(graph.src.tolist(), graph.dst.tolist())}
    assert graph.op_name == ["input", "arange", "to", "zeros", "mul", "add", "output"]
    assert {("arange", "to"), ("to", "mul"), ("zeros", "mul"), ("mul", "add"), ("input", "add")} <= edges


def test_skip_meta_init_keeps_the_errors_of_init_calls_that_fail() -> None:
    with torch.device("meta"), skip_meta_init():
        with pytest.raises(ValueError, match="fewer than 2 dimensions"):
            nn.init.kaiming_uniform_(torch.empty(5))  # the fan-based inits need 2 dimensions, as before
        leaf = nn.Parameter(torch.empty(3))
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            leaf.uniform_()  # an in-place write to a leaf that requires grad, with grad on: still an error
        with torch.no_grad():
            assert nn.init.trunc_normal_(leaf, std=0.02) is leaf and leaf.uniform_() is leaf
    assert torch.Tensor.uniform_ is torch._C.TensorBase.uniform_  # every patch is undone


def test_meta_results_keep_torch_ops_across_forwards_and_forget_the_rest() -> None:
    """The process-wide cache: ``aten`` results stay for the next forward (`new_forward`), another library's op
    is forgotten, and everything once the cache is past its limit."""
    from nar_data.build.meta_results import MetaResults

    aten = torch.ops.aten
    lib = torch.library.Library("nar_test_meta", "FRAGMENT")  # a non-aten op for the test
    lib.define("twice(Tensor x) -> Tensor")
    lib.impl("twice", lambda x: torch.empty_like(x), "Meta")
    twice = torch.ops.nar_test_meta.twice.default
    cache = MetaResults(limit=3)
    x = torch.empty(2, 3, device="meta")
    cache.run(aten.exp.default, (x,), {})
    cache.run(twice, (x,), {})
    assert len(cache.results) == 2
    cache.new_forward()
    assert [key[0] for key in cache.results] == [id(aten.exp.default)]  # aten kept, the library's op forgotten
    for n in range(2, 5):
        cache.run(aten.exp.default, (torch.empty(n, device="meta"),), {})
    cache.new_forward()  # 4 known calls > limit 3: start again
    assert not cache.results


def test_meta_results_key_has_the_default_dtype() -> None:
    """An integer tensor plus a Python float is of the default dtype: a cached result must not outlive it."""
    from nar_data.build.meta_results import MetaResults

    aten = torch.ops.aten
    cache = MetaResults()
    ints = torch.empty(3, dtype=torch.long, device="meta")
    assert cache.run(aten.add.Tensor, (ints, torch.tensor(1.5, device="meta")), {}).dtype == torch.float32
    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        assert cache.run(aten.mul.Scalar, (ints, 0.5), {}).dtype == torch.float64
        assert cache.run(aten.mul.Scalar, (ints, 0.5), {}).dtype == torch.float64  # served: same dtype
    finally:
        torch.set_default_dtype(default)
    assert cache.run(aten.mul.Scalar, (ints, 0.5), {}).dtype == torch.float32  # another key, not the float64 one
    assert len(cache.results) == 3


def test_meta_results_run_every_op_when_another_mode_is_below() -> None:
    """With another dispatch mode below, the cache steps aside: that mode must see every op."""
    from nar_data.build.meta_results import MetaResults

    aten = torch.ops.aten
    cache = MetaResults()
    x = torch.empty(2, 3, device="meta")
    cache.run(aten.exp.default, (x,), {})
    counted = _Count()
    with counted:
        cache.run(aten.exp.default, (x,), {})  # known, but the counting mode is on the stack: it runs
        cache.run(aten.sigmoid_.default, (x,), {})
        cache.run(aten.sigmoid_.default, (x,), {})
    assert counted.ops["exp"] == 1 and counted.ops["sigmoid_"] == 2


def test_a_warm_process_cache_gives_the_graphs_of_a_cold_one() -> None:
    """The meta results a process keeps from earlier models serve the next ones (no new entry the second time)
    and change nothing in the graph."""
    from nar_data.fingerprint import graph_digest
    from nar_data.tracing import _record

    _record._PROCESS_META.clear()
    cold = graph_digest(_tiny("cnn"))
    cache = _record._PROCESS_META[0]
    known = (len(cache.results), len(cache.inplace))
    assert known[0] > 0
    warm = graph_digest(_tiny("cnn"))
    assert warm == cold and (len(cache.results), len(cache.inplace)) == known


def test_the_direct_pre_dispatch_handler_records_what_torchs_handler_records(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ops reach the recorder through a handler made once per op; through torch's own per-op handler (the
    PreDispatch mode machinery of ``torch._ops``) the graph is the same, and every patch is undone after."""
    from torch._library import utils
    from torch._ops import OpOverload

    from nar_data.fingerprint import graph_digest
    from nar_data.tracing import _record

    get_dispatch, handle = OpOverload._get_dispatch, utils.handle_dispatch_mode
    fast = [graph_digest(_tiny(name)) for name in ("cnn", "transformer_block")]
    assert OpOverload._get_dispatch is get_dispatch and utils.handle_dispatch_mode is handle
    used: list[bool] = []

    @contextlib.contextmanager
    def torchs_own(recorder: object):  # noqa: ANN202 - torch's handler, counting that it reaches the recorder
        original = type(recorder).__torch_dispatch__

        def counted(self, func, types, args=(), kwargs=None):  # noqa: ANN001, ANN202
            used.append(True)
            return original(self, func, types, args, kwargs)

        monkeypatch.setattr(type(recorder), "__torch_dispatch__", counted)
        yield

    monkeypatch.setattr(_record, "_direct_pre_dispatch", torchs_own)
    assert [graph_digest(_tiny(name)) for name in ("cnn", "transformer_block")] == fast
    assert used


def test_skip_meta_init_skips_nn_init_on_parameters_without_computing_fans(monkeypatch: pytest.MonkeyPatch) -> None:
    """nn.init writes under no_grad, so on a meta parameter it returns at once (no fan or gain computed)."""
    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("the init function ran")

    with torch.device("meta"), skip_meta_init():
        weight = nn.Parameter(torch.empty(4, 3))
        monkeypatch.setattr(nn.init, "_calculate_correct_fan", never)
        monkeypatch.setattr(nn.init, "calculate_gain", never)
        assert nn.init.kaiming_uniform_(weight, a=5 ** 0.5) is weight
        assert nn.init.xavier_normal_(weight) is weight and nn.init.trunc_normal_(weight, std=0.02) is weight
        monkeypatch.undo()
        with pytest.raises(ValueError, match="fewer than 2 dimensions"):
            nn.init.xavier_uniform_(nn.Parameter(torch.empty(5)))  # still needs 2 dimensions


def test_meta_results_key_of_a_sequence_is_its_elements_keys_in_order() -> None:
    """The loop that keys a sequence's scalars and tensors in place gives the parts each element gives alone, and
    a real tensor anywhere (even nested) makes the call unkeyable."""
    from nar_data.build.meta_results import _call_key, _key_of

    a = torch.empty(2, 3, device="meta")
    b = torch.empty(4, device="meta", dtype=torch.int64).as_strided((2,), (2,), 1)
    p = nn.Parameter(torch.empty(5, device="meta"))
    args = (a, 1, 2.0, None, [b, (p, True)], torch.float16, "x")
    whole: list = []
    assert _key_of(args, whole)
    one_by_one: list = [("(", len(args))]
    for x in args:
        if isinstance(x, list):
            one_by_one.append(("(", 2))
            assert _key_of(x[0], one_by_one)
            one_by_one.append(("(", 2))
            assert _key_of(x[1][0], one_by_one) and _key_of(x[1][1], one_by_one)
        else:
            assert _key_of(x, one_by_one)
    assert whole == one_by_one
    assert (b.shape, (2,), torch.int64, 1) in whole and (p.shape, (1,), torch.float32, 0) in whole
    assert _call_key(torch.ops.aten.add.Tensor, (a, [torch.empty(2)]), {}) is None
    assert _call_key(torch.ops.aten.add.Tensor, (a, (a, [torch.zeros(1)])), {}) is None
    assert _call_key(torch.ops.aten.add.Tensor, (a, object()), {}) is None
    assert _call_key(torch.ops.aten.add.Tensor, (a, a), {"alpha": 2}) != _call_key(torch.ops.aten.add.Tensor, (a, a), {})
