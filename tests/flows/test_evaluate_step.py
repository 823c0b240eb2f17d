"""`nar eval` / the train flow's evaluate step measures with the catalog's relevance, as the bench does."""

from __future__ import annotations

from nar_data.hand import hand_graph
from nar_model.data import GraphSet


def test_evaluate_step_uses_the_taxonomy_relevance(monkeypatch, tmp_path) -> None:
    import nar_model.data
    import nar_model.evaluation
    from flows import steps

    ops, edges = ["input", "linear", "output"], [(0, 1), (1, 2)]
    graphs = GraphSet([hand_graph(ops, edges, model_id="timm:deit_base_patch16_224", family="deit"),
                       hand_graph(ops, edges, model_id="transformers:ViTModel", family="vit"),
                       hand_graph(ops, edges, model_id="torchvision:vit_b_16", family="vision_transformer")])
    seen = {}

    def fake_run_protocol(g, methods, config, *args, relevance=None, **kwargs):
        seen["relevance"] = relevance
        return {}

    monkeypatch.setattr(nar_model.data, "load_graphs", lambda data, max_nodes=None: graphs)
    monkeypatch.setattr(nar_model.evaluation, "run_protocol", fake_run_protocol)
    monkeypatch.setattr(nar_model.evaluation, "table1_markdown", lambda results: "")
    steps.evaluate(tmp_path, ["wl"])
    rel = seen["relevance"]
    # the graphs' own labels say three families; the taxonomy says one (ViT), with a twin pair
    assert rel is not None and len(set(rel.family)) == 1
    assert ("torchvision:vit_b_16", "transformers:ViTModel") in {tuple(sorted(p)) for p in rel.twins}
