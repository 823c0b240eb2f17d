"""Tiny models whose graphs were checked by hand, and the recorder against torch.export."""

from __future__ import annotations

from collections import Counter

import pytest
import torch

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
    assert info.value.root_class == "KeyError"


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
    assert [canonical(op) for op in raw.ops] == ["input", "arange", "arange", "index", "output"]
