"""Node attributes: checked-in golden graphs, recorder == export, and arch_ids of real architecture pairs.

The golden JSON under ``golden/`` was checked by hand; regenerate it only on purpose
(``NAR_UPDATE_GOLDEN=1 pytest tests/nar_data/tracing/test_attrs_golden.py``) and say why in the commit.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pytest
import torch
from torch import nn

from nar_data.fingerprint import arch_id
from nar_data.testing import tiny_model
from nar_data.tracing import capture, trace_module
from nar_data.vocab import INPUT, OUTPUT, canonical

GOLDEN = Path(__file__).parent / "golden"


class ConvZoo(nn.Module):
    """One of every attributed op family that is not in the tiny models."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, stride=2, padding=1, bias=False)
        self.gn = nn.GroupNorm(2, 8)
        self.dw = nn.Conv2d(8, 8, 3, padding="same", groups=8)
        self.pool = nn.MaxPool2d(3, stride=2, padding=1)
        self.up = nn.ConvTranspose2d(8, 4, 2, stride=2)
        self.norm = nn.InstanceNorm2d(4, affine=True)
        self.dil = nn.Conv1d(4, 4, 3, dilation=2, padding=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.dw(self.gn(self.stem(x))))
        x = nn.functional.avg_pool2d(self.norm(self.up(x)), 2)
        x = nn.functional.adaptive_avg_pool2d(x, (2, 1)).flatten(2)
        return nn.functional.gelu(self.dil(x), approximate="tanh")


class GQAttention(nn.Module):
    """Grouped-query causal attention, 4 query heads over 2 kv heads, q/k/v without bias."""

    def __init__(self, width: int = 16, heads: int = 4, kv_heads: int = 2) -> None:
        super().__init__()
        self.heads, self.kv, self.d = heads, kv_heads, width // heads
        self.q = nn.Linear(width, width, bias=False)
        self.kv_proj = nn.Linear(width, 2 * kv_heads * self.d, bias=False)
        self.norm = nn.RMSNorm(width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, _ = x.shape
        q = self.q(self.norm(x)).view(b, n, self.heads, self.d).transpose(1, 2)
        k, v = self.kv_proj(x).view(b, n, 2, self.kv, self.d).unbind(2)
        out = nn.functional.scaled_dot_product_attention(q, k.transpose(1, 2), v.transpose(1, 2), is_causal=True,
                                                         enable_gqa=True)
        return out.transpose(1, 2).reshape(b, n, -1)


def _model(name: str) -> tuple[nn.Module, tuple[torch.Tensor, ...]]:
    local = {"conv_zoo": (ConvZoo, (1, 3, 16, 16)), "gq_attention": (GQAttention, (2, 5, 16))}
    if name not in local:
        return tiny_model(name)
    cls, shape = local[name]
    with torch.device("meta"):
        module = cls().eval()
    return module, (torch.empty(shape, device="meta"),)


NAMES = ["mlp", "cnn", "transformer_block", "residual", "conv_zoo", "gq_attention"]


def _golden_json(name: str) -> str:
    module, args = _model(name)
    g = trace_module(module, args, model_id=f"golden:{name}")
    nodes = [[o, s, m, int(p), a] for o, s, m, p, a in zip(g.op_name, g.shape, g.module, g.params, g.attrs)]
    edges = sorted(zip(g.src.tolist(), g.dst.tolist()))
    lines = [f'  "arch_id": {json.dumps(g.arch_id)},', '  "nodes": [']
    lines += [f"    {json.dumps(n, separators=(',', ':'))}," for n in nodes]
    lines[-1] = lines[-1].rstrip(",")
    lines += ["  ],", f'  "edges": {json.dumps(edges, separators=(",", ":"))}']
    return "{\n" + "\n".join(lines) + "\n}\n"


@pytest.mark.parametrize("name", NAMES)
def test_graph_with_attributes_matches_checked_in_golden(name: str) -> None:
    path = GOLDEN / f"{name}.json"
    text = _golden_json(name)
    if os.environ.get("NAR_UPDATE_GOLDEN") == "1":
        path.write_text(text)
    assert path.stat().st_size < 5000, "golden graphs stay small enough to check by hand"
    want, got = json.loads(path.read_text()), json.loads(text)
    assert got["nodes"] == want["nodes"]
    assert got["edges"] == want["edges"]
    assert got["arch_id"] == want["arch_id"]


def _nodes(raw) -> Counter:  # noqa: ANN001
    return Counter((canonical(n), a) for n, a in zip(raw.ops, raw.attrs) if n not in (INPUT, OUTPUT))


@pytest.mark.parametrize("name", NAMES)
def test_recorder_and_export_capture_the_same_attributes(name: str) -> None:
    module, args = _model(name)
    recorded, _ = capture(module, args, methods=("dispatch",))
    exported, _ = capture(module, args, methods=("export",))
    assert _nodes(recorded) == _nodes(exported)
    assert sum(1 for a in recorded.attrs if a) >= 2


def test_conv_attributes_are_canonical_across_spellings() -> None:
    # "same" padding, an int stride and an explicit tuple are one convolution
    with torch.device("meta"):
        a = nn.Conv2d(4, 4, 3, stride=1, padding="same")
        b = nn.Conv2d(4, 4, (3, 3), stride=(1, 1), padding=(1, 1))
    x = torch.empty(1, 4, 8, 8, device="meta")
    ga, gb = trace_module(a, (x,)), trace_module(b, (x,))
    assert ga.attrs == gb.attrs and ga.arch_id == gb.arch_id
    conv = json.loads(ga.attrs[1])
    assert conv == {"bias": True, "dilation": [1, 1], "groups": 1, "in": 4, "kernel": [3, 3], "out": 4,
                    "padding": [1, 1], "stride": [1, 1]}


def test_arch_id_separates_what_only_attributes_tell_apart() -> None:
    # same shapes everywhere: only groups (and bias) differ, which the pre-attribute arch_id could not see
    def graph(**kw: object):  # noqa: ANN202
        with torch.device("meta"):
            m = nn.Sequential(nn.Conv2d(8, 8, 3, padding=1, **kw), nn.ReLU())
        return trace_module(m, (torch.empty(1, 8, 4, 4, device="meta"),))

    dense, grouped, nobias = graph(), graph(groups=4), graph(bias=False)
    assert len({dense.arch_id, grouped.arch_id, nobias.arch_id}) == 3
    assert arch_id(dense.op_name, dense.shape, dense.src, dense.dst) == \
        arch_id(grouped.op_name, grouped.shape, grouped.src, grouped.dst)


def _torchvision(name: str):  # noqa: ANN202
    models = pytest.importorskip("torchvision.models")
    with torch.device("meta"):
        m = getattr(models, name)().eval()
    return trace_module(m, (torch.empty(1, 3, 224, 224, device="meta"),), model_id=f"torchvision:{name}")


def test_resnet_family_arch_ids_resnext_vs_wide_and_torchvision_vs_timm() -> None:
    timm = pytest.importorskip("timm")
    resnext, wide, resnet = (_torchvision(n) for n in ("resnext50_32x4d", "wide_resnet50_2", "resnet50"))
    assert resnext.arch_id != wide.arch_id
    assert resnext.shape == wide.shape and resnext.op_name == wide.op_name  # the shapes cannot tell them apart
    groups = {json.loads(a)["groups"] for o, a in zip(resnext.op_name, resnext.attrs) if o == "conv2d"}
    assert groups == {1, 32}
    assert {json.loads(a)["groups"] for o, a in zip(wide.op_name, wide.attrs) if o == "conv2d"} == {1}
    with torch.device("meta"):
        m = timm.create_model("resnet50").eval()
    twin = trace_module(m, (torch.empty(1, 3, 224, 224, device="meta"),))
    assert twin.arch_id == resnet.arch_id  # the same design in two libraries: one arch_id


def test_vit_patch_size_is_the_patch_conv_kernel() -> None:
    b16, b32 = _torchvision("vit_b_16"), _torchvision("vit_b_32")
    kernels = [json.loads(g.attrs[g.op_name.index("conv2d")])["kernel"] for g in (b16, b32)]
    assert kernels == [[16, 16], [32, 32]] and b16.arch_id != b32.arch_id
    sdpa = json.loads(b16.attrs[b16.op_name.index("scaled_dot_product_attention")])
    assert (sdpa["heads"], sdpa["head_dim"]) == (12, 64)


def _hf(config_cls: str, model_cls: str, **dims: int):  # noqa: ANN202
    transformers = pytest.importorskip("transformers")
    config = getattr(transformers, config_cls)(**dims)
    with torch.device("meta"):
        m = getattr(transformers, model_cls)(config).eval()
    ids = torch.zeros(1, 8, dtype=torch.long, device="meta")
    return trace_module(m, (ids,), model_id=f"transformers:{model_cls}")


DECODER = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
               num_key_value_heads=2, vocab_size=256, max_position_embeddings=64)
ENCODER = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4, vocab_size=256,
               max_position_embeddings=64)


def test_llama_and_qwen2_differ_by_their_qkv_bias() -> None:
    llama, qwen = _hf("LlamaConfig", "LlamaModel", **DECODER), _hf("Qwen2Config", "Qwen2Model", **DECODER)
    assert llama.shape == qwen.shape and llama.op_name == qwen.op_name  # equal graphs without attributes
    assert arch_id(llama.op_name, llama.shape, llama.src, llama.dst) == arch_id(qwen.op_name, qwen.shape, qwen.src,
                                                                                 qwen.dst)
    assert llama.arch_id != qwen.arch_id
    q_proj = [json.loads(a)["bias"] for g in (llama, qwen) for o, m, a in zip(g.op_name, g.module, g.attrs)
              if o == "linear" and m.endswith("self_attn.q_proj")]
    assert q_proj == [False, False, True, True]
    sdpa = json.loads(llama.attrs[llama.op_name.index("scaled_dot_product_attention")])
    assert (sdpa["heads"], sdpa["head_dim"]) == (4, 16)
    # transformers repeats the kv heads before sdpa when a mask is passed: grouped-query attention shows as
    # k_proj's out features (2 kv heads x 16) and the repeat ops, not as sdpa's kv_heads
    k_proj = [json.loads(a)["out"] for o, m, a in zip(llama.op_name, llama.module, llama.attrs)
              if o == "linear" and m.endswith("self_attn.k_proj")]
    assert k_proj == [32, 32]


def test_roberta_and_xlm_roberta_keep_one_arch_id() -> None:
    roberta = _hf("RobertaConfig", "RobertaModel", **ENCODER)
    xlmr = _hf("XLMRobertaConfig", "XLMRobertaModel", **ENCODER)
    assert roberta.arch_id == xlmr.arch_id
