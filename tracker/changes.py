"""What changed: status changes and new evidence in a recent window, and the same as an Atom feed.

A researcher's question is "what happened in the last three, six or twelve months?". The answer is
read from `status_history` (status changes, dated by the evidence that caused them) and from the
published link views (new evidence, dated by its document), so it agrees with the recommendation
pages. Dates are publication dates, not ingest dates: a fresh build does not make everything "new".
"""

from __future__ import annotations

import calendar
import sqlite3
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import date
from typing import Any

import sqlite_utils

from .provenance import WORDING_LABELS, human_date, shown_text
from .publish import VIEWS

WINDOWS = (3, 6, 12)  # months a reader may choose
DEFAULT_WINDOW = 12
ATOM = "http://www.w3.org/2005/Atom"
TASKS = {"signal": ("evidence_timeline", "signal", "New evidence"), "position": ("government_positions", "position", "Government position"),
         "stance": ("stakeholder_positions", "stance", "Stakeholder view")}  # fmt: skip


def months_before(day: date, months: int) -> date:
    """The same day `months` earlier (the last day of a shorter month)."""
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def _conn(db: sqlite_utils.Database | sqlite3.Connection) -> Any:
    return db.conn if isinstance(db, sqlite_utils.Database) else db


def _rows(conn: Any, sql: str, params: list) -> list[dict]:
    cursor = conn.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def status_changes(conn: Any, since: str, until: str, recommendation_id: int | None = None) -> list[dict]:
    """Status changes dated from `since` to `until`, with the document that caused them."""
    where = " and (r.id = ? or r.parent_id = ?)" if recommendation_id else ""
    found = _rows(
        conn,
        f"""select h.id, h.recommendation_id, r.label, r.title, h.from_status, h.to_status, h.date, h.reason, h.link_id,
        d.id as document_id, d.title as document, d.publisher, d.url, d.date_precision, d.format
        from status_history h join recommendations r on r.id = h.recommendation_id left join documents d on d.id = h.document_id
        where h.date >= ? and h.date <= ?{where} order by h.date desc, h.id desc""",
        [since, until] + ([recommendation_id, recommendation_id] if recommendation_id else []),
    )
    return [
        {"kind": "status", "id": f"status-{row['recommendation_id']}-{row['date']}-{row['to_status']}", "date": row["date"],
         "date_precision": row["date_precision"] or "day", "recommendation_id": row["recommendation_id"], "label": row["label"],
         "title": row["title"], "from_status": row["from_status"], "to_status": row["to_status"], "reading": row["to_status"],
         "headline": f"{row['label']}: status {row['from_status'].replace('_', ' ')} → {row['to_status'].replace('_', ' ')}",
         "text": shown_text(row["reason"]), "wording": None, "document": row["document"], "publisher": row["publisher"],
         "url": row["url"], "link_id": row["link_id"], "method": None, "decides": True}
        for row in found
    ]  # fmt: skip


def new_evidence(conn: Any, since: str, until: str, recommendation_id: int | None = None) -> list[dict]:
    """Links from documents published from `since` to `until` (rejected ones left out)."""
    found: list[dict] = []
    for task, (view, reading, kind_name) in TASKS.items():
        where = " and recommendation_id in (select id from recommendations where ? in (id, parent_id))" if recommendation_id else ""
        rows = _rows(
            conn,
            f"""select v.* from ({VIEWS[view]}) v where v.date >= ? and substr(v.date, 1, 10) <= ?
            and coalesce(v.decision, '') != 'reject' and v.document_id is not null{where}""",
            [since, until] + ([recommendation_id] if recommendation_id else []),
        )
        for row in rows:
            found.append(
                {"kind": task, "id": f"link-{row['link_id']}", "date": row["date"], "date_precision": row["date_precision"],
                 "recommendation_id": row["recommendation_id"], "label": row["label"], "title": row["title"], "reading": row[reading],
                 "headline": f"{row['label']}: {kind_name.lower()}, {str(row[reading]).replace('_', ' ')} ({row['publisher'] or row['document']})",
                 "text": shown_text(row["quote"]), "wording": row["wording"], "document": row["document"], "publisher": row["publisher"],
                 "url": row["url"], "link_id": row["link_id"], "method": row["method"], "decides": bool(row["decides"])}
            )  # fmt: skip
    return found


def what_changed(
    db: sqlite_utils.Database | sqlite3.Connection, months: int = DEFAULT_WINDOW, today: date | None = None, recommendation_id: int | None = None
) -> dict:
    """Status changes and new evidence of the last `months` months (to `today`), newest first."""
    conn = _conn(db)
    today = today or date.today()
    since, until = months_before(today, months).isoformat(), today.isoformat()
    if not conn.execute("select 1 from sqlite_master where name = 'status_history'").fetchone():
        return {"since": since, "until": until, "months": months, "entries": []}
    entries = status_changes(conn, since, until, recommendation_id) + new_evidence(conn, since, until, recommendation_id)
    order = {"status": 0, "position": 1, "signal": 2, "stance": 3}
    entries.sort(key=lambda e: (e["date"] or "", -order[e["kind"]]), reverse=True)
    for entry in entries:
        entry["date_shown"] = human_date(entry["date"], entry["date_precision"])
    return {"since": since, "until": until, "months": months, "entries": entries}


def _text(parent: ET.Element, tag: str, text: str | None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
    element.text = text
    return element


def atom_date(iso: str) -> str:
    """An RFC 3339 timestamp for a date of any precision (its first day)."""
    day = iso[:10]
    return {4: f"{day}-01-01", 7: f"{day}-01"}.get(len(day), day) + "T00:00:00Z"


def entry_content(entry: dict) -> str:
    """An entry's text, saying whose words it is."""
    said = f"{WORDING_LABELS[entry['wording']]}: " if entry.get("wording") in WORDING_LABELS else ""
    source = (
        f" Source: {entry['document']}" + (f", {entry['publisher']}" if entry.get("publisher") else "") + f", {entry['date_shown']}."
        if entry.get("document")
        else ""
    )
    return f"{said}{entry['text']}{source}"


def to_atom(changed: dict, title: str, feed_url: str, page_url: Callable[[int], str], updated: str | None = None) -> str:
    """The changes as an Atom 1.0 feed; `page_url(recommendation_id)` is each entry's absolute link."""
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    _text(feed, "title", title)
    _text(feed, "id", feed_url)
    _text(feed, "link", None, rel="self", href=feed_url)
    newest = max((e["date"] for e in changed["entries"] if e["date"]), default=None)
    _text(feed, "updated", atom_date(updated or newest or changed["since"]))
    author = ET.SubElement(feed, f"{{{ATOM}}}author")
    _text(author, "name", "review-tracker")
    for entry in changed["entries"]:
        element = ET.SubElement(feed, f"{{{ATOM}}}entry")
        _text(element, "title", entry["headline"])
        _text(element, "id", f"{feed_url}#{entry['id']}")
        _text(element, "link", None, rel="alternate", href=page_url(entry["recommendation_id"]))
        if entry.get("url"):
            _text(element, "link", None, rel="related", href=entry["url"])
        _text(element, "updated", atom_date(entry["date"] or changed["since"]))
        _text(element, "summary", entry_content(entry))
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, encoding="unicode")
