"""Passage search: words (FTS5 BM25), meaning (cosine of sentence embeddings) or both fused by
reciprocal rank, with filters on the document and on the recommendation a passage is linked to.

It lives in the library, like llm's `Collection.similar`, so that the Datasette page, `tracker
search` and `bench/search.py` run one code path: `search(db, query, mode, filters, limit, embed)`
returns a `SearchResult`. The passage vectors are read once per database file (and re-read when the
file changes) and kept in memory; the query is embedded by `tracker.embed.get_embedder()`, loaded
once per process, unless the caller passes its own `embed` function.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import sqlite_utils

from .embed import MODEL_NAME, get_embedder, top_k
from .errors import TrackerError
from .fts_query import query_terms, run_match
from .recommendations import resolve

RRF_K = 60  # the constant of reciprocal rank fusion (Cormack et al.)
DEPTH = 50  # candidates taken from each ranking before fusion
LIMIT = 20  # hits returned
MODES = ("hybrid", "fts", "vector")
HIGHLIGHT = ("\x02", "\x03")  # FTS highlight markers around matched words in a hit's `highlight`
# What a broken or missing model raises (missing package, corrupt files, no memory): search falls back to words.
MODEL_ERRORS = (ImportError, OSError, RuntimeError, ValueError, MemoryError)

NO_EMBEDDINGS = "This database has no passage embeddings (run `tracker embed`): showing full-text results only."
NO_INDEX = "This database has no full-text index yet (run `tracker publish`)."
ANY_WORD = "No passage contains every word: showing passages with any of them."

Connection = Any  # a DB-API connection: sqlite3 or pysqlite3 (Datasette's)
Embed = Callable[[str], np.ndarray]
WordRanking = list[tuple[int, float, str]]  # (passage id, bm25, highlighted text), best first
MeaningRanking = list[tuple[int, float]]  # (passage id, cosine), best first

# Passages linked to a recommendation or to one of its parts, by a link or an inline mention.
LINKED_PASSAGES = """select l.passage_id from links l join recommendations r on r.id = l.recommendation_id where :f_rec in (r.id, r.parent_id)
    union select m.passage_id from mentions m join recommendations r on r.id = m.recommendation_id where :f_rec in (r.id, r.parent_id)"""


def _connection(db: sqlite_utils.Database | Connection) -> Connection:
    return db.conn if isinstance(db, sqlite_utils.Database) else db


def _database(db: sqlite_utils.Database | Connection) -> sqlite_utils.Database:
    """A sqlite-utils view of a bare connection (Datasette's), changing nothing on it."""
    if isinstance(db, sqlite_utils.Database):
        return db
    return sqlite_utils.Database(db, recursive_triggers=False, execute_plugins=False)


def table_exists(conn: Connection, name: str) -> bool:
    return conn.execute("select 1 from sqlite_master where name = ? and type in ('table', 'view')", [name]).fetchone() is not None


def rows(conn: Connection, sql: str, params: dict | Sequence | None = None) -> list[dict[str, Any]]:
    """Rows as dicts, whatever the connection's row_factory (Datasette's differs from ours)."""
    cursor = conn.execute(sql, params or {})
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def find_recommendation(db: sqlite_utils.Database | Connection, ref: str | int) -> dict[str, Any]:
    """The recommendation a search filter names (row id, slug, label, number or key; parts too), by
    the one rule `tracker.recommendations.resolve` keeps; `NotFoundError` when none does."""
    return resolve(_database(db), ref, by_id=True, parts=True)


@dataclass
class Filters:
    """Which passages a search may return; empty fields do not filter."""

    kind: str | None = None
    publisher: str | None = None
    since: str | None = None
    until: str | None = None
    recommendation: int | None = None  # a recommendation id (see `find_recommendation`)

    def active(self) -> bool:
        return any(v not in (None, "") for v in asdict(self).values())

    def document_clause(self) -> tuple[str, dict[str, Any]]:
        """SQL conditions on documents `d` (each starting with ' and ')."""
        parts, params = [], {}
        if self.kind:
            parts.append("d.kind = :f_kind")
            params["f_kind"] = self.kind
        if self.publisher:
            parts.append("d.publisher = :f_publisher")
            params["f_publisher"] = self.publisher
        if self.since:
            parts.append("d.published >= :f_since")
            params["f_since"] = self.since
        if self.until:  # compare at the precision given: until=2024 keeps 2024-12-31
            parts.append("substr(d.published, 1, length(:f_until)) <= :f_until")
            params["f_until"] = self.until
        return "".join(f" and {part}" for part in parts), params

    def clause(self) -> tuple[str, dict[str, Any]]:
        """SQL conditions on passages `p` and documents `d` (each starting with ' and ')."""
        where, params = self.document_clause()
        if self.recommendation is not None:
            where += f" and p.id in ({LINKED_PASSAGES})"
            params["f_rec"] = self.recommendation
        return where, params


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

    def ranking(self, query: np.ndarray, depth: int = DEPTH, mask: np.ndarray | None = None) -> MeaningRanking:
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


def load_matrix(conn: Connection, model: str = MODEL_NAME) -> PassageMatrix | None:
    """Read every passage vector of `model` from the embeddings table; None when there are none."""
    if not table_exists(conn, "embeddings"):
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


_EMBED_LOCK = threading.Lock()
_BROKEN: list[BaseException] = []  # the error of a model that failed to load: not tried again


@lru_cache(maxsize=512)
def _encode(text: str) -> np.ndarray:
    with _EMBED_LOCK:  # one encode at a time: the model is shared by the server's threads
        return get_embedder().encode([text])[0]


def embed_query(text: str) -> np.ndarray:
    """The query's unit vector from the process's one embedder (loaded on first use)."""
    if _BROKEN:
        raise _BROKEN[0]
    try:
        return _encode(text)
    except MODEL_ERRORS as error:
        _BROKEN.append(error)
        raise


def fts_ranking(conn: Connection, query: str, filters: Filters, depth: int = DEPTH) -> tuple[WordRanking, str]:
    """Passages matching the query by BM25 as (id, bm25, highlighted text), and 'all' or 'any'
    (words matched): every word must match; when that finds nothing, any word may."""
    terms = query_terms(query)  # every word and phrase quoted: user text never reaches FTS5 as syntax
    attempts = [("all", " ".join(terms))] + ([("any", " OR ".join(terms))] if len(terms) > 1 else [])
    where, params = filters.clause()
    for match, expression in attempts:
        found = run_match(
            conn,
            f"""select passages_fts.rowid, bm25(passages_fts), highlight(passages_fts, 0, :open, :close)
            from passages_fts join passages p on p.id = passages_fts.rowid join documents d on d.id = p.document_id
            where passages_fts match :q {where} order by bm25(passages_fts) limit :depth""",
            {"q": expression, "depth": depth, "open": HIGHLIGHT[0], "close": HIGHLIGHT[1], **params},
            query,
        )
        if found:
            return [(row[0], row[1], row[2]) for row in found], match
    return [], "all"


def vector_ranking(conn: Connection, query: str, filters: Filters, embed: Embed | None, depth: int = DEPTH) -> tuple[MeaningRanking | None, str | None]:
    """(ranking, None), or (None, why vectors cannot be used). The query is embedded only once the
    database is known to hold passage vectors, so a database without them never loads the model."""
    matrix = passage_matrix(conn)
    if matrix is None or not len(matrix):
        return None, NO_EMBEDDINGS
    try:
        vector = (embed or embed_query)(query)
    except MODEL_ERRORS as error:
        return None, f"The embedding model could not be loaded ({type(error).__name__}: {error}): showing full-text results only."
    return matrix.ranking(vector, depth, matrix.mask(conn, filters)), None


def rrf(rankings: Sequence[Sequence[int]], k: int = RRF_K) -> list[tuple[int, float]]:
    """Reciprocal rank fusion: sum of 1 / (k + rank) over the rankings (rank from 1), best first;
    ties go to the lower id so that results are stable."""
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))


def hit_details(conn: Connection, ids: list[int]) -> dict[int, dict[str, Any]]:
    """Passage, document and the recommendations each passage is linked to (links before mentions)."""
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    details = {
        row["id"]: {**row, "recommendations": []}
        for row in rows(
            conn,
            f"""select p.id, p.document_id, p.seq, p.text, p.heading_path, p.page, d.title as document, d.publisher,
            d.published as date, d.date_precision, d.format, d.url, d.kind from passages p join documents d on d.id = p.document_id where p.id in ({marks})""",
            ids,
        )
    }
    linked = rows(
        conn,
        f"""select l.passage_id, r.id, r.label, r.title, l.task, l.label as reading, 0 as mention
        from links l join recommendations r on r.id = l.recommendation_id where l.passage_id in ({marks})
        union all
        select m.passage_id, r.id, r.label, r.title, 'mention', null, 1
        from mentions m join recommendations r on r.id = m.recommendation_id where m.passage_id in ({marks})
        order by 7, 2""",
        ids + ids,
    )
    for row in linked:
        hit = details.get(row.pop("passage_id"))
        row.pop("mention")
        if hit is not None and all(r["id"] != row["id"] for r in hit["recommendations"]):
            hit["recommendations"].append(row)
    return details


@dataclass
class SearchResult:
    """Hits best first (passage, document, linked recommendations, and each ranking's rank and
    score), the mode asked for and the mode used, and notes saying why they differ."""

    hits: list[dict[str, Any]]
    mode: str
    mode_used: str
    fts_match: str = "all"  # "any" when no passage held every word
    fts_hits: int = 0
    vector_hits: int = 0
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def ranked_hits(conn: Connection, fused: list[tuple[int, float]], fts: WordRanking, vec: MeaningRanking) -> list[dict[str, Any]]:
    """The fused ids with their details and where each ranking placed them."""
    details = hit_details(conn, [i for i, _ in fused])
    fts_info = {pid: (rank, bm25, text) for rank, (pid, bm25, text) in enumerate(fts, start=1)}
    vec_info = {pid: (rank, sim) for rank, (pid, sim) in enumerate(vec, start=1)}
    hits = []
    for pid, score in fused:
        hit = details.get(pid)
        if hit is None:
            continue
        f, v = fts_info.get(pid), vec_info.get(pid)
        hit.update(
            score=round(score, 6),
            fts_rank=f[0] if f else None,
            bm25=round(f[1], 4) if f else None,
            highlight=f[2] if f else None,
            vector_rank=v[0] if v else None,
            similarity=round(v[1], 4) if v else None,
        )
        hits.append(hit)
    return hits


BROWSE = "browse"  # the mode of a search with filters and no words
NO_RANKS = {"score": None, "fts_rank": None, "bm25": None, "highlight": None, "vector_rank": None, "similarity": None}


def browse(conn: Connection, filters: Filters, limit: int = LIMIT) -> SearchResult:
    """No words, only filters: the passages they allow (say, all linked to a recommendation), newest first."""
    where, params = filters.clause()
    sql = f"select p.id from passages p join documents d on d.id = p.document_id where 1 = 1 {where} order by d.published desc, p.document_id, p.seq limit :n"
    ids = [row[0] for row in conn.execute(sql, {**params, "n": limit})]
    details = hit_details(conn, ids)
    return SearchResult([{**details[i], **NO_RANKS} for i in ids if i in details], BROWSE, BROWSE)


def search(
    db: sqlite_utils.Database | Connection,
    query: str,
    mode: str = "hybrid",
    filters: Filters | None = None,
    limit: int = LIMIT,
    embed: Embed | None = None,
    depth: int = DEPTH,
) -> SearchResult:
    """Search passages. `hybrid` fuses the word and meaning rankings (top `depth` of each) by
    reciprocal rank; `fts` and `vector` use one. Without passage vectors or a working model, hybrid
    and vector fall back to words; without a full-text index, to meaning (each said in `notes`).
    `embed(text) -> unit vector` replaces the default model (tests, other models)."""
    if mode not in MODES:
        raise TrackerError(f"unknown search mode {mode!r}; choose from {', '.join(MODES)}")
    conn = _connection(db)
    filters = filters or Filters()
    if not query.strip():
        return browse(conn, filters, limit) if filters.active() else SearchResult([], mode, mode)
    query_terms(query)  # a SearchError, in every mode, for a query with nothing to search (a lone quote, a NUL)
    notes: list[str] = []
    vec, why_not = (None, None) if mode == "fts" else vector_ranking(conn, query, filters, embed, depth)
    notes += [why_not] if why_not else []
    indexed = table_exists(conn, "passages_fts")
    fts: WordRanking = []
    match = "all"
    if mode != "vector" or vec is None:
        if indexed:
            fts, match = fts_ranking(conn, query, filters, depth)
        else:
            notes.append(NO_INDEX)
    used = "fts" if vec is None else ("hybrid" if mode == "hybrid" and indexed else "vector")
    vec = vec or []
    fused = rrf([ranking for ranking in ([i for i, _, _ in fts], [i for i, _ in vec]) if ranking])[:limit]
    if match == "any" and fts:
        notes.append(ANY_WORD)
    return SearchResult(ranked_hits(conn, fused, fts, vec), mode, used, match, len(fts), len(vec), notes)
