"""Approximate nearest neighbours for a million passages: a usearch HNSW index (cosine, float16) kept
on disk beside the database, memory-mapped by the processes that search, updated after each embedding.

Below `EXACT_BELOW` passages search keeps the exact numpy matrix (`tracker.vector_matrix`), which is
also the reference (`search(..., exact=True)`). Above it, `update_index` (run by `embed_all` after new
vectors are stored) keeps `DB.usearch/` in step with the database, and `vector_store` opens it for
search. The files and how they stay consistent are described in `tracker.vector_files`. Filters are
checked by SQL on each candidate's id, widening the candidates when too few pass, and a narrow filter
ends in an exact ranking over just the passages it allows.
"""

from __future__ import annotations

import shutil
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .embed import MODEL_NAME
from .filters import Connection, Filters
from .progress import Progress, no_progress
from .vector_files import STATE, State, index_folder, read_state, restore, state_key, sync, vectors_of
from .vector_matrix import MeaningRanking, PassageMatrix, database_file, file_key, passage_matrix

if TYPE_CHECKING:
    import sqlite_utils
    from usearch.index import Index

EXACT_BELOW = 20_000  # passages: below, the numpy matrix loads in well under a second and is exact
MAX_CANDIDATES = 4_096  # the widest candidate list a filtered search asks the index for
EXACT_CAP = 50_000  # a filter allowing at most this many passages may be ranked exactly instead


class AnnIndex:
    """The opened segments of an index: memory-mapped views, shared by the process's threads."""

    def __init__(self, folder: Path, state: State) -> None:
        self.views: list[tuple[Index, bool]] = []  # (view, whether the dropped ids apply: the main segment)
        for segment, is_main in ((state.main, True), (state.delta, False)):
            if segment is not None:
                self.views.append((restore(folder, segment, view=True), is_main))
        self.dropped = np.asarray(sorted(state.dropped), dtype=np.uint64)
        self.size = sum(len(view) for view, _ in self.views)

    def __len__(self) -> int:
        return self.size

    def candidates(self, query: np.ndarray, k: int) -> MeaningRanking:
        """The k nearest (id, cosine) by the index, best first, without the ids it no longer holds."""
        found: list[tuple[int, float]] = []
        for view, is_main in self.views:
            matches = view.search(np.asarray(query, dtype=np.float32), k)
            keep = ~np.isin(matches.keys, self.dropped) if is_main and len(self.dropped) else slice(None)
            found += zip(matches.keys[keep].tolist(), (1.0 - matches.distances[keep]).tolist())
        found.sort(key=lambda hit: (-hit[1], hit[0]))
        return found[:k]

    def nearest(self, conn: Connection, query: np.ndarray, filters: Filters, depth: int) -> MeaningRanking:
        """The `depth` nearest passages that exist and pass the filters: candidates are checked by
        id in SQL, widened fourfold while too few pass, and a narrow filter is ranked exactly."""
        k = min(self.size, depth * (8 if filters.active() else 2))  # margins: for the filter, for passages deleted since the update
        while True:
            found = self.candidates(query, k)
            allowed = filters.allowed(conn, [i for i, _ in found])
            hits = [(i, s) for i, s in found if i in allowed]
            if len(hits) >= depth or k >= self.size:
                return hits[:depth]
            if k >= MAX_CANDIDATES:
                break
            k = min(self.size, k * 4, MAX_CANDIDATES)
        ids = filters.passage_ids(conn, EXACT_CAP + 1)
        return self.matrix(ids).ranking(query, depth) if len(ids) <= EXACT_CAP else hits[:depth]

    def matrix(self, ids: list[int]) -> PassageMatrix:
        """The indexed vectors of these passages as an exact matrix (those the index lacks are left out)."""
        wanted = np.asarray(ids, dtype=np.uint64)
        parts: list[tuple[np.ndarray, np.ndarray]] = []
        for view, is_main in reversed(self.views):  # the delta first: it holds the newer vectors
            present = np.asarray(view.contains(wanted), dtype=bool)
            if is_main:
                present &= ~np.isin(wanted, self.dropped)
            if present.any():
                parts.append((wanted[present], vectors_of(view, wanted[present])))
            wanted = wanted[~present]
        if not parts:
            return PassageMatrix(np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32))
        return PassageMatrix(np.concatenate([p[0] for p in parts]).astype(np.int64), np.vstack([p[1] for p in parts]))


def passage_count(conn: Connection) -> int:
    return conn.execute("select count(*) from passages").fetchone()[0]


def update_index(db: sqlite_utils.Database, progress: Progress = no_progress, model: str = MODEL_NAME) -> State | None:
    """Bring the index beside the database in step with its passages and vectors (what `embed_all`
    runs after storing new vectors): built once the database reaches `EXACT_BELOW` passages, then
    topped up with what changed. None for a smaller or in-memory database."""
    path = database_file(db.conn)
    if path is None or passage_count(db.conn) < EXACT_BELOW:
        return None
    folder = index_folder(path)
    try:
        folder.mkdir(exist_ok=True)
        return sync(db.conn, folder, model, build=True, progress=progress)
    except OSError as error:  # the database is saved; the index is topped up by the next update or search
        print(f"tracker: the vector index {folder} was not updated ({error})", file=sys.stderr)
        return None


def copy_index(source: str | Path, copy: sqlite_utils.Database) -> State | None:
    """The index of the database at `source`, copied beside `copy` (a snapshot of it) and brought in
    step with it: what a published bundle ships, so a large replica needs no build. None when
    `source` has no index (a small database: replicas use the exact matrix)."""
    folder, target = index_folder(source), database_file(copy.conn)
    if target is None or not (folder / STATE).exists():
        return None
    shutil.copytree(folder, index_folder(target), dirs_exist_ok=True)
    return update_index(copy)


def open_index(conn: Connection, path: str, model: str = MODEL_NAME) -> AnnIndex | None:
    """The index for searching, topped up first if the database moved on (a reader never builds one
    from nothing: that is `update_index`'s job); None where search should use the exact matrix."""
    folder = index_folder(path)
    if passage_count(conn) < EXACT_BELOW or not (folder / STATE).exists():
        return None
    try:
        state = sync(conn, folder, model, build=False)
    except (OSError, ValueError):  # a folder this process cannot write, or a damaged segment: as it is
        state = read_state(folder, model)
    try:
        return AnnIndex(folder, state) if state is not None and (state.main or state.delta) else None
    except (OSError, ValueError):  # a segment that does not load: exact until a writer rebuilds it
        return None


_OPEN: dict[str, tuple[tuple, AnnIndex | None]] = {}
_OPEN_LOCK = threading.Lock()


def vector_store(conn: Connection, exact: bool = False) -> PassageMatrix | AnnIndex | None:
    """What ranks passages by meaning for this connection's database: its index when it has a usable
    one (opened once per database and index state), else the exact matrix; None without vectors."""
    path = database_file(conn)
    if exact or path is None:
        return passage_matrix(conn)
    with _OPEN_LOCK:
        cached = _OPEN.get(path)
        if cached is None or cached[0] != (file_key(path), state_key(index_folder(path))):
            database = file_key(path)
            index = open_index(conn, path)
            cached = _OPEN[path] = ((database, state_key(index_folder(path))), index)
    return cached[1] if cached[1] is not None else passage_matrix(conn)
