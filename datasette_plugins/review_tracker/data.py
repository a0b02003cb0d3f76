"""What the pages show, read from a tracker database (synchronous: run with `Database.execute_fn`).

Rows come from the views `tracker.publish` defines (recommendation_progress and the three link views,
used through their definitions, so an unpublished or older database reads the same), from the
tables, and from library functions: which recommendation a key names (`tracker.recommendations`),
which status overrides apply (`tracker.status`).
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import sqlite_utils

from tracker.publish import VIEWS
from tracker.recommendations import NotFoundError, list_recommendations
from tracker.search import Connection, find_recommendation, rows, table_exists
from tracker.status import METHOD_RANK, STATUSES, all_status_overrides

NO_STATUS = "no_status"
# The view holding each task's links, and the column that says what the passage says.
LINK_VIEWS = {"position": ("government_positions", "position"), "stance": ("stakeholder_positions", "stance"), "signal": ("evidence_timeline", "signal")}


def view(name: str) -> str:
    """A published view as a subquery, from its one definition in `tracker.publish.VIEWS`."""
    return f"({VIEWS[name]}) as {name}"


def loads(value: Any, default: Any) -> Any:
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


def database(conn: Connection) -> sqlite_utils.Database:
    return sqlite_utils.Database(conn, recursive_triggers=False, execute_plugins=False)


def filter_recommendation(conn: Connection, ref: str) -> dict | None:
    """The recommendation a search filter names, or None (no filter, or nothing answers to it)."""
    if not ref:
        return None
    try:
        return find_recommendation(conn, ref)
    except NotFoundError:
        return None


def search_options(conn: Connection) -> dict:
    """The choices of the search form's filters."""
    if not table_exists(conn, "documents"):
        return {"kinds": [], "publishers": [], "recommendations": []}
    return {
        "kinds": [r[0] for r in conn.execute("select distinct kind from documents where kind is not null order by kind")],
        "publishers": [r[0] for r in conn.execute("select distinct publisher from documents where publisher is not null order by publisher")],
        "recommendations": rows(conn, f"select id, label, title from {view('recommendation_progress')} order by review, number is null, number, label"),
    }


def chapter_order(conn: Connection, chapters_seen: list[str]) -> list[str]:
    """Chapters in the order the reviews declare them; chapters no review declares come last."""
    declared: list[str] = []
    for row in conn.execute("select chapters from reviews order by published, slug"):
        declared += [c for c in loads(row[0], []) if isinstance(c, str) and c not in declared]
    return [c for c in declared if c in chapters_seen] + [c for c in chapters_seen if c not in declared]


def dashboard_data(conn: Connection) -> dict:
    """Every top-level recommendation by chapter with its status, counts per status and their history."""
    recs = rows(
        conn,
        f"""select id, review, label, number, number_verified, title, chapter, text, status, since, disagreement, as_of
        from {view("recommendation_progress")} order by review, number is null, number, id""",
    )
    by_chapter: dict[str, list[dict]] = {}
    for rec in recs:
        rec["status_key"] = rec["status"] or NO_STATUS
        by_chapter.setdefault(rec["chapter"] or "(no chapter)", []).append(rec)
    chapters = [{"chapter": c, "recommendations": by_chapter[c]} for c in chapter_order(conn, list(by_chapter))]
    counts = {s: 0 for s in STATUSES}
    for rec in recs:
        counts[rec["status_key"]] = counts.get(rec["status_key"], 0) + 1
    if not counts.get(NO_STATUS):
        counts.pop(NO_STATUS, None)
    as_of = max((r["as_of"] for r in recs if r["as_of"]), default=None)
    return {
        "reviews": rows(conn, "select slug, title, url, published from reviews order by published, slug"),
        "total": len(recs),
        "counts": counts,
        "chapters": chapters,
        "timeline": timeline(conn, recs, as_of),
        "as_of": as_of,
    }


def timeline(conn: Connection, recs: list[dict], as_of: str | None) -> list[dict]:
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
    published = [day for r in conn.execute("select published from reviews") if (day := parse_day(r[0]))]
    days = [parse_day(h["date"]) or date.min for h in history]  # every date parses (filtered above)
    points = [{"date": min(published + days[:1]).isoformat(), "counts": count_states(state)}]
    for h, day in zip(history, days):
        state[h["recommendation_id"]] = h["to_status"]
        if points[-1]["date"] == day.isoformat():
            points[-1]["counts"] = count_states(state)
        else:
            points.append({"date": day.isoformat(), "counts": count_states(state)})
    end = max(parse_day(as_of) or date.min, days[-1])
    if end.isoformat() != points[-1]["date"]:
        points.append({"date": end.isoformat(), "counts": points[-1]["counts"]})
    return points


def count_states(state: dict[int, str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for value in state.values():
        counts[value] = counts.get(value, 0) + 1
    return counts


def link_rows(conn: Connection, ids: list[int], task: str) -> list[dict]:
    """The links of one task to these recommendations, from the task's published view, oldest first."""
    name, reading = LINK_VIEWS[task]
    found = rows(
        conn,
        f"select * from {view(name)} where recommendation_id in ({','.join('?' * len(ids))}) order by date, publisher, link_id",
        ids,
    )
    return [
        {"link_id": row["link_id"], "recommendation_id": row["recommendation_id"], "passage_id": row["passage_id"], "label": row[reading],
         "method": row["method"], "score": row["score"], "quote": row["quote"], "target_date": row["target_date"], "cues": loads(row["cues"], []),
         "document_id": row["document_id"], "document": row["document"], "publisher": row["publisher"], "date": row["date"], "url": row["url"],
         "kind": row["document_kind"], "assessor": row["assessor"], "decision": row["decision"]}
        for row in found
    ]  # fmt: skip


def overrides_of(conn: Connection, top_id: int, ids: list[int]) -> list[dict]:
    """Human decisions on a recommendation, oldest first: statuses set by hand (matched by the status
    code's own rule) and decisions on its links."""
    statuses = [o for o in all_status_overrides(database(conn)) if o.pop("recommendation_id") == top_id]
    links = rows(conn, f"select * from overrides where link_id in (select id from links where recommendation_id in ({','.join('?' * len(ids))}))", ids)
    return sorted(statuses + links, key=lambda o: o["id"])


def first(found: list[dict]) -> dict | None:
    return found[0] if found else None


def recommendation_data(conn: Connection, key: str) -> dict | None:
    """Everything the recommendation page shows, or None when `key` names no recommendation."""
    rec = filter_recommendation(conn, key)
    if rec is None:
        return None
    for column in ("addressees", "sources", "locations"):  # JSON lists
        rec[column] = loads(rec.get(column), [])
    top_id = rec["parent_id"] or rec["id"]
    parts = rows(conn, "select id, label, part, text from recommendations where parent_id = ? order by part, id", [top_id])
    ids = [top_id] + [p["id"] for p in parts]
    status = first(rows(conn, "select * from statuses where recommendation_id = ?", [top_id]))
    if status:
        status.pop("evidence", None)
    positions = link_rows(conn, ids, "position")
    positions.sort(key=lambda p: (p["decision"] != "reject", p["decision"] == "confirm", METHOD_RANK.get(p["method"], 0), p["date"] or ""), reverse=True)
    order = [r["id"] for r in list_recommendations(database(conn))]
    where = order.index(top_id) if top_id in order else None
    return {
        "recommendation": rec,
        "review": first(rows(conn, "select slug, title, url from reviews where slug = ?", [rec["review"]])),
        "parent": first(rows(conn, "select id, label, title from recommendations where id = ?", [rec["parent_id"]])),
        "parts": parts,
        "status": status,
        "status_description": STATUSES.get(status["status"]) if status else None,
        "government_position": positions[0] if positions else None,
        "government_positions": positions,
        "stakeholder_positions": link_rows(conn, ids, "stance"),
        "evidence": link_rows(conn, ids, "signal"),
        "history": rows(
            conn,
            """select h.*, d.title as document, d.publisher, d.url from status_history h left join documents d on d.id = h.document_id
            where h.recommendation_id = ? order by h.date, h.id""",
            [top_id],
        ),
        "overrides": overrides_of(conn, top_id, ids),
        "previous": order[where - 1] if where else None,
        "next": order[where + 1] if where is not None and where + 1 < len(order) else None,
    }
