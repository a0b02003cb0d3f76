"""The vector index answers the same with sqlite-vec and with numpy; blobs round-trip."""

import numpy as np
import pytest

from tracker.embed import VectorIndex, from_blob, sqlite_vec_connection, to_blob


@pytest.fixture
def unit_vectors():
    rng = np.random.default_rng(7)
    matrix = rng.normal(size=(500, 384)).astype(np.float32)
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def test_blob_round_trip(unit_vectors):
    blob = to_blob(unit_vectors[0])
    assert len(blob) == 384 * 4
    assert np.array_equal(from_blob(blob), unit_vectors[0])


def test_numpy_index_finds_exact_neighbours(unit_vectors):
    index = VectorIndex(range(100, 600), unit_vectors, backend="numpy")
    hits = index.search(unit_vectors[42], 3)
    assert index.backend == "numpy"
    assert hits[0][0] == 142 and hits[0][1] == pytest.approx(1.0, abs=1e-5)
    assert [score for _, score in hits] == sorted((score for _, score in hits), reverse=True)


@pytest.mark.skipif(sqlite_vec_connection() is None, reason="this SQLite cannot load extensions")
def test_sqlite_vec_and_numpy_agree(unit_vectors):
    ids = list(range(1, 501))
    vec = VectorIndex(ids, unit_vectors, backend="sqlite-vec")
    plain = VectorIndex(ids, unit_vectors, backend="numpy")
    assert vec.backend == "sqlite-vec"
    queries = unit_vectors[:20] + 0.05
    for query in queries / np.linalg.norm(queries, axis=1, keepdims=True):
        a, b = vec.search(query, 5), plain.search(query, 5)
        assert [i for i, _ in a] == [i for i, _ in b]
        assert np.allclose([s for _, s in a], [s for _, s in b], atol=1e-5)


def test_empty_index_returns_nothing():
    assert VectorIndex([], np.zeros((0, 384), dtype=np.float32), backend="numpy").search(np.ones(384, dtype=np.float32), 3) == []
