"""Passage search: words (FTS5 BM25), meaning (cosine of sentence embeddings) or both fused by
reciprocal rank, with filters on the document and on the recommendation a passage is linked to.

It lives in the library, like llm's `Collection.similar`, so that the Datasette page, `tracker
search` and `bench/search.py` run one code path: `search(db, query, mode, filters, limit, embed)`
returns a `SearchResult`. Meaning is ranked by `tracker.vector_index.vector_store`: the exact numpy
matrix for a small database, the memory-mapped approximate index beside a large one; the query is
embedded by `tracker.embed.get_embedder()`, loaded once per process, unless the caller passes its own
`embed` function.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import sqlite_utils

from .embed import get_embedder
from .errors import TrackerError
from .filters import LINKED_PASSAGES, Connection, Filters
from .fts_query import query_terms, readable_errors
from .fts_rank import MatchQuery, highlights, top_matches
from .recommendations import resolve
from .vector_index import vector_store
from .vector_matrix import MeaningRanking

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

Embed = Callable[[str], np.ndarray]
WordRanking = list[tuple[int, float, str]]  # (passage id, bm25, highlighted text), best first


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
    (words matched): every word must match; when that finds nothing, any word may. Ranked by
    `tracker.fts_rank.top_matches` (exact up to 100k passages; beyond, the best of the newest
    matches when a word is common); only the hits are highlighted."""
    terms = query_terms(query)  # every word and phrase quoted: user text never reaches FTS5 as syntax
    allowed, params = filters.document_clause()  # the documents allowed, found by their indexes
    words = MatchQuery(terms, on_passage=f" and p.document_id in (select d.id from documents d where 1 = 1 {allowed})" if allowed else "", params=params)
    if filters.recommendation is not None:  # the few passages linked to it, looked up in the index by rowid
        words.on_index = f" and f.rowid in ({LINKED_PASSAGES})"
        params["f_rec"] = filters.recommendation
    for any_term in [False, True][: 1 + (len(terms) > 1)]:
        with readable_errors(query):
            words.any_term = any_term
            ranked = top_matches(conn, words, depth)
            if ranked:
                texts = highlights(conn, words.expression, [pid for pid, _ in ranked], HIGHLIGHT)
                return [(pid, score, texts.get(pid, "")) for pid, score in ranked], "any" if any_term else "all"
    return [], "all"


def vector_ranking(
    conn: Connection, query: str, filters: Filters, embed: Embed | None, depth: int = DEPTH, exact: bool = False
) -> tuple[MeaningRanking | None, str | None]:
    """(ranking, None), or (None, why vectors cannot be used). The query is embedded only once the
    database is known to hold passage vectors, so a database without them never loads the model.
    `exact` ranks by the numpy matrix even where an approximate index exists (the reference)."""
    store = vector_store(conn, exact)
    if store is None or not len(store):
        return None, NO_EMBEDDINGS
    try:
        vector = (embed or embed_query)(query)
    except MODEL_ERRORS as error:
        return None, f"The embedding model could not be loaded ({type(error).__name__}: {error}): showing full-text results only."
    return store.nearest(conn, vector, filters, depth), None


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
    exact: bool = False,
) -> SearchResult:
    """Search passages. `hybrid` fuses the word and meaning rankings (top `depth` of each) by
    reciprocal rank; `fts` and `vector` use one. Without passage vectors or a working model, hybrid
    and vector fall back to words; without a full-text index, to meaning (each said in `notes`).
    `embed(text) -> unit vector` replaces the default model (tests, other models); `exact` skips the
    approximate index (benchmarks and tests compare the two)."""
    if mode not in MODES:
        raise TrackerError(f"unknown search mode {mode!r}; choose from {', '.join(MODES)}")
    conn = _connection(db)
    filters = filters or Filters()
    if not query.strip():
        return browse(conn, filters, limit) if filters.active() else SearchResult([], mode, mode)
    query_terms(query)  # a SearchError, in every mode, for a query with nothing to search (a lone quote, a NUL)
    notes: list[str] = []
    vec, why_not = (None, None) if mode == "fts" else vector_ranking(conn, query, filters, embed, depth, exact)
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
