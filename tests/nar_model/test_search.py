import numpy as np
import pytest

from nar_model.search import NumpyIndex, make_index


def test_numpy_index_is_exact_cosine_with_stable_ties():
    index = make_index("numpy")
    assert isinstance(index, NumpyIndex)
    index.add(["a", "b", "c"], np.array([[1, 0], [2, 0], [0, 3]], dtype=np.float32))  # a and b tie
    res = index.search(np.array([[1.0, 0.1]]), k=3)
    assert res.indices[0].tolist() == [0, 1, 2]
    assert res.scores[0, 0] == pytest.approx(res.scores[0, 1])
    assert index.search(np.array([[0, 1.0]]), k=1).indices[0].tolist() == [2]


def test_unknown_backend_lists_choices():
    with pytest.raises(ValueError, match="numpy"):
        make_index("annoy")
