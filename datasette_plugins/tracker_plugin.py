"""Datasette plugin for review-tracker: hybrid search, a progress dashboard and a page per recommendation.

Routes (HTML, and JSON with a `.json` suffix):

* `/-/tracker/search?q=&mode=hybrid|fts|vector&kind=&publisher=&since=&until=&recommendation=`:
  FTS5 BM25 (top 50) and cosine similarity of all-MiniLM-L6-v2 embeddings (top 50), fused by
  reciprocal rank (k=60). Without embeddings, or when the model cannot load, full-text only (said so).
* `/-/tracker/dashboard`: every top-level recommendation by chapter, coloured by status, counts per
  status and a chart of the counts over time (server-side SVG).
* `/-/tracker/recommendation/<id>`: everything known about one recommendation, with sources.

Every page takes `?db=NAME`; the default is the first database that is not Datasette's own. The
search core (`search`, `PassageMatrix`, `rrf`) is synchronous and takes a SQLite connection, so the
benchmark (`bench/search.py`) runs exactly the code the page runs.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

import numpy as np
from datasette import hookimpl
from datasette.utils import escape_fts
from datasette.utils.asgi import NotFound, Response
from datasette.utils.sqlite import sqlite3
from jinja2 import FileSystemLoader
from markupsafe import Markup, escape

from tracker.embed import MODEL_NAME
from tracker.publish import STATUS_ORDER
from tracker.status import STATUSES

TEMPLATES = Path(__file__).resolve().parent / "templates"
RRF_K = 60
DEPTH = 50  # candidates taken from each ranking before fusion
LIMIT = 20  # hits shown
MODES = ("hybrid", "fts", "vector")
METHOD_RANK = {"response_layout": 3, "explicit": 2, "semantic": 1}

# (background, text) colours per value, shared by the badges, the dashboard and the chart.
NO_STATUS = "no_status"
COLOURS: dict[str, tuple[str, str]] = {
    "awaiting_response": ("#e5e7eb", "#374151"),
    "under_consideration": ("#fde68a", "#78350f"),
    "not_accepted": ("#fca5a5", "#7f1d1d"),
    "accepted_no_progress": ("#a5f3fc", "#164e63"),
    "planned": ("#c7d2fe", "#312e81"),
    "in_progress": ("#86efac", "#14532d"),
    "implemented": ("#15803d", "#ffffff"),
    "stalled": ("#fdba74", "#7c2d12"),
    "reversed": ("#991b1b", "#ffffff"),
    NO_STATUS: ("#f3f4f6", "#6b7280"),
    # stance
    "support": ("#bbf7d0", "#14532d"),
    "concern": ("#fde68a", "#78350f"),
    "oppose": ("#fca5a5", "#7f1d1d"),
    "neutral": ("#e5e7eb", "#374151"),
    # position
    "accepted": ("#86efac", "#14532d"),
    "accepted_in_principle": ("#bbf7d0", "#14532d"),
    "partially_accepted": ("#d9f99d", "#365314"),
    "further_work": ("#fde68a", "#78350f"),
    "noted": ("#e5e7eb", "#374151"),
    "mention": ("#f3f4f6", "#6b7280"),
    # other small vocabularies
    "government": ("#dbeafe", "#1e3a8a"),
    "independent": ("#ede9fe", "#4c1d95"),
    "confirm": ("#bbf7d0", "#14532d"),
    "reject": ("#fecaca", "#7f1d1d"),
}
# Stacking order of the chart: progress at the bottom, items still waiting on top.
CHART_ORDER = ("implemented", "in_progress", "planned", "accepted_no_progress", "under_consideration", "not_accepted", "stalled", "reversed", "awaiting_response", NO_STATUS)
BADGE_COLUMNS = {"status", "from_status", "to_status", "stance", "signal", "position", "decision", "assessor"}
URL_COLUMNS = {"url", "source", "source_url"}


def status_definitions() -> dict[str, str]:
    return dict(STATUSES)


# ---------------------------------------------------------------------------------------------------
# Small helpers


def rows(conn, sql: str, params: dict | Sequence | None = None) -> list[dict]:
    """Rows as dicts, whatever the connection's row_factory."""
    cursor = conn.execute(sql, params or {})
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def table_exists(conn, name: str) -> bool:
    return conn.execute("select 1 from sqlite_master where name = ? and type in ('table', 'view')", [name]).fetchone() is not None


def humanise(value: str) -> str:
    return value.replace("_", " ")


def badge(value, title: str | None = None) -> Markup:
    """A coloured pill for a status, stance, position or signal value; HTML-escaped."""
    if value is None or value == "":
        return Markup("")
    text = str(value)
    background, colour = COLOURS.get(text, ("#e5e7eb", "#374151"))
    title_attr = Markup(' title="{}"').format(title) if title else ""
    return Markup('<span class="tr-badge" style="background:{};color:{}"{}>{}</span>').format(background, colour, title_attr, humanise(text))


def safe_url(url) -> str | None:
    if isinstance(url, str) and url.strip().lower().startswith(("http://", "https://")):
        return url.strip()
    return None


def url_link(url, text: str | None = None) -> Markup:
    href = safe_url(url)
    if not href:
        return escape(url or "")
    shown = text or (href if len(href) <= 70 else href[:67] + "...")
    return Markup('<a href="{}" rel="noopener nofollow" class="tr-source">{}</a>').format(href, shown)


def highlighted(text: str | None) -> Markup:
    """Escape text, then turn the FTS highlight markers (\\x02 ... \\x03) into <mark>."""
    escaped = str(escape(text or ""))
    return Markup(escaped.replace("\x02", "<mark>").replace("\x03", "</mark>"))


def plain(text: str | None) -> str:
    return (text or "").replace("\x02", "").replace("\x03", "")


def loads(value, default):
    try:
        return json.loads(value) if value else default
    except (TypeError, ValueError):
        return default


def parse_day(value: str | None) -> date | None:
    """2023, 2023-04 or 2023-04-04 as a date (first day of the period)."""
    if not value:
        return None
    parts = str(value)[:10].split("-")
    try:
        numbers = [int(p) for p in parts] + [1, 1]
        return date(numbers[0], numbers[1] or 1, numbers[2] or 1)
    except (ValueError, IndexError):
        return None


# ---------------------------------------------------------------------------------------------------
# Search core (synchronous; used by the page and by bench/search.py)


@dataclass
class Filters:
    kind: str | None = None
    publisher: str | None = None
    since: str | None = None
    until: str | None = None
    recommendation: int | None = None  # a recommendation id (see resolve_recommendation)

    def active(self) -> bool:
        return any(v not in (None, "") for v in self.__dict__.values())

    def document_clause(self) -> tuple[str, dict]:
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

    def clause(self) -> tuple[str, dict]:
        """SQL conditions on passages `p` and documents `d` (each starting with ' and ')."""
        where, params = self.document_clause()
        if self.recommendation is not None:
            where += f" and p.id in ({LINKED_PASSAGES})"
            params["f_rec"] = self.recommendation
        return where, params


LINKED_PASSAGES = """select l.passage_id from links l join recommendations r on r.id = l.recommendation_id where :f_rec in (r.id, r.parent_id)
    union select m.passage_id from mentions m join recommendations r on r.id = m.recommendation_id where :f_rec in (r.id, r.parent_id)"""


@dataclass
class PassageMatrix:
    """Unit vectors of the passages (one row per passage id) and their document ids, held in memory."""

    ids: np.ndarray
    matrix: np.ndarray
    document_ids: np.ndarray | None = None
    model: str = MODEL_NAME

    def __len__(self) -> int:
        return len(self.ids)

    def ranking(self, query: np.ndarray, depth: int = DEPTH, mask: np.ndarray | None = None) -> list[tuple[int, float]]:
        """The `depth` most similar passages as (passage id, cosine), best first; only rows where
        `mask` is true when a mask is given."""
        if len(self.ids) == 0:
            return []
        # einsum, not BLAS gemv: single-threaded and faster here (OpenBLAS threads contend on 2 busy cores)
        scores = np.einsum("ij,j->i", self.matrix, np.asarray(query, dtype=np.float32))
        if mask is not None:
            scores = np.where(mask, scores, -np.inf)
        k = min(depth, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(self.ids[i]), float(scores[i])) for i in top if np.isfinite(scores[i])]

    def mask(self, conn, filters: Filters) -> np.ndarray | None:
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


def load_matrix(conn, model: str = MODEL_NAME) -> PassageMatrix | None:
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


def file_key(path: str | None) -> tuple | None:
    if not path or not os.path.exists(path):
        return None
    stats = [os.stat(path)]
    if os.path.exists(path + "-wal"):
        stats.append(os.stat(path + "-wal"))
    return tuple((s.st_mtime_ns, s.st_size) for s in stats)


def passage_matrix(conn, path: str | None, model: str = MODEL_NAME) -> PassageMatrix | None:
    """The passage matrix of a database file, loaded once per (path, mtime) and kept in memory."""
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


def fts_ranking(conn, q: str, filters: Filters, depth: int = DEPTH) -> tuple[list[tuple[int, float, str]], str]:
    """Passages matching q by BM25 as (id, bm25, highlighted text), and 'all' or 'any' (words matched).

    Every word must match; when that finds nothing, any word may."""
    escaped = escape_fts(q)
    words = escaped.split('" "')
    attempts = [("all", escaped)] + ([("any", " OR ".join(f'"{w.strip(chr(34))}"' for w in words))] if len(words) > 1 else [])
    where, params = filters.clause()
    for match, expression in attempts:
        found = conn.execute(
            f"""select passages_fts.rowid, bm25(passages_fts), highlight(passages_fts, 0, char(2), char(3))
            from passages_fts join passages p on p.id = passages_fts.rowid join documents d on d.id = p.document_id
            where passages_fts match :q {where} order by bm25(passages_fts) limit :depth""",
            {"q": expression, "depth": depth, **params},
        ).fetchall()
        if found:
            return [(row[0], row[1], row[2]) for row in found], match
    return [], "all"


def rrf(rankings: Sequence[Sequence[int]], k: int = RRF_K) -> list[tuple[int, float]]:
    """Reciprocal rank fusion: sum of 1 / (k + rank) over the rankings (rank from 1), best first."""
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))


def hit_details(conn, ids: list[int]) -> dict[int, dict]:
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    details = {
        row["id"]: {**row, "recommendations": []}
        for row in rows(
            conn,
            f"""select p.id, p.document_id, p.seq, p.text, p.heading_path, p.page, d.title as document, d.publisher,
            d.published as date, d.url, d.kind from passages p join documents d on d.id = p.document_id where p.id in ({marks})""",
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


def search(
    conn,
    q: str,
    filters: Filters | None = None,
    mode: str = "hybrid",
    query_vector: np.ndarray | None = None,
    matrix: PassageMatrix | None = None,
    limit: int = LIMIT,
    depth: int = DEPTH,
) -> dict:
    """Search passages. `mode` hybrid fuses FTS and vector rankings; fts or vector use one of them.

    Without `query_vector` or `matrix`, hybrid and vector fall back to full-text ("mode_used").
    Returns {"hits": [...], "mode": requested, "mode_used": ..., "fts_match": "all"|"any", "fts_hits": n,
    "vector_hits": n}.
    """
    filters = filters or Filters()
    vectors = query_vector is not None and matrix is not None and len(matrix) > 0
    used = mode if (mode == "fts" or vectors) else "fts"
    fts: list[tuple[int, float, str]] = []
    match = "all"
    if used in ("hybrid", "fts") and q.strip():
        fts, match = fts_ranking(conn, q, filters, depth)
    vec: list[tuple[int, float]] = []
    if used in ("hybrid", "vector"):
        vec = matrix.ranking(query_vector, depth, matrix.mask(conn, filters))
    rankings = [r for r in ([i for i, _, _ in fts], [i for i, _ in vec]) if r]
    fused = rrf(rankings)[:limit]
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
    return {"hits": hits, "mode": mode, "mode_used": used, "fts_match": match, "fts_hits": len(fts), "vector_hits": len(vec)}


def resolve_recommendation(conn, value: str | None) -> tuple[int | None, dict | None]:
    """A recommendation id, label (R5), register slug or key -> (id, row)."""
    if not value:
        return None, None
    value = str(value).strip()
    found = rows(
        conn,
        """select id, label, title, review, parent_id from recommendations
        where cast(id as text) = :v or label = :v or slug = :v or key = :v
        order by cast(id as text) = :v desc, parent_id is not null, id limit 1""",
        {"v": value},
    )
    return (found[0]["id"], found[0]) if found else (None, None)


# ---------------------------------------------------------------------------------------------------
# Query embeddings: the model is loaded lazily, once per process, off the event loop.

_EMBED_LOCK = threading.Lock()
_MODEL_ERROR: list[str] = []


def embedder():
    from tracker.embed import get_embedder

    return get_embedder()


@lru_cache(maxsize=512)
def embed_query(text: str) -> np.ndarray:
    with _EMBED_LOCK:
        return embedder().encode([text])[0]


async def query_vector(text: str) -> tuple[np.ndarray | None, str | None]:
    """(vector, None) or (None, why not). A model that failed to load is not retried."""
    if _MODEL_ERROR:
        return None, _MODEL_ERROR[0]
    try:
        return await asyncio.get_running_loop().run_in_executor(None, embed_query, text), None
    except (ImportError, OSError, RuntimeError, ValueError, MemoryError) as error:  # missing package, broken install...
        _MODEL_ERROR.append(f"{type(error).__name__}: {error}")
        return None, _MODEL_ERROR[0]


# ---------------------------------------------------------------------------------------------------
# Page data (synchronous, run with Database.execute_fn)


def search_options(conn) -> dict:
    if not table_exists(conn, "documents"):
        return {"kinds": [], "publishers": [], "recommendations": []}
    return {
        "kinds": [r[0] for r in conn.execute("select distinct kind from documents where kind is not null order by kind")],
        "publishers": [r[0] for r in conn.execute("select distinct publisher from documents where publisher is not null order by publisher")],
        "recommendations": rows(
            conn, "select id, label, title from recommendations where parent_id is null order by review, number is null, number, label"
        ),
    }


def chapter_order(conn, chapters_seen: list[str]) -> list[str]:
    declared: list[str] = []
    for row in conn.execute("select chapters from reviews order by published, slug"):
        declared += [c for c in loads(row[0], []) if isinstance(c, str) and c not in declared]
    return [c for c in declared if c in chapters_seen] + [c for c in chapters_seen if c not in declared]


def dashboard_data(conn) -> dict:
    recs = rows(
        conn,
        """select r.id, r.review, r.label, r.number, r.number_verified, r.title, r.chapter, r.text,
        s.status, s.since, s.disagreement, s.as_of
        from recommendations r left join statuses s on s.recommendation_id = r.id
        where r.parent_id is null order by r.review, r.number is null, r.number, r.id""",
    )
    by_chapter: dict[str, list[dict]] = {}
    for rec in recs:
        rec["status_key"] = rec["status"] or NO_STATUS
        by_chapter.setdefault(rec["chapter"] or "(no chapter)", []).append(rec)
    chapters = [{"chapter": c, "recommendations": by_chapter[c]} for c in chapter_order(conn, list(by_chapter))]
    counts = {s: 0 for s in STATUS_ORDER}
    for rec in recs:
        counts[rec["status_key"]] = counts.get(rec["status_key"], 0) + 1
    if not counts.get(NO_STATUS):
        counts.pop(NO_STATUS, None)
    reviews = rows(conn, "select slug, title, url, published from reviews order by published, slug")
    as_of = max((r["as_of"] for r in recs if r["as_of"]), default=None)
    return {
        "reviews": reviews,
        "total": len(recs),
        "counts": counts,
        "chapters": chapters,
        "timeline": timeline(conn, recs, as_of),
        "as_of": as_of,
    }


def timeline(conn, recs: list[dict], as_of: str | None) -> list[dict]:
    """Counts per status over time: a point at the review's publication (each item in the first status
    its history gives it), one after each date of status_history, and one at `as_of`."""
    top = {rec["id"]: rec for rec in recs}
    history = [
        h for h in rows(conn, "select recommendation_id, from_status, to_status, date from status_history order by date, id")
        if h["recommendation_id"] in top and parse_day(h["date"])
    ]  # fmt: skip
    if not history:
        return []
    state: dict[int, str] = {}
    for h in history:
        state.setdefault(h["recommendation_id"], h["from_status"] or "awaiting_response")
    for rid, rec in top.items():
        state.setdefault(rid, rec["status"] or NO_STATUS)
    published = [parse_day(r[0]) for r in conn.execute("select published from reviews") if parse_day(r[0])]
    start = min(published + [parse_day(history[0]["date"])])
    points = [{"date": start.isoformat(), "counts": count_states(state)}]
    for h in history:
        state[h["recommendation_id"]] = h["to_status"]
        day = parse_day(h["date"]).isoformat()
        if points[-1]["date"] == day:
            points[-1]["counts"] = count_states(state)
        else:
            points.append({"date": day, "counts": count_states(state)})
    end = max(parse_day(as_of) or date.min, parse_day(points[-1]["date"]))
    if end.isoformat() != points[-1]["date"]:
        points.append({"date": end.isoformat(), "counts": points[-1]["counts"]})
    return points


def count_states(state: dict[int, str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for value in state.values():
        counts[value] = counts.get(value, 0) + 1
    return counts


def status_chart(points: list[dict], width: int = 760, height: int = 260) -> Markup:
    """A stacked step chart of status counts over time, as inline SVG (no JavaScript)."""
    if len(points) < 2:
        return Markup("")
    left, right, top, bottom = 36, 12, 10, 28
    days = [parse_day(p["date"]).toordinal() for p in points]
    start, end = days[0], max(days[-1], days[0] + 1)
    total = max(sum(p["counts"].values()) for p in points) or 1
    plot_w, plot_h = width - left - right, height - top - bottom

    def x(day: int) -> float:
        return left + (day - start) / (end - start) * plot_w

    def y(count: float) -> float:
        return top + plot_h - count / total * plot_h

    order = CHART_ORDER
    parts = [f'<svg class="tr-chart" viewBox="0 0 {width} {height}" width="100%" role="img" xmlns="http://www.w3.org/2000/svg">']
    parts.append("<title>Number of recommendations in each status over time</title>")
    for tick in sorted({0, total // 2, total}):
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" stroke="#e5e7eb"/>')
        parts.append(f'<text x="{left - 6}" y="{y(tick) + 4:.1f}" text-anchor="end" font-size="11" fill="#6b7280">{tick}</text>')
    for index in range(len(points) - 1):
        x0, x1 = x(days[index]), x(days[index + 1])
        if x1 - x0 <= 0:
            continue
        stacked = 0
        for status in order:
            n = points[index]["counts"].get(status, 0)
            if not n:
                continue
            background = COLOURS.get(status, COLOURS[NO_STATUS])[0]
            label = escape(f"{points[index]['date']} to {points[index + 1]['date']}: {n} {humanise(status)}")
            parts.append(
                f'<rect x="{x0:.1f}" y="{y(stacked + n):.1f}" width="{x1 - x0 + 0.3:.1f}" height="{y(stacked) - y(stacked + n):.1f}" '
                f'fill="{background}"><title>{label}</title></rect>'
            )
            stacked += n
    first_year, last_year = date.fromordinal(start).year, date.fromordinal(end).year
    for year in range(first_year, last_year + 2):
        for month in (1, 7):
            day = date(year, month, 1).toordinal()
            if start <= day <= end:
                label = str(year) if month == 1 else f"Jul {year}"
                parts.append(f'<line x1="{x(day):.1f}" x2="{x(day):.1f}" y1="{top}" y2="{top + plot_h}" stroke="#ffffff" stroke-opacity="0.6"/>')
                parts.append(f'<text x="{x(day):.1f}" y="{height - 8}" text-anchor="middle" font-size="11" fill="#6b7280">{escape(label)}</text>')
    parts.append(f'<line x1="{left}" x2="{width - right}" y1="{top + plot_h}" y2="{top + plot_h}" stroke="#9ca3af"/>')
    parts.append("</svg>")
    return Markup("".join(parts))


def link_rows(conn, ids: list[int], task: str) -> list[dict]:
    marks = ",".join("?" * len(ids))
    found = rows(
        conn,
        f"""select l.id as link_id, l.recommendation_id, l.passage_id, l.label, l.method, l.score, l.quote, l.target_date, l.cues,
        d.id as document_id, d.title as document, d.publisher, d.published as date, d.url, d.kind,
        coalesce(d.assessor, case when d.kind = 'government_response' then 'government' else 'independent' end) as assessor,
        (select o.action from overrides o where o.link_id = l.id and o.action in ('confirm', 'reject') order by o.id desc limit 1) as decision
        from links l join documents d on d.id = l.document_id
        where l.recommendation_id in ({marks}) and l.task = ? order by d.published, d.publisher, l.id""",
        [*ids, task],
    )
    for row in found:
        row["cues"] = loads(row["cues"], [])
    return found


def recommendation_data(conn, key: str) -> dict | None:
    rec_id, _ = resolve_recommendation(conn, key)
    if rec_id is None:
        return None
    rec = rows(conn, "select * from recommendations where id = ?", [rec_id])[0]
    for column, default in (("addressees", []), ("sources", []), ("locations", [])):
        rec[column] = loads(rec.get(column), default)
    top_id = rec["parent_id"] or rec["id"]
    parent = rows(conn, "select id, label, title from recommendations where id = ?", [rec["parent_id"]])[0] if rec["parent_id"] else None
    parts = rows(conn, "select id, label, part, text from recommendations where parent_id = ? order by part, id", [top_id])
    ids = [top_id] + [p["id"] for p in parts]
    status = rows(conn, "select * from statuses where recommendation_id = ?", [top_id]) if table_exists(conn, "statuses") else []
    status = status[0] if status else None
    if status:
        status.pop("evidence", None)
    positions = [p for p in link_rows(conn, ids, "position") if p["label"] != "mention"]
    positions.sort(key=lambda p: (p["decision"] != "reject", p["decision"] == "confirm", METHOD_RANK.get(p["method"], 0), p["date"] or ""), reverse=True)
    history = rows(
        conn,
        """select h.*, d.title as document, d.publisher, d.url from status_history h left join documents d on d.id = h.document_id
        where h.recommendation_id = ? order by h.date, h.id""",
        [top_id],
    )
    top = rows(conn, "select key, slug, label, review from recommendations where id = ?", [top_id])[0]
    overrides = rows(
        conn,
        f"""select o.* from overrides o where (o.action = 'status' and o.review is ? and o.recommendation_key in (?, ?, ?))
        or o.link_id in (select id from links where recommendation_id in ({",".join("?" * len(ids))}))
        order by o.id""",
        [top["review"], top["key"], top["slug"], top["label"], *ids],
    )
    order = [r[0] for r in conn.execute("select id from recommendations where parent_id is null order by review, number is null, number, id")]
    where = order.index(top_id) if top_id in order else None
    review = rows(conn, "select slug, title, url from reviews where slug = ?", [rec["review"]])
    return {
        "recommendation": rec,
        "review": review[0] if review else None,
        "parent": parent,
        "parts": parts,
        "status": status,
        "status_description": status_definitions().get(status["status"]) if status else None,
        "government_position": positions[0] if positions else None,
        "government_positions": positions,
        "stakeholder_positions": link_rows(conn, ids, "stance"),
        "evidence": link_rows(conn, ids, "signal"),
        "history": history,
        "overrides": overrides,
        "previous": order[where - 1] if where else None,
        "next": order[where + 1] if where is not None and where + 1 < len(order) else None,
    }


# ---------------------------------------------------------------------------------------------------
# Views


def pick_database(datasette, request):
    """The database named by ?db=, else the first one that is not Datasette's own."""
    name = request.args.get("db")
    if name:
        if name.startswith("_") or name not in datasette.databases:
            raise NotFound(f"Database not found: {name}")
        return datasette.databases[name]
    for candidate in datasette.databases.values():
        if not candidate.name.startswith("_") and not candidate.is_memory:
            return candidate
    raise NotFound("No tracker database is attached")


async def check_permission(datasette, request, database) -> None:
    await datasette.ensure_permissions(request.actor, [("view-database", database.name), "view-instance"])


def ensure_templates(datasette) -> None:
    """Make datasette_plugins/templates visible to Datasette's Jinja environment (a module plugin's
    templates folder is not found by Datasette itself)."""
    loader = datasette.jinja_env.loader
    loaders = getattr(loader, "loaders", None)
    if loaders is not None and not any(getattr(item, "searchpath", None) == [str(TEMPLATES)] for item in loaders):
        loaders.insert(0, FileSystemLoader(str(TEMPLATES)))


def page_urls(datasette, database, request, current: str | None = None) -> dict:
    query = db_query(request)
    return {
        "current": current,
        "dashboard": datasette.urls.path("/-/tracker/dashboard") + query,
        "search": datasette.urls.path("/-/tracker/search") + query,
        "database": datasette.urls.database(database.name),
    }


async def render(datasette, request, template: str, context: dict) -> Response:
    ensure_templates(datasette)
    html = await datasette.render_template(template, context, request=request)
    return Response.html(html)


def json_response(payload: dict) -> Response:
    return Response.json(payload, default=str)


def db_query(request) -> str:
    """'?db=NAME' when the page was asked for a database by name, so links keep it."""
    name = request.args.get("db")
    return "?" + urllib.parse.urlencode({"db": name}) if name else ""


def rec_url(datasette, rec_id, request=None, fmt: str = "") -> str:
    return datasette.urls.path(f"/-/tracker/recommendation/{rec_id}{fmt}") + (db_query(request) if request else "")


async def search_view(datasette, request):
    database = pick_database(datasette, request)
    await check_permission(datasette, request, database)
    args = request.args
    q = (args.get("q") or "").strip()
    mode = args.get("mode") if args.get("mode") in MODES else "hybrid"
    try:
        limit = max(1, min(100, int(args.get("limit") or LIMIT)))
    except ValueError:
        limit = LIMIT
    raw = {key: (args.get(key) or "").strip() for key in ("kind", "publisher", "since", "until", "recommendation")}
    notes: list[str] = []
    recommendation_id, recommendation = await database.execute_fn(lambda conn: resolve_recommendation(conn, raw["recommendation"]))
    if raw["recommendation"] and recommendation_id is None:
        notes.append(f"No recommendation {raw['recommendation']!r}: that filter is ignored.")
    filters = Filters(raw["kind"] or None, raw["publisher"] or None, raw["since"] or None, raw["until"] or None, recommendation_id)
    matrix = vector = None
    if q and mode != "fts":
        matrix = await database.execute_fn(lambda conn: passage_matrix(conn, database.path))
        if matrix is None:
            notes.append("This database has no passage embeddings (run `tracker embed`): showing full-text results only.")
        else:
            vector, error = await query_vector(q)
            if vector is None:
                notes.append(f"The embedding model could not be loaded ({error}): showing full-text results only.")
    result = {"hits": [], "mode": mode, "mode_used": mode, "fts_match": "all", "fts_hits": 0, "vector_hits": 0}
    if q:
        try:
            result = await database.execute_fn(lambda conn: search(conn, q, filters, mode, vector, matrix, limit))
        except sqlite3.OperationalError as error:
            if "no such table" not in str(error):
                raise
            notes.append("This database has no full-text index yet (run `tracker publish`).")
            if vector is not None:
                result = await database.execute_fn(lambda conn: search(conn, "", filters, "vector", vector, matrix, limit))
    if result["fts_match"] == "any" and result["fts_hits"]:
        notes.append("No passage contains every word: showing passages with any of them.")
    for hit in result["hits"]:
        hit["row_url"] = datasette.urls.row(database.name, "passages", hit["id"])
        hit["document_url"] = datasette.urls.row(database.name, "documents", hit["document_id"])
        for rec in hit["recommendations"]:
            rec["url"] = rec_url(datasette, rec["id"], request)
    payload = {
        "database": database.name,
        "q": q,
        "filters": {**raw, "recommendation_id": recommendation_id},
        **result,
        "notes": notes,
        "rrf_k": RRF_K,
        "depth": DEPTH,
    }
    if request.url_vars.get("format"):
        for hit in payload["hits"]:
            hit["text"] = plain(hit["text"])
            hit.pop("highlight", None)
        return json_response(payload)
    for hit in payload["hits"]:
        hit["html"] = highlighted(hit["highlight"]) if hit.get("highlight") else escape(hit["text"])
    options = await database.execute_fn(search_options)
    return await render(
        datasette,
        request,
        "tracker_search.html",
        {
            **payload,
            "options": options,
            "recommendation": recommendation,
            "page": page_urls(datasette, database, request, 'search'),
            "json_url": datasette.urls.path("/-/tracker/search.json") + ("?" + request.query_string if request.query_string else ""),
            "badge": badge,
            "url_link": url_link,
            "modes": MODES,
        },
    )


async def dashboard_view(datasette, request):
    database = pick_database(datasette, request)
    await check_permission(datasette, request, database)
    data = await database.execute_fn(dashboard_data)
    for chapter in data["chapters"]:
        for rec in chapter["recommendations"]:
            rec["url"] = rec_url(datasette, rec["id"], request)
    if request.url_vars.get("format"):
        return json_response({"database": database.name, **data})
    definitions = status_definitions()
    return await render(
        datasette,
        request,
        "tracker_dashboard.html",
        {
            **data,
            "database": database.name,
            "chart": status_chart(data["timeline"]),
            "chart_order": CHART_ORDER,
            "timeline_statuses": {s for point in data["timeline"] for s, n in point["counts"].items() if n},
            "definitions": definitions,
            "colours": COLOURS,
            "badge": badge,
            "url_link": url_link,
            "humanise": humanise,
            "page": page_urls(datasette, database, request, 'dashboard'),
            "progress_url": datasette.urls.table(database.name, "recommendation_progress"),
            "json_url": datasette.urls.path("/-/tracker/dashboard.json") + db_query(request),
        },
    )


async def recommendation_view(datasette, request):
    database = pick_database(datasette, request)
    await check_permission(datasette, request, database)
    key = request.url_vars["key"]
    data = await database.execute_fn(lambda conn: recommendation_data(conn, key))
    if data is None:
        raise NotFound(f"No recommendation {key}")
    rec = data["recommendation"]
    data["row_url"] = datasette.urls.row(database.name, "recommendations", rec["id"])
    for name in ("government_positions", "stakeholder_positions", "evidence"):
        for item in data[name]:
            item["passage_url"] = datasette.urls.row(database.name, "passages", item["passage_id"]) if item["passage_id"] else None
            item["document_url"] = datasette.urls.row(database.name, "documents", item["document_id"])
    if request.url_vars.get("format"):
        return json_response({"database": database.name, **data})
    nav = {key: rec_url(datasette, data[key], request) if data[key] else None for key in ("previous", "next")}
    return await render(
        datasette,
        request,
        "tracker_recommendation.html",
        {
            **data,
            "database": database.name,
            "nav": nav,
            "rec": rec,
            "status_colour": COLOURS.get(data["status"]["status"] if data["status"] else NO_STATUS, COLOURS[NO_STATUS])[0],
            "colours": COLOURS,
            "badge": badge,
            "url_link": url_link,
            "humanise": humanise,
            "rec_url": lambda rec_id: rec_url(datasette, rec_id, request),
            "document_row": lambda doc_id: datasette.urls.row(database.name, "documents", doc_id),
            "page": page_urls(datasette, database, request),
            "search_url": datasette.urls.path("/-/tracker/search") + "?" + urllib.parse.urlencode({"recommendation": rec["id"], **({"db": request.args["db"]} if request.args.get("db") else {})}),
            "json_url": rec_url(datasette, rec["id"], request, fmt=".json"),
        },
    )


# ---------------------------------------------------------------------------------------------------
# Hooks


@hookimpl
def register_routes():
    return [
        (r"^/-/tracker/search(?P<format>\.json)?$", search_view),
        (r"^/-/tracker/dashboard(?P<format>\.json)?$", dashboard_view),
        (r"^/-/tracker/recommendation/(?P<key>[^/]+?)(?P<format>\.json)?$", recommendation_view),
    ]


@hookimpl
def startup(datasette):
    ensure_templates(datasette)


@hookimpl
def menu_links(datasette):
    return [
        {"href": datasette.urls.path("/-/tracker/dashboard"), "label": "Progress dashboard"},
        {"href": datasette.urls.path("/-/tracker/search"), "label": "Search passages"},
    ]


@hookimpl
def render_cell(value, column, table):
    if isinstance(value, str) and (column in BADGE_COLUMNS or (column == "label" and table == "links")) and value in COLOURS:
        return badge(value)
    if (column in URL_COLUMNS or column.endswith("_url")) and safe_url(value):
        return url_link(value)
    if column == "sources" and table == "recommendations" and isinstance(value, str) and value.startswith("["):
        urls = [u for u in loads(value, []) if isinstance(u, str)]
        if urls:
            return Markup("<br>").join(url_link(u) for u in urls)
    return None


def cosine(blob_a, blob_b):
    """Cosine similarity of two little-endian float32 blobs; NULL when either is missing or sizes differ."""
    if not blob_a or not blob_b or len(blob_a) != len(blob_b) or len(blob_a) % 4:
        return None
    a, b = np.frombuffer(blob_a, "<f4"), np.frombuffer(blob_b, "<f4")
    norms = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(a @ b) / norms if norms else None


def embed_similarity(text, blob):
    """Cosine of the embedding of `text` (model loaded on first use, ~8 s) and a vector blob."""
    if not text or not blob:
        return None
    vector = embed_query(str(text))
    return cosine(np.asarray(vector, "<f4").tobytes(), blob)


@hookimpl
def prepare_connection(conn):
    conn.create_function("tracker_similarity", 2, cosine, deterministic=True)
    conn.create_function("tracker_embed_similarity", 2, embed_similarity, deterministic=True)


__all__ = ["Filters", "PassageMatrix", "load_matrix", "passage_matrix", "rrf", "search"]
