"""timm and torchvision sources: complete listings, stable config hashes, real entries traced on meta."""

from __future__ import annotations

import pytest

from nar_data.sources import get_source, list_sources
from nar_data.tracing import trace_ref


def test_registry_sources_are_registered() -> None:
    from nar_data.sources import _BUILTIN

    assert {"timm", "torchvision", "transformers", "hf", "torch_hub"} <= set(list_sources())
    # the tiny `testing` models register only where they are asked for (``import nar_data.testing``)
    assert "testing" not in _BUILTIN
    import nar_data.testing  # noqa: F401

    assert "testing" in list_sources()


def test_timm_lists_every_model_with_a_stable_distinct_config_hash() -> None:
    timm = pytest.importorskip("timm")
    refs = list(get_source("timm").iter_refs())
    assert [r.name for r in refs] == timm.list_models()
    assert len({r.config_hash for r in refs}) == len(refs)
    again = next(get_source("timm").iter_refs(names=["resnet50"]))
    assert again.config_hash == next(r for r in refs if r.name == "resnet50").config_hash
    assert all(r.meta["module"] for r in refs), "every timm model has its family module"


def test_timm_ref_hash_covers_model_args() -> None:
    from nar_data.sources.timm import timm_ref

    assert timm_ref("resnet50").config_hash != timm_ref("resnet50", {"drop_rate": 0.0, "layers": [2, 2, 2, 2]}).config_hash
    assert timm_ref("resnet50").config_hash == timm_ref("resnet50", {}).config_hash


def test_torchvision_lists_every_builder_of_every_task_module() -> None:
    torchvision = pytest.importorskip("torchvision")
    refs = list(get_source("torchvision").iter_refs())
    assert [r.name for r in refs] == torchvision.models.list_models()
    tasks = {r.task for r in refs}
    assert {"image-classification", "object-detection", "image-segmentation", "video-classification",
            "optical-flow", "instance-segmentation", "keypoint-detection"} <= tasks


def _count(graph, op: str) -> int:  # noqa: ANN001
    return graph.op_name.count(op)


@pytest.mark.parametrize("source, name, params, op, count", [
    ("timm", "resnet18", 11_689_512, "conv2d", 20),
    ("timm", "vit_tiny_patch16_224", 5_717_416, "scaled_dot_product_attention", 12),
    ("torchvision", "mobilenet_v3_small", 2_542_856, "conv2d", 52),
    ("torchvision", "regnet_y_400mf", 4_344_144, "conv2d", None),  # builder needs values: empty-weights fallback
    ("torchvision", "r3d_18", 33_371_472, "conv3d", 20),
    ("torchvision", "lraspp_mobilenet_v3_large", 3_221_538, "conv2d", None),
])
def test_real_entries_trace_on_meta(source: str, name: str, params: int, op: str, count: int | None) -> None:
    ref = next(get_source(source).iter_refs(names=[name]))
    graph = trace_ref(ref)
    assert graph.num_params == params  # the published parameter count of the architecture
    assert graph.capture == "dispatch"
    assert _count(graph, op) == count if count is not None else _count(graph, op) > 0
    assert graph.family not in ("", "unknown") and graph.coarse in ("cnn", "transformer")
    assert graph.config_hash == ref.config_hash and graph.model_id == f"{source}:{name}"


def test_builds_allocate_no_weights() -> None:
    built = get_source("timm").build(next(get_source("timm").iter_refs(names=["resnet50"])))
    assert all(p.device.type == "meta" for p in built.module.parameters())
    assert all(b.device.type == "meta" for b in built.module.buffers())
    built = get_source("torchvision").build(next(get_source("torchvision").iter_refs(names=["regnet_y_400mf"])))
    assert all(p.device.type == "meta" for p in built.module.parameters())


@pytest.mark.slow
def test_detection_models_trace_on_the_cpu_rung() -> None:
    ref = next(get_source("torchvision").iter_refs(names=["ssdlite320_mobilenet_v3_large"]))
    graph = trace_ref(ref)
    assert graph.capture == "dispatch-cpu" and _count(graph, "conv2d") > 50
    assert graph.task == "object-detection"


def test_testing_source_only_when_asked_for() -> None:
    import os
    import subprocess
    import sys

    code = "from nar_data.sources import list_sources; print('testing' in list_sources())"
    env = {k: v for k, v in os.environ.items() if k != "NAR_TESTING_SOURCE"}
    off = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    on = subprocess.run([sys.executable, "-c", code], env={**env, "NAR_TESTING_SOURCE": "1"},
                        capture_output=True, text=True, check=True)
    assert (off.stdout.strip(), on.stdout.strip()) == ("False", "True")
