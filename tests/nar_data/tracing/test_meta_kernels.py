"""Trace workers run torch's C++ meta kernels where its Python ones shadow them (`nar_data.build.meta_kernels`):
every op keeps a meta kernel, outputs keep their metadata, and graphs stay the same. In a fresh process, since the
change is process-wide."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]

_SCRIPT = r"""
import json, runpy, sys
sys.path.insert(0, {root!r})
import torch
import torch.nn.functional as F

def battery():
    m = lambda *s, **k: torch.empty(*s, device="meta", **k)
    x = m(2, 8, 6, 6)
    cl = x.contiguous(memory_format=torch.channels_last)
    i = m(2, 8, dtype=torch.int64)
    calls = [
        lambda: torch.addmm(m(5), m(3, 4), m(4, 5)), lambda: torch.bmm(m(2, 3, 4), m(2, 4, 5)),
        lambda: torch.cat([x, cl], 1), lambda: torch.cat([cl, cl], 1), lambda: torch.cat([m(0), m(3, 4)]),
        lambda: x + cl, lambda: cl * cl, lambda: cl + m(8, 1, 1), lambda: i + 0.5, lambda: i * 2, lambda: i / 2,
        lambda: m(3, 4).t() * 2, lambda: F.gelu(cl), lambda: F.gelu(x, approximate="tanh"),
        lambda: cl.mean((2, 3), keepdim=True), lambda: x.mean(1), lambda: x.sum(-1, dtype=torch.float64),
        lambda: F.softmax(cl, 1), lambda: F.log_softmax(m(3, 7), -1), lambda: F.relu(cl), lambda: F.silu(cl),
        lambda: F.hardswish(cl), lambda: F.layer_norm(m(2, 5, 8), (8,)), lambda: F.group_norm(cl, 4),
        lambda: F.batch_norm(cl, m(8), m(8), m(8), m(8)), lambda: F.conv2d(cl, m(4, 8, 3, 3), padding=1),
        lambda: F.conv2d(x, m(8, 1, 3, 3), groups=8, stride=2), lambda: F.max_pool2d(cl, 2),
        lambda: F.adaptive_avg_pool2d(cl, 1), lambda: F.avg_pool2d(x, 3, 2, 1),
        lambda: F.interpolate(cl, scale_factor=2, mode="nearest"), lambda: F.interpolate(x, size=(9, 9), mode="bilinear"),
        lambda: torch.cumsum(i, 1), lambda: torch.topk(m(4, 9), 3), lambda: torch.sort(m(4, 9), 1),
        lambda: torch.where(m(2, 8, dtype=torch.bool), x[:, :, 0, 0], 0.0), lambda: x.clamp(0, 6), lambda: x.pow(2),
        lambda: F.embedding(i, m(10, 4)), lambda: torch.max(x, 1), lambda: torch.argmax(cl, 1), lambda: x.std(1),
        lambda: F.scaled_dot_product_attention(m(2, 4, 5, 8), m(2, 4, 5, 8), m(2, 4, 5, 8)),
        lambda: torch.stack([x, x]), lambda: x.permute(0, 2, 3, 1).reshape(2, -1), lambda: F.pad(x, (1, 1)),
        lambda: torch.baddbmm(m(2, 3, 5), m(2, 3, 4), m(2, 4, 5)), lambda: F.linear(m(3, 4), m(6, 4), m(6)),
        lambda: torch.einsum("bij,bjk->bik", m(2, 3, 4), m(2, 4, 5)), lambda: torch.tanh(cl), lambda: torch.exp(i),
    ]
    out = []
    for call in calls:
        leaves = [t for t in torch.utils._pytree.tree_leaves(call()) if isinstance(t, torch.Tensor)]
        out.append([[list(t.shape), list(t.stride()), str(t.dtype), t.device.type] for t in leaves])
    return out

def shadowed(name):
    return "Meta (inactive)" in torch._C._dispatch_dump(name)

from nar_data.build.meta_kernels import _python_meta_table, prefer_native_meta_kernels
ns = runpy.run_path({fast!r})
before_meta, before_graphs = battery(), ns["_digests"]([])
table = _python_meta_table()
was_shadowed = shadowed("aten::addmm")
native = prefer_native_meta_kernels()
print(json.dumps(dict(
    native=native, again=prefer_native_meta_kernels(), was_shadowed=was_shadowed, shadowed=shadowed("aten::addmm"),
    missing=[op.name() for op in table if not torch._C._dispatch_has_kernel_for_dispatch_key(op.name(), "Meta")],
    before_meta=before_meta, after_meta=battery(), before_graphs=before_graphs, after_graphs=ns["_digests"]([]))))
"""


@pytest.fixture(scope="module")
def report() -> dict:
    pytest.importorskip("transformers")
    code = _SCRIPT.format(root=str(ROOT), fast=str(Path(__file__).with_name("test_fast_paths.py")))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_shadowed_cpp_meta_kernels_become_active_and_no_op_loses_its_meta_kernel(report: dict) -> None:
    assert report["was_shadowed"] and not report["shadowed"]  # addmm: its C++ meta kernel was inactive, now runs
    assert report["native"] > 100 and report["again"] == report["native"]  # once per process
    assert report["missing"] == []  # the ops without a C++ kernel got their Python one back


def test_outputs_keep_shape_stride_and_dtype(report: dict) -> None:
    assert len(report["before_meta"]) > 40
    for i, (before, after) in enumerate(zip(report["before_meta"], report["after_meta"], strict=True)):
        assert before == after, f"call {i}: {before} != {after}"


def test_graphs_are_the_same(report: dict) -> None:
    assert report["before_graphs"] == report["after_graphs"]
    assert len(set(report["after_graphs"])) == 2
