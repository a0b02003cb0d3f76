"""Full-text top-k over a million passages without ranking every match of a common word.

FTS5's `bm25()` pays twice for a common word: once per query it reads the word's whole posting list
to count the passages holding it (its IDF), and it then costs about a microsecond for every matching
passage it ranks. At a million passages a word found in half of them costs 20-40 ms for the first and
half a second for the second. An index of at most `COMMON` passages is ranked exactly, as before
(BM25 over every match); on a larger one, `top_matches`:

1. estimates each term's document frequency from the rowids of its `PROBE` newest matches (0.1 ms);
2. takes as candidates the newest `CANDIDATES` passages that match every term and pass the filters
   (FTS5 walks a posting list newest first without scoring it: ~40 ns a passage; a filter on the
   passage's document is checked on the newest `CANDIDATES` matches, on all only if too few pass);
3. ranks them by FTS5's BM25 over the terms found in at most `COMMON` passages, rarest first; the
   commoner terms still have to match but add nothing to the score (in FTS5 a term in over half the
   passages adds nothing anyway: its IDF is clamped to 1e-6);
4. when every term is common, ranks them by BM25 as if each term occurred once (FTS5's formula, the
   IDF from the estimated frequency, the passage's length from the index): the shortest first.

So the result is exact when the query matches at most `CANDIDATES` passages and no term is common;
otherwise it is the best of the newest `CANDIDATES` matches, and `bench/fts.py` reports how far its
top 20 is from the exact BM25 top 20.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

COMMON = 100_000  # a term in more passages than this is matched, not ranked (its IDF pass would cost > ~4 ms)
CANDIDATES = 10_000  # passages ranked at most: the newest matches
PROBE = 1_000  # newest matches read to estimate a term's document frequency
K1, B = 1.2, 0.75  # FTS5's bm25 constants
TABLE = "passages_fts"

Ranking = list[tuple[int, float]]  # (passage id, bm25: lower is better), best first


@dataclass
class IndexStats:
    """Rows and mean length in tokens of the FTS5 index, from its averages record."""

    rows: int
    average_length: float
    last_rowid: int


def varints(blob: bytes) -> list[int]:
    """SQLite varints (big-endian, 7 bits a byte, the ninth byte whole), as FTS5 stores its sizes."""
    values, value, length = [], 0, 0
    for byte in blob:
        length += 1
        if length == 9:
            values.append((value << 8) | byte)
            value, length = 0, 0
        elif byte & 0x80:
            value = (value << 7) | (byte & 0x7F)
        else:
            values.append((value << 7) | byte)
            value, length = 0, 0
    return values


def index_stats(conn: Any) -> IndexStats:
    """The averages record (id 1 of `<table>_data`): row count, then total tokens per column."""
    row = conn.execute(f"select block from {TABLE}_data where id = 1").fetchone()
    counts = varints(bytes(row[0])) if row and row[0] else [0]
    last = conn.execute(f"select max(id) from {TABLE}_docsize").fetchone()[0] or 0
    return IndexStats(counts[0], sum(counts[1:]) / max(1, counts[0]), last)


def document_frequency(conn: Any, term: str, stats: IndexStats) -> int:
    """How many passages hold `term`: exact below `PROBE`, else scaled from the rowid span of its
    `PROBE` newest matches (passages are numbered as they are stored)."""
    found, oldest = conn.execute(
        f"select count(*), min(rowid) from (select rowid from {TABLE} where {TABLE} match ? order by rowid desc limit ?)", [term, PROBE]
    ).fetchone()
    if found < PROBE:
        return int(found)
    share = stats.rows / max(1, stats.last_rowid)  # rows per rowid, below 1 when passages were deleted
    return min(stats.rows, round(PROBE * stats.last_rowid / max(1, stats.last_rowid - oldest + 1) * share))


def idf(stats: IndexStats, frequency: int) -> float:
    """FTS5's IDF, clamped as it clamps it."""
    value = math.log((stats.rows - frequency + 0.5) / (frequency + 0.5))
    return value if value > 0 else 1e-6


@dataclass
class MatchQuery:
    """What to match (quoted FTS5 strings, see `tracker.fts_query`: every one, or any) and which
    passages may match: conditions on `f`, the index row (its rowid), and on `p`, the passage."""

    terms: list[str]
    any_term: bool = False
    on_index: str = ""  # each condition starting with ' and '
    on_passage: str = ""
    params: dict = field(default_factory=dict)
    window: int = CANDIDATES  # matches read newest first before `on_passage` filters them; -1: all

    @property
    def expression(self) -> str:
        return (" OR " if self.any_term else " ").join(self.terms)

    def bind(self, **more: Any) -> dict:
        return {**self.params, "full": self.expression, "cap": CANDIDATES, "window": self.window, **more}

    def matches(self, ranked: bool = False) -> str:
        """The passages matching, newest first (with their bm25 when `ranked`); without a passage
        condition FTS5 reads them straight off its index."""
        score = f", bm25({TABLE})" if ranked else ""
        inner = f"select f.rowid{score} from {TABLE} f where f.{TABLE} match :full {self.on_index} order by f.rowid desc"
        if not self.on_passage:
            return inner
        return f"select m.* from ({inner} limit :window) m join passages p on p.id = m.rowid where 1 = 1 {self.on_passage} order by m.rowid desc"


def exact(conn: Any, query: MatchQuery, depth: int) -> Ranking:
    """BM25 over every match: what FTS5's `order by bm25` gives (ties: newest first)."""
    sql = f"select * from ({query.matches(ranked=True)}) order by 2, 1 desc limit :depth"
    return [(row[0], row[1]) for row in conn.execute(sql, query.bind(depth=depth, window=-1))]


def by_terms(conn: Any, query: MatchQuery, ranked: str, depth: int) -> Ranking:
    """The candidates ranked by FTS5's BM25 over the `ranked` expression."""
    sql = f"""with candidates(id) as materialized ({query.matches()} limit :cap)
    select rowid, bm25({TABLE}) from {TABLE} where {TABLE} match :ranked and rowid >= (select min(id) from candidates)
    and +rowid in (select id from candidates) order by 2, 1 desc limit :depth"""
    return [(row[0], row[1]) for row in conn.execute(sql, query.bind(ranked=ranked, depth=depth))]


def token_count(size: bytes) -> int:
    """Tokens in a passage, from its docsize record: one byte a column below 128 tokens."""
    return sum(size) if max(size, default=0) < 0x80 else sum(varints(size))


def by_length(conn: Any, query: MatchQuery, weight: float, stats: IndexStats, depth: int) -> Ranking:
    """The candidates ranked by BM25 with one occurrence of each term (`weight`: the terms' IDFs summed)."""
    sql = f"select c.rowid, s.sz from ({query.matches()} limit :cap) c join {TABLE}_docsize s on s.id = c.rowid"
    found = conn.execute(sql, query.bind()).fetchall()
    ids = np.fromiter((row[0] for row in found), dtype=np.int64, count=len(found))
    lengths = np.fromiter((token_count(bytes(row[1])) for row in found), dtype=np.float64, count=len(found))
    scores = -weight * (K1 + 1) / (1 + K1 * (1 - B + B * lengths / max(stats.average_length, 1.0)))
    best = np.lexsort((-ids, scores))[:depth]  # best score first, then the newest
    return [(int(ids[i]), float(scores[i])) for i in best]


def ranked_candidates(conn: Any, query: MatchQuery, stats: IndexStats, depth: int) -> Ranking:
    """Rank the candidates by the rarer terms, or by length when every term is common."""
    if query.any_term:  # only after every term together found nothing: ranked by all of them
        return by_terms(conn, query, query.expression, depth)
    frequency = {term: document_frequency(conn, term, stats) for term in dict.fromkeys(query.terms)}
    if not all(frequency.values()):
        return []
    ranked = sorted((term for term in frequency if frequency[term] <= COMMON), key=frequency.__getitem__)
    if ranked:
        return by_terms(conn, query, " ".join(ranked), depth)
    return by_length(conn, query, sum(idf(stats, count) for count in frequency.values()), stats, depth)


def top_matches(conn: Any, query: MatchQuery, depth: int) -> Ranking:
    """The `depth` best passages for `query` by BM25: exact on an index of at most `COMMON`
    passages, else the best candidates (see the module's docstring). With a passage condition the
    newest `CANDIDATES` matches are read first; all of them only when that leaves too few."""
    stats = index_stats(conn)
    if stats.rows <= COMMON:
        return exact(conn, query, depth)
    found = ranked_candidates(conn, query, stats, depth)
    if len(found) < depth and query.on_passage and query.window != -1:
        found = ranked_candidates(conn, replace(query, window=-1), stats, depth)
    return found


def highlights(conn: Any, expression: str, ids: list[int], marks: tuple[str, str]) -> dict[int, str]:
    """The text of each hit with the matched words between `marks`: for the hits only (FTS5 looks
    each one up by rowid), never for every match."""
    sql = f"select rowid, highlight({TABLE}, 0, ?, ?) from {TABLE} where {TABLE} match ? and rowid in (select value from json_each(?))"
    return {row[0]: row[1] for row in conn.execute(sql, [*marks, expression, json.dumps(ids)])}
