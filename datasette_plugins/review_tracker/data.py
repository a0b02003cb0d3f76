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

from tracker.provenance import human_date, shown_text
from tracker.publish import VIEWS
from tracker.recommendations import NotFoundError
from tracker.search import Connection, find_recommendation, rows, table_exists
from tracker.status import NO_POSITION, POSITIONS, STATUSES

NO_STATUS = "no_status"
NO_POSITION_FOUND = "none_found"  # the position key of a recommendation with no recorded position
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


def prepared(rec: dict) -> dict:
    """A recommendation_progress row with what the dashboard shows: keys for status and position,
    dates in their precision, addressees as a list, the reason without register tags."""
    rec["status_key"] = rec["status"] or NO_STATUS
    rec["position_key"] = rec["position"] or NO_POSITION_FOUND
    rec["addressees"] = [a for a in loads(rec.get("addressees"), []) if isinstance(a, str)]
    rec["since_shown"] = human_date(rec["since"], rec["since_precision"], undated="")
    rec["latest_shown"] = human_date(rec["latest_evidence"], rec["latest_evidence_precision"], undated="")
    rec["reason"] = shown_text(rec["reason"])
    rec["short_title"] = rec["title"] or shown_text(rec["text"])[:60]
    return rec


def matches(rec: dict, chosen: dict[str, str], skip: str | None = None) -> bool:
    """Whether a recommendation passes every chosen dashboard filter but `skip`."""
    tests = {
        "chapter": lambda value: (rec["chapter"] or "") == value,
        "addressee": lambda value: value in rec["addressees"],
        "position": lambda value: rec["position_key"] == value,
        "status": lambda value: rec["status_key"] == value,
    }
    return all(test(chosen[key]) for key, test in tests.items() if key != skip and chosen.get(key))


def counted(recs: list[dict], key: str, order: list[str]) -> dict[str, int]:
    """Counts of `key` in `recs`, every value of `order` listed (zeros included), others after."""
    counts = {value: 0 for value in order}
    for rec in recs:
        counts[rec[key]] = counts.get(rec[key], 0) + 1
    return counts


def collected(conn: Connection) -> dict:
    """When evidence was last collected: the newest document's date (not the review) and the
    latest ingest, so a reader sees how fresh the statuses can be."""
    if not table_exists(conn, "documents"):
        return {}
    newest = first(
        rows(
            conn,
            "select published, date_precision, title from documents where kind != 'review' and published is not null order by published desc, id desc limit 1",
        )
    )
    ingested = conn.execute("select max(ingested_at) from documents").fetchone()[0]
    return {
        "newest_document": newest["title"] if newest else None,
        "newest_date": newest["published"] if newest else None,
        "newest_shown": human_date(newest["published"], newest["date_precision"]) if newest else None,
        "last_ingested": (ingested or "")[:10] or None,
    }


def dashboard_data(conn: Connection, chosen: dict[str, str] | None = None) -> dict:
    """Top-level recommendations by chapter with status and position, narrowed by the `chosen`
    filters (chapter, addressee, position, status); counts per status and per position as facets
    (each over the other filters); the status history chart; when evidence was last collected."""
    chosen = {key: value for key, value in (chosen or {}).items() if value}
    recs = [prepared(rec) for rec in rows(conn, f"select * from {view('recommendation_progress')} order by review, number is null, number, id")]
    shown = [rec for rec in recs if matches(rec, chosen)]
    by_chapter: dict[str, list[dict]] = {}
    for rec in shown:
        by_chapter.setdefault(rec["chapter"] or "(no chapter)", []).append(rec)
    chapters_seen = list(dict.fromkeys(rec["chapter"] or "(no chapter)" for rec in recs))
    counts = counted([r for r in recs if matches(r, chosen, "status")], "status_key", list(STATUSES))
    if not counts.get(NO_STATUS):
        counts.pop(NO_STATUS, None)
    as_of = max((r["as_of"] for r in recs if r["as_of"]), default=None)
    return {
        "reviews": rows(conn, "select slug, title, url, published from reviews order by published, slug"),
        "total": len(recs),
        "shown": len(shown),
        "chosen": chosen,
        "counts": counts,
        "position_counts": counted([r for r in recs if matches(r, chosen, "position")], "position_key", [*POSITIONS, NO_POSITION_FOUND]),
        "options": {
            "chapter": chapter_order(conn, chapters_seen),
            "addressee": sorted({a for rec in recs for a in rec["addressees"]}, key=str.lower),
            "position": [*POSITIONS, NO_POSITION_FOUND],
            "status": list(STATUSES),
        },
        "chapters": [{"chapter": c, "recommendations": by_chapter[c]} for c in chapter_order(conn, list(by_chapter))],
        "recommendations": shown,
        "timeline": timeline(conn, recs, as_of),
        "as_of": as_of,
        "collected": collected(conn),
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
        state.setdefault(h["recommendation_id"], h["from_status"] or NO_POSITION)
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


def first(found: list[dict]) -> dict | None:
    return found[0] if found else None
