import numpy as np
import pytest

pytest.importorskip("usearch")

from nar_model.ann import USearchIndex  # noqa: E402
from nar_model.search import NumpyIndex  # noqa: E402


def _vectors(n: int = 2000, dim: int = 32, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((40, dim)).astype(np.float32)
    return centres[rng.integers(0, 40, n)] + 0.3 * rng.standard_normal((n, dim)).astype(np.float32)


def test_usearch_matches_exact_search_on_clustered_vectors() -> None:
    x = _vectors()
    ids = [f"a{i}" for i in range(len(x))]
    exact, ann = NumpyIndex(), USearchIndex()
    exact.add(ids, x)
    ann.add(ids, x)
    q = x[:50] + 0.01
    want, got = exact.search(q, 10), ann.search(q, 10)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(want.indices.tolist(), got.indices.tolist())])
    assert recall >= 0.95
    assert got.indices[0, 0] == 0  # the near-copy of item 0 finds item 0 first
    np.testing.assert_allclose(got.scores[:, 0], want.scores[:, 0], atol=2e-3)  # float16 storage


def test_usearch_save_and_memory_mapped_load(tmp_path) -> None:
    x = _vectors(500)
    ann = USearchIndex()
    ann.add([f"m{i}" for i in range(len(x))], x)
    ann.save(tmp_path / "index.usearch")
    loaded = USearchIndex.load(tmp_path / "index.usearch")
    assert loaded.ids == ann.ids and len(loaded) == 500
    np.testing.assert_array_equal(loaded.search(x[:5], 3).indices, ann.search(x[:5], 3).indices)


def test_usearch_asks_for_more_than_it_holds() -> None:
    ann = USearchIndex()
    ann.add(["a", "b"], np.eye(2, 8, dtype=np.float32))
    res = ann.search(np.eye(1, 8, dtype=np.float32), 5)
    assert res.indices.shape == (1, 2) and res.indices[0, 0] == 0


def test_auto_backend_is_exact_below_the_threshold_and_hnsw_above() -> None:
    from nar_model.search import AUTO_NUMPY_BELOW, make_index

    assert isinstance(make_index("auto", AUTO_NUMPY_BELOW - 1), NumpyIndex)
    assert isinstance(make_index("auto", AUTO_NUMPY_BELOW), USearchIndex)
