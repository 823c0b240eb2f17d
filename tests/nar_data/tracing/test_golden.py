"""Tiny models whose graphs were checked by hand, and the recorder against torch.export."""

from __future__ import annotations

from collections import Counter

import pytest
import torch

from nar_data.errors import TraceError
from nar_data.testing import make_graph, tiny_model
from nar_data.tracing import capture, trace_module
from nar_data.vocab import INPUT, OUTPUT, canonical

GOLDEN = {
    # name: (op names in node order, edges, module of each node, parameters of the owning module)
    "mlp": (["input", "linear", "relu", "linear", "output"], [(0, 1), (1, 2), (2, 3), (3, 4)],
            ["", "fc1", "", "fc2", ""], [0, 8 * 16 + 16, 0, 16 * 4 + 4, 0]),
    "residual": (["input", "linear", "relu", "linear", "add", "add", "output"],
                 [(0, 1), (1, 2), (0, 3), (2, 4), (3, 4), (4, 5), (0, 5), (5, 6)],
                 ["", "a", "", "b", "", "", ""], [0, 72, 0, 72, 0, 0, 0]),
    "cnn": (["input", "conv2d", "batch_norm", "relu", "mean", "linear", "output"],
            [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (5, 6)],
            ["", "conv", "bn", "", "", "head", ""], [0, 3 * 8 * 9 + 8, 16, 0, 0, 8 * 4 + 4, 0]),
}


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_tiny_model_graph_matches_hand_checked_golden(name: str) -> None:
    ops, edges, modules, params = GOLDEN[name]
    g = make_graph(name)
    assert g.op_name == ops
    assert sorted(zip(g.src.tolist(), g.dst.tolist())) == sorted(edges)
    assert g.module == modules
    assert g.params.tolist() == params
    assert g.num_params == sum(params)
    assert g.capture == "dispatch"
    assert g.op_name[0] == INPUT and g.op_name[-1] == OUTPUT


def test_graph_is_deterministic_and_arch_id_tracks_structure() -> None:
    a, b = make_graph("mlp"), make_graph("mlp")
    assert a.arch_id == b.arch_id and a.op_name == b.op_name
    assert make_graph("residual").arch_id != a.arch_id
    # a different width changes shapes, hence the arch_id
    module, args = tiny_model("mlp", width=16)
    assert trace_module(module, args).arch_id != a.arch_id


def test_edges_follow_data_flow_in_topological_order() -> None:
    g = make_graph("transformer_block")
    assert (g.src < g.dst).all(), "node order is topological: every edge goes forward"
    assert "scaled_dot_product_attention" in g.op_name and "layer_norm" in g.op_name


def _ops(raw) -> Counter:  # noqa: ANN001
    return Counter(canonical(n) for n in raw.ops if n not in (INPUT, OUTPUT))


@pytest.mark.parametrize("name", ["mlp", "cnn", "transformer_block", "residual"])
def test_recorder_sees_the_same_ops_as_torch_export(name: str) -> None:
    module, args = tiny_model(name)
    recorded, _ = capture(module, args, methods=("dispatch",))
    exported, _ = capture(module, args, methods=("export",))
    assert _ops(recorded) == _ops(exported)


def test_recorder_matches_export_on_a_real_timm_model() -> None:
    timm = pytest.importorskip("timm")
    with torch.device("meta"):
        model = timm.create_model("resnet18").eval()
    x = torch.empty(1, 3, 64, 64, device="meta")
    recorded, _ = capture(model, (x,), methods=("dispatch",))
    exported, _ = capture(model, (x,), methods=("export",))
    assert _ops(recorded) == _ops(exported)
    assert _ops(recorded)["conv2d"] == 20


def test_capture_ladder_reports_every_rung() -> None:
    from nar_data.errors import TraceError

    class Bad(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            raise KeyError("boom")

    with pytest.raises(TraceError) as info:
        capture(Bad(), (torch.empty(2, device="meta"),))
    assert "dispatch: KeyError" in str(info.value) and "export:" in str(info.value)
    assert "dispatch-eager-masks: skipped, not a transformers model" in str(info.value)
    assert info.value.root_class == "KeyError"


def test_cpu_rung_comes_last_and_catches_value_reading_models() -> None:
    # the CPU rung materialises the module on the CPU: a rung after it would see CPU weights and meta inputs
    from nar_data.tracing import METHODS

    assert METHODS[0] == "dispatch" and METHODS[-1] == "dispatch-cpu"

    class ReadsValues(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = torch.nn.Linear(3, 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.fc(x) * int(x.sum().item() > 0)  # a value meta tensors do not have

    with torch.device("meta"):
        module = ReadsValues()
    raw, method = capture(module, (torch.empty(2, 3, device="meta"),))
    assert method == "dispatch-cpu" and "linear" in [canonical(op) for op in raw.ops]


def test_transformers_models_get_a_rung_with_eager_masks(monkeypatch: pytest.MonkeyPatch) -> None:
    # transformers builds a full mask when it thinks it is exporting; some models (Autoformer, Informer) cannot
    # take one, and their eager forward skips it
    masking = pytest.importorskip("transformers.masking_utils")

    class MaskSensitive(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if masking.is_torchdynamo_exporting():
                raise RuntimeError("shape '[1, 2, 24, 24]' is invalid")  # what Autoformer does with a mask
            return torch.relu(x)

    monkeypatch.setattr(MaskSensitive, "__module__", "transformers.models.fake.modeling_fake")
    raw, method = capture(MaskSensitive(), (torch.empty(2, 3, device="meta"),))
    assert method == "dispatch-eager-masks"
    assert [canonical(op) for op in raw.ops] == ["input", "relu", "output"]
    assert masking.is_torchdynamo_exporting is not None and masking.is_torchdynamo_exporting.__name__ != "<lambda>"


def test_unknown_capture_method_is_a_value_error() -> None:
    module, args = tiny_model("mlp")
    with pytest.raises(ValueError, match="Unknown capture method 'jit'"):
        capture(module, args, methods=("dispatch", "jit"))


def test_recorder_takes_tensor_indexing_inside_vmapped_mask_functions() -> None:
    # transformers' sdpa_mask vmaps mask functions over (batch, kv) under TransformGetItemToIndex, whose
    # ModIndex autograd Function had no rule for the recorder's mode (UnlimitedOCR failed on it)
    from torch._dynamo._trace_wrapped_higher_order_op import TransformGetItemToIndex

    class VmappedMask(torch.nn.Module):
        def forward(self, padding: torch.Tensor) -> torch.Tensor:
            def visible(b: torch.Tensor, kv: torch.Tensor) -> torch.Tensor:
                return padding[b, kv]

            batch, kv = (torch.arange(n, device=padding.device) for n in padding.shape)
            with TransformGetItemToIndex():
                return torch.vmap(torch.vmap(visible, in_dims=(None, 0)), in_dims=(0, None))(batch, kv)

    padding = torch.empty(2, 5, dtype=torch.bool, device="meta")
    raw, method = capture(VmappedMask(), (padding,), methods=("dispatch",))
    assert method == "dispatch"
    # under the recorder's bottom dispatch mode (and ShadowValues on every transformers model) functorch detaches
    # the vmapped inputs first: identity ops, which normalisation drops
    from nar_data.tracing.normalize import IDENTITY_OPS

    ops = [canonical(op) for op in raw.ops]
    assert [op for op in ops if op not in IDENTITY_OPS] == ["input", "arange", "arange", "index", "output"]
    assert trace_module(VmappedMask(), (padding,), methods=("dispatch",)).op_name == [
        "input", "arange", "arange", "index", "output"]


class _DataDependentBranch(torch.nn.Module):
    """Export cannot guard on a count it does not know: it fails, printing its partial FX graph."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(x)
        return x * 2 if x.nonzero().shape[0] > 2 else x + 1


@pytest.mark.parametrize("debug", ["0", "1"])
def test_a_failed_export_prints_its_partial_graph_only_with_nar_debug(debug: str, monkeypatch: pytest.MonkeyPatch,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("NAR_DEBUG", debug)
    with pytest.raises(TraceError, match="export: "):
        capture(_DataDependentBranch(), (torch.empty(4, device="meta"),), methods=("export",))
    printed = capsys.readouterr()
    assert "def forward" not in printed.out
    assert ("def forward" in printed.err) is (debug == "1")
