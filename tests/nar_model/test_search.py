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


def test_load_vectors_reads_one_version_beside_another_of_other_dimension(tmp_path):
    from nar_data.parquet import write_shard
    from nar_model.search import load_vectors

    old = [{"arch_id": f"a{i}", "encoder_version": "old", "vector": np.ones(8, np.float32)} for i in range(3)]
    new = [{"arch_id": f"a{i}", "encoder_version": "new", "vector": np.full(4, i, np.float32)} for i in range(2)]
    write_shard(tmp_path, "embeddings", old)
    write_shard(tmp_path, "embeddings", new)
    ids, vectors = load_vectors(tmp_path, "new")
    assert ids == ["a0", "a1"] and vectors.shape == (2, 4)
    np.testing.assert_array_equal(vectors[:, 0], [0, 1])
    assert load_vectors(tmp_path, "old")[1].shape == (3, 8)
