"""The exact meaning ranking: every passage vector in one numpy matrix, a product per query.

It is the reference the approximate index (`tracker.vector_index`) is measured against, and what
search uses below `vector_index.EXACT_BELOW` passages, where reading the vectors takes well under a
second. The matrix is read once per database file and re-read when the file changes.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass

import numpy as np

from .embed import MODEL_NAME, top_k
from .filters import LINKED_PASSAGES, Connection, Filters

MeaningRanking = list[tuple[int, float]]  # (passage id, cosine), best first


@dataclass
class PassageMatrix:
    """Unit vectors of the passages (one row per passage id) and their document ids, held in memory:
    a matrix product per query is faster than any scan of SQLite (see ENGINEERING.md)."""

    ids: np.ndarray
    matrix: np.ndarray
    document_ids: np.ndarray | None = None
    model: str = MODEL_NAME

    def __len__(self) -> int:
        return len(self.ids)

    def ranking(self, query: np.ndarray, depth: int, mask: np.ndarray | None = None) -> MeaningRanking:
        """The `depth` most similar passages as (passage id, cosine), best first; only rows where
        `mask` is true when a mask is given."""
        if len(self.ids) == 0:
            return []
        # einsum, not BLAS gemv: single-threaded and faster here (OpenBLAS threads contend on 2 busy cores)
        scores = np.einsum("ij,j->i", self.matrix, np.asarray(query, dtype=np.float32))
        if mask is not None:
            scores = np.where(mask, scores, -np.inf)
        return [(int(self.ids[i]), float(scores[i])) for i in top_k(scores, depth) if np.isfinite(scores[i])]

    def mask(self, conn: Connection, filters: Filters) -> np.ndarray | None:
        """Which rows pass the filters (None: all). Document filters are matched on the document ids
        held here; the recommendation filter on the few passages linked to it."""
        if not filters.active():
            return None
        mask = np.ones(len(self.ids), dtype=bool)
        where, params = filters.document_clause()
        if where and self.document_ids is not None:
            documents = [row[0] for row in conn.execute(f"select d.id from documents d where 1 = 1 {where}", params)]
            mask &= np.isin(self.document_ids, np.asarray(documents, dtype=np.int64))
        elif where:
            found = [row[0] for row in conn.execute(f"select p.id from passages p join documents d on d.id = p.document_id where 1 = 1 {where}", params)]
            mask &= np.isin(self.ids, np.asarray(found, dtype=np.int64))
        if filters.recommendation is not None:
            linked = [row[0] for row in conn.execute(LINKED_PASSAGES, {"f_rec": filters.recommendation})]
            mask &= np.isin(self.ids, np.asarray(linked, dtype=np.int64))
        return mask

    def nearest(self, conn: Connection, query: np.ndarray, filters: Filters, depth: int) -> MeaningRanking:
        """The ranking over the passages the filters allow (the interface `vector_index` shares)."""
        return self.ranking(query, depth, self.mask(conn, filters))


def load_matrix(conn: Connection, model: str = MODEL_NAME) -> PassageMatrix | None:
    """Read every passage vector of `model` from the embeddings table; None when there are none."""
    if not conn.execute("select 1 from sqlite_master where type = 'table' and name = 'embeddings'").fetchone():
        return None
    found = conn.execute(
        "select p.id, p.document_id, e.vector from passages p join embeddings e on e.sha256 = p.sha256 and e.model = ? order by p.id", [model]
    ).fetchall()
    if not found:
        return None
    dims = max(len(row[2]) for row in found if row[2]) // 4
    found = [row for row in found if row[2] and len(row[2]) == dims * 4]
    ids = np.fromiter((row[0] for row in found), dtype=np.int64, count=len(found))
    documents = np.fromiter((row[1] for row in found), dtype=np.int64, count=len(found))
    matrix = np.frombuffer(b"".join(row[2] for row in found), dtype="<f4").reshape(len(found), dims)
    return PassageMatrix(ids, np.ascontiguousarray(matrix, dtype=np.float32), documents, model)


_MATRICES: dict[str, tuple[tuple, PassageMatrix | None]] = {}
_MATRIX_LOCK = threading.Lock()


def database_file(conn: Connection) -> str | None:
    """The file behind a connection's main database; None in memory."""
    for _, name, path in conn.execute("pragma database_list").fetchall():
        if name == "main":
            return path or None
    return None


def file_key(path: str | None) -> tuple | None:
    """(mtime, size) of the file and of its WAL when that holds anything: changes whenever a writer
    commits, not when a reader opens the file (which creates an empty WAL)."""
    if not path or not os.path.exists(path):
        return None
    wal = os.stat(path + "-wal") if os.path.exists(path + "-wal") else None
    stats = [os.stat(path)] + ([wal] if wal and wal.st_size else [])
    return tuple((s.st_mtime_ns, s.st_size) for s in stats)


def passage_matrix(conn: Connection, model: str = MODEL_NAME) -> PassageMatrix | None:
    """The passage matrix of the connection's database file, loaded once per (file, mtime)."""
    path = database_file(conn)
    key = file_key(path)
    if key is None:  # in-memory database: nothing to key on
        return load_matrix(conn, model)
    with _MATRIX_LOCK:
        cached = _MATRICES.get(f"{path}:{model}")
        if cached and cached[0] == key:
            return cached[1]
        matrix = load_matrix(conn, model)
        _MATRICES[f"{path}:{model}"] = (key, matrix)
        return matrix
