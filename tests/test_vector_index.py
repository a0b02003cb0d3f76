"""The approximate vector index (tracker.vector_index, tracker.vector_files): the exact top-k on a
small set, updates that add and drop passages, a process killed mid-update, a damaged state, and
the same search hits on the exact and approximate paths."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time

import numpy as np
import pytest
import sqlite_utils

import tracker
from tracker import vector_files, vector_index
from tracker.embed import DIMENSIONS, MODEL_NAME, text_hash, to_blob
from tracker.filters import Filters
from tracker.search import search
from tracker.store import delete_document
from tracker.vector_files import STATE, index_folder
from tracker.vector_index import AnnIndex, copy_index, update_index, vector_store
from tracker.vector_matrix import PassageMatrix, load_matrix

PER_DOCUMENT = 50
PUBLISHERS = ["NHS England", "DHSC", "LGA", "CQC"]
TIE = 2e-3  # cosines this close may swap places in float16
CENTRES = np.random.default_rng(1).normal(size=(40, DIMENSIONS)).astype(np.float32)


def unit(matrix: np.ndarray) -> np.ndarray:
    return (matrix / np.linalg.norm(matrix, axis=-1, keepdims=True)).astype(np.float32)


def add_documents(db, first: int, count: int, seed: int, vectors: np.ndarray | None = None) -> np.ndarray:
    """`count` documents of PER_DOCUMENT passages with clustered unit vectors (like text embeddings)."""
    rng = np.random.default_rng(seed)
    n = count * PER_DOCUMENT
    if vectors is None:
        vectors = unit(CENTRES[rng.integers(0, len(CENTRES), n)] + rng.normal(size=(n, DIMENSIONS)).astype(np.float32) * 0.8)
    start = db.execute("select coalesce(max(id), 0) from passages").fetchone()[0]
    texts = [f"Passage {i} of seed {seed}." for i in range(n)]
    with db.atomic():
        db["documents"].insert_all(
            {"id": d, "sha256": text_hash(f"document {d} {seed}"), "review": "r", "kind": ["evidence", "other"][d % 2], "title": f"Document {d}",
             "publisher": PUBLISHERS[d % len(PUBLISHERS)], "published": f"{2023 + d % 3}-01-01", "text": "(synthetic)", "ingested_at": "2026-01-01"}
            for d in range(first, first + count)
        )  # fmt: skip
        db["passages"].insert_all(
            {"id": start + i + 1, "document_id": first + i // PER_DOCUMENT, "seq": i % PER_DOCUMENT, "start": 0, "end": len(text), "text": text, "sha256": text_hash(text)}
            for i, text in enumerate(texts)
        )  # fmt: skip
        db["embeddings"].insert_all(
            (
                {"model": MODEL_NAME, "sha256": text_hash(text), "dims": DIMENSIONS, "vector": to_blob(vector), "created_at": "2026-01-01"}
                for text, vector in zip(texts, vectors)
            ),
            replace=True,
        )
    return vectors


@pytest.fixture
def small(tmp_path, monkeypatch):
    """2,000 passages in 40 documents, with the index threshold lowered so that they get an index."""
    monkeypatch.setattr(vector_index, "EXACT_BELOW", 0)
    monkeypatch.setattr(vector_files, "THREADS", 1)  # the same graph on every run
    path = tmp_path / "vectors.db"
    db = tracker.open_db(path)
    db["reviews"].insert({"slug": "r", "title": "A review"})
    add_documents(db, 1, 40, seed=2)
    yield path, db
    db.close()


def queries(count: int = 20, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return unit(CENTRES[rng.integers(0, len(CENTRES), count)] + rng.normal(size=(count, DIMENSIONS)).astype(np.float32) * 0.8)


def assert_same_ids(found: set[int], expected: list[tuple[int, float]]) -> None:
    """The same ids as the exact ranking, except where float16 cosines reorder a near-tie at its end."""
    assert len(found) == len(expected)
    assert all(similarity <= expected[-1][1] + TIE for i, similarity in expected if i not in found)


def assert_same_as_exact(conn, depth: int = 10) -> None:
    """The index's top `depth` are the exact top `depth`, cosines within float16 rounding."""
    store, exact = vector_store(conn), load_matrix(conn)
    assert isinstance(store, AnnIndex) and exact is not None
    for query in queries():
        found = store.nearest(conn, query, Filters(), depth)
        expected = exact.nearest(conn, query, Filters(), depth)
        assert_same_ids({i for i, _ in found}, expected)
        assert [s for _, s in found] == pytest.approx([s for _, s in expected], abs=TIE)


def test_the_index_returns_the_exact_top_k(small):
    path, db = small
    state = update_index(db)
    assert state is not None and state.main.count == 2000 and state.delta is None and state.pending == []
    assert_same_as_exact(sqlite3.connect(path))


def test_a_snapshot_gets_the_index_copied_and_in_step(small, tmp_path):
    """What `tracker publish --to` ships: the live index beside the snapshot, matching it, so a replica
    searches the index without building one."""
    path, db = small
    update_index(db)
    snapshot = tmp_path / "replica.db"
    with sqlite3.connect(path) as source, sqlite3.connect(snapshot) as target:
        source.backup(target)
    assert copy_index(tmp_path / "nothing.db", sqlite_utils.Database(snapshot)) is None
    state = copy_index(path, sqlite_utils.Database(snapshot))
    assert state is not None and state.main.count == 2000 and (index_folder(snapshot) / "state.json").exists()
    assert_same_as_exact(sqlite3.connect(snapshot))


def test_small_databases_keep_the_exact_matrix(small, monkeypatch):
    path, db = small
    monkeypatch.setattr(vector_index, "EXACT_BELOW", 2001)
    assert update_index(db) is None and not index_folder(path).exists()
    assert isinstance(vector_store(sqlite3.connect(path)), PassageMatrix)


def test_an_update_adds_new_passages_and_drops_deleted_and_changed_ones(small):
    path, db = small
    update_index(db)
    conn = sqlite3.connect(path)
    target = unit(CENTRES[0] + CENTRES[1])  # far from every passage so far
    with db.atomic():
        delete_document(db, 3)  # in the middle: its ids are never used again
        delete_document(db, 40)  # the last: its ids are given to the next passages
    add_documents(db, 41, 1, seed=4, vectors=unit(np.tile(target, (PER_DOCUMENT, 1)) + np.random.default_rng(5).normal(size=(PER_DOCUMENT, DIMENSIONS)) * 0.01))
    reused = [row[0] for row in db.execute("select id from passages where document_id = 41")]
    assert min(reused) == 39 * PER_DOCUMENT + 1  # the deleted last document's ids, with new texts
    before = vector_store(conn).nearest(conn, target, Filters(), 10)  # the reader tops the index up on open
    state = update_index(db)  # the writer finds it current
    assert state.delta is not None and state.delta.count == PER_DOCUMENT and set(state.dropped) >= set(reused)
    found = vector_store(conn).nearest(conn, target, Filters(), 10)
    assert before == found and {i for i, _ in found} <= set(reused) and found[0][1] > 0.9
    deleted = set(range(2 * PER_DOCUMENT + 1, 3 * PER_DOCUMENT + 1))
    for query in queries():
        assert not deleted & {i for i, _ in vector_store(conn).nearest(conn, query, Filters(), 50)}
    assert_same_as_exact(conn)


def test_a_large_delta_is_merged_into_the_main_segment(small, monkeypatch):
    path, db = small
    update_index(db)
    monkeypatch.setattr(vector_files, "MERGE_FRACTION", 0.03)
    add_documents(db, 41, 1, seed=6)
    assert update_index(db).delta.count == PER_DOCUMENT  # 50 new vectors, under 3% of the main segment
    with db.atomic():
        delete_document(db, 5)
    add_documents(db, 42, 1, seed=7)
    state = update_index(db)
    assert state.delta is None and state.dropped == [] and state.main.count == 41 * PER_DOCUMENT
    assert sorted(p.name for p in index_folder(path).iterdir()) == sorted(["lock", STATE, f"{state.main.name}.npy", f"{state.main.name}.usearch"])
    assert_same_as_exact(sqlite3.connect(path))


KILLED_WRITER = """
import pathlib, sys, time
from tracker import open_db, vector_files, vector_index

vector_index.EXACT_BELOW = 0
Index = vector_files.usearch()
save = Index.save

def save_then_hang(self, path, *args, **kwargs):
    save(self, path)
    data = pathlib.Path(path).read_bytes()
    pathlib.Path(path).write_bytes(data[: len(data) // 2])  # a half-written segment
    pathlib.Path(sys.argv[2]).touch()
    time.sleep(60)

Index.save = save_then_hang
vector_index.update_index(open_db(sys.argv[1]))
"""


def test_a_writer_killed_mid_update_leaves_a_consistent_index(small, tmp_path):
    path, db = small
    update_index(db)
    committed = (index_folder(path) / STATE).read_text()
    add_documents(db, 41, 2, seed=8)
    marker = tmp_path / "saving"
    writer = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(path), str(marker)])
    try:
        deadline = time.monotonic() + 60
        while not marker.exists() and writer.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.exists(), "the writer never reached the segment write"
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait()
    assert writer.returncode == -signal.SIGKILL
    assert (index_folder(path) / STATE).read_text() == committed and len(list(index_folder(path).glob("delta-*.usearch"))) == 1
    conn = sqlite3.connect(path)
    assert_same_as_exact(conn)  # the reader topped it up: the new passages are found
    state = vector_files.read_state(index_folder(path), MODEL_NAME)
    assert state.delta.count == 2 * PER_DOCUMENT and state.passages == vector_files.signature(conn)
    assert {p.name for p in index_folder(path).glob("delta-*")} == {f"{state.delta.name}.npy", f"{state.delta.name}.usearch"}


def test_a_state_that_does_not_match_is_topped_up(small):
    path, db = small
    update_index(db)
    state_file = index_folder(path) / STATE
    data = json.loads(state_file.read_text())
    state_file.write_text(json.dumps({**data, "passages": {**data["passages"], "checksum": 1}}))  # as if passages had changed
    conn = sqlite3.connect(path)
    assert_same_as_exact(conn)  # every (id, hash) compared: nothing stale, the state rewritten
    assert vector_files.read_state(index_folder(path), MODEL_NAME).passages == vector_files.signature(conn)


@pytest.mark.parametrize("damage", ["state", "segment"])
def test_a_damaged_index_is_left_to_the_exact_path_then_rebuilt(small, damage):
    path, db = small
    state = update_index(db)
    if damage == "state":
        (index_folder(path) / STATE).write_text("{not json")
    else:  # the same size, a header that is not usearch's
        segment = index_folder(path) / f"{state.main.name}.usearch"
        segment.write_bytes(bytes(64) + segment.read_bytes()[64:])
    conn = sqlite3.connect(path)
    assert isinstance(vector_store(conn), PassageMatrix)  # a reader falls back to the exact matrix
    assert update_index(db).main.count == 2000  # a writer rebuilds
    assert_same_as_exact(conn)


@pytest.mark.parametrize(
    "filters",
    [Filters(), Filters(kind="evidence"), Filters(publisher="LGA", since="2024"), Filters(publisher="CQC", until="2023")],
    ids=["none", "kind", "publisher-since", "narrow"],
)
def test_search_gives_the_same_hits_on_the_exact_and_approximate_paths(small, filters):
    path, db = small
    update_index(db)
    conn = sqlite3.connect(path)
    for query in queries(10):
        embed = lambda _, query=query: query
        approximate = search(conn, "x", "vector", filters, limit=10, embed=embed)
        exact = search(conn, "x", "vector", filters, limit=10, embed=embed, exact=True)
        assert approximate.hits and approximate.mode_used == "vector"
        assert_same_ids({h["id"] for h in approximate.hits}, [(h["id"], h["similarity"]) for h in exact.hits])


def test_usearch_and_the_embedding_runtime_load_together():
    """Imported after usearch, onnxruntime 1.32 crashed in its import: `usearch()` loads it first."""
    code = "from tracker.vector_files import usearch; usearch(); import onnxruntime; print('ok')"
    assert subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=120).stdout == "ok\n"
