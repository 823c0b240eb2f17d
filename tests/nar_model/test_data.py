"""The PyG converter: ``x`` for any PyG layer, and the attribute columns ``xa``."""

import json

import pytest
import torch

from nar_data.testing import hand_graph, make_graph
from nar_model.data import ATTR_FEATURES, NUM_ATTR_FEATURES, NUM_FEATURES, attr_features, num_node_features, to_data


def test_to_data_has_x_that_a_plain_gcn_layer_takes():
    from torch_geometric.nn import GCNConv

    d = to_data(make_graph("cnn"))
    assert d.x.shape == (d.num_nodes, num_node_features()) and d.x.dtype == torch.float32
    assert d.num_node_features == num_node_features()
    assert GCNConv(d.num_node_features, 8)(d.x, d.edge_index).shape == (d.num_nodes, 8)
    assert (d.x[:, : num_node_features() - NUM_FEATURES - NUM_ATTR_FEATURES].sum(1) == 1).all()  # op one-hot
    assert to_data(make_graph("cnn"), x=False).x is None


def test_attr_columns_read_the_node_attributes():
    g = make_graph("cnn")
    xa = attr_features(g)
    col = {name: i for i, name in enumerate(ATTR_FEATURES)}
    conv, bn = g.op_name.index("conv2d"), g.op_name.index("batch_norm")
    assert json.loads(g.attrs[conv])["kernel"] == [3, 3]
    assert xa[conv, col["kernel"]] == pytest.approx(2 / 4)  # log2(1 + 3) / 4
    assert xa[conv, col["bias"]] == 1 and xa[conv, col["groups"]] == pytest.approx(1 / 10)
    assert xa[bn, col["norm_batch"]] == 1 and xa[bn, col["kernel"]] == 0
    assert not xa[g.op_name.index("relu")].any()


def test_depthwise_and_heads_columns():
    g = hand_graph(["input", "conv2d", "scaled_dot_product_attention", "output"], [(0, 1), (1, 2), (2, 3)])
    g = g.replace(attrs=["", json.dumps({"groups": 8, "in": 8, "out": 8, "kernel": [3, 3]}),
                         json.dumps({"heads": 12, "head_dim": 64, "kv_heads": 4, "causal": True}), ""])
    xa = attr_features(g)
    col = {name: i for i, name in enumerate(ATTR_FEATURES)}
    assert xa[1, col["depthwise"]] == 1
    assert xa[2, col["heads"]] > xa[2, col["kv_heads"]] > 0 and xa[2, col["causal"]] == 1


def test_hand_written_graph_without_attrs_gets_zero_columns():
    g = hand_graph(["input", "relu", "output"], [(0, 1), (1, 2)])
    assert g.attrs == ["", "", ""]
    assert not attr_features(g).any()
