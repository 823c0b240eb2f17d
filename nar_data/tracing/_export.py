"""Portable capture: ``torch.export`` (non-strict) on meta inputs, turned into a `RawGraph`.

Slower than the recorder but the reference: the recorder is checked against it, and it is the next
rung of the ladder when the recorder fails.
"""

from __future__ import annotations

import contextlib
import io
import operator
from typing import Any

import torch

from ..config import debug
from ..vocab import INPUT, OUTPUT, canonical
from ._flops import op_flops
from ._record import RawGraph, tensor_leaves
from .attrs import ATTR_OPS, op_attrs


def _module_of(node: torch.fx.Node) -> str:
    stack = node.meta.get("nn_module_stack") or {}
    if not stack:
        return ""
    path = list(stack.values())[-1][0]
    return str(path).removeprefix("L['self'].").removeprefix("L__self__").lstrip("._")


def export_graph(model: torch.nn.Module, args: tuple[Any, ...] = (), kwargs: dict[str, Any] | None = None) -> RawGraph:
    """Export ``model`` and convert the pre-dispatch graph: user inputs, tensor ops, one output node."""
    # A failed export prints its partial FX graph (``def forward(self, arg0_1, ...``: thousands of lines for a
    # detection model) to sys.stderr before it raises (torch/export/_trace.py, ``_log_export_wrapper``); the error
    # itself reaches the ladder's TraceError. Kept only with NAR_DEBUG=1.
    with contextlib.nullcontext() if debug() else contextlib.redirect_stderr(io.StringIO()):
        ep = torch.export.export(model, args, kwargs or {}, strict=False)
    user_inputs = set(ep.graph_signature.user_inputs)
    graph = RawGraph()
    index: dict[torch.fx.Node, int] = {}

    def preds_of(nodes: list[torch.fx.Node]) -> list[int]:
        return list(dict.fromkeys(index[n] for n in nodes if n in index))

    for node in ep.graph.nodes:
        val = node.meta.get("val")
        if node.op == "placeholder":
            if node.name in user_inputs and tensor_leaves(val):
                index[node] = graph.add(INPUT, val, "", [])
        elif node.op == "call_function":
            if node.target is operator.getitem:  # an output of a multi-output op: same node
                if node.args[0] in index:
                    index[node] = index[node.args[0]]
                continue
            outs = tensor_leaves(val)
            if not outs:
                continue
            ins = [tensor_leaves(a.meta.get("val")) for a in _tensor_args(node)]
            in_shapes = [tuple(t[0].shape) for t in ins if t]
            index[node] = graph.add(str(node.target), outs[0], _module_of(node), preds_of(node.all_input_nodes),
                                    op_flops(str(node.target), in_shapes, tuple(outs[0].shape)), _attrs_of(node))
        elif node.op == "output":
            graph.add(OUTPUT, None, "", preds_of(node.all_input_nodes))
    return graph


def _attrs_of(node: torch.fx.Node) -> str:
    """The node's attributes from its arguments' example values, as the recorder reads them at run time."""
    if canonical(str(node.target)) not in ATTR_OPS:
        return ""
    args, kwargs = torch.utils._pytree.tree_map_only(
        torch.fx.Node, lambda n: n.meta.get("val"), (node.args, node.kwargs))
    return op_attrs(node.target, args, kwargs)


def _tensor_args(node: torch.fx.Node) -> list[torch.fx.Node]:
    flat = torch.utils._pytree.tree_leaves((node.args, node.kwargs))
    return [a for a in flat if isinstance(a, torch.fx.Node)]
