"""Vectors round-trip through their blobs, and the one top-k helper finds exact neighbours in order."""

import numpy as np
import pytest

from tracker.embed import from_blob, sqlite_vec_connection, to_blob, top_k


@pytest.fixture
def unit_vectors():
    rng = np.random.default_rng(7)
    matrix = rng.normal(size=(500, 384)).astype(np.float32)
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def test_blob_round_trip(unit_vectors):
    blob = to_blob(unit_vectors[0])
    assert len(blob) == 384 * 4
    assert np.array_equal(from_blob(blob), unit_vectors[0])


def test_top_k_finds_exact_neighbours_best_first(unit_vectors):
    scores = unit_vectors @ unit_vectors[42]
    found = top_k(scores, 5)
    assert found[0] == 42
    assert list(found) == list(np.argsort(-scores)[:5])


def test_top_k_bounds():
    assert list(top_k(np.array([0.2, 0.9, 0.5]), 10)) == [1, 2, 0]
    assert len(top_k(np.zeros(0), 3)) == 0 and len(top_k(np.ones(4), 0)) == 0


@pytest.mark.skipif(sqlite_vec_connection() is None, reason="this SQLite cannot load extensions")
def test_sqlite_vec_knn_agrees_with_numpy(unit_vectors):
    conn = sqlite_vec_connection()
    conn.execute("create virtual table items using vec0(embedding float[384] distance_metric=cosine)")
    conn.executemany("insert into items(rowid, embedding) values (?, ?)", ((i, to_blob(v)) for i, v in enumerate(unit_vectors)))
    query = unit_vectors[7] + 0.05
    query /= np.linalg.norm(query)
    rows = conn.execute("select rowid from items where embedding match ? and k = 5 order by distance", [to_blob(query)]).fetchall()
    assert [row[0] for row in rows] == list(top_k(unit_vectors @ query, 5))
