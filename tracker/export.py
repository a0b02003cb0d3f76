"""Progress reports for people and spreadsheets: Markdown with citations, CSV, JSON, and the evidence
behind them one row per item (`evidence_rows`), as the pages offer it for download."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable

import sqlite_utils

from .provenance import QUOTE, WORDING_LABELS, human_date, location, shown_text
from .publish import VIEWS
from .register import REGISTER_METHOD
from .status import STATUSES, Status, derive_statuses, status_counts


def status_rows(db: sqlite_utils.Database, statuses: list[Status]) -> list[dict]:
    """One row per status for a table: the label, title and status with its reason and deciding quote."""
    recs = {row["id"]: row for row in db.query("select id, label, number, number_verified, title, chapter, text from recommendations")}
    return [
        {
            "label": recs[status.recommendation_id]["label"],
            "number_verified": bool(recs[status.recommendation_id]["number_verified"]),
            "title": recs[status.recommendation_id]["title"] or recs[status.recommendation_id]["text"][:60],
            "chapter": recs[status.recommendation_id]["chapter"],
            "status": status.status,
            "since": status.since,
            "confidence": status.confidence,
            "disagreement": status.disagreement,
            "reason": status.reason,
            "quote": status.deciding.quote if status.deciding else None,
            "source": status.deciding.url if status.deciding else None,
        }
        for status in statuses
    ]


def progress_rows(db: sqlite_utils.Database) -> list[dict]:
    recs = {row["id"]: row for row in db.query("select * from recommendations where parent_id is null")}
    rows = []
    for status in derive_statuses(db):
        rec = recs[status.recommendation_id]
        rows.append(
            {
                "label": rec["label"], "number": rec["number"], "number_verified": bool(rec["number_verified"]),
                "slug": rec["slug"], "title": rec["title"], "chapter": rec["chapter"], "text": rec["text"],
                "status": status.status, "since": status.since, "confidence": status.confidence, "reason": status.reason,
                "position": status.position, "government_view": status.government_view,
                "independent_view": status.independent_view, "disagreement": status.disagreement,
                "evidence": [
                    {"date": e.date, "date_precision": e.date_precision, "publisher": e.publisher, "title": e.document_title, "url": e.url,
                     "task": e.task, "label": e.label, "method": e.method, "link_id": e.link_id, "quote": e.quote, "wording": e.wording}
                    for e in status.evidence
                ],
                "sources": json.loads(rec["sources"] or "[]"), "origin": rec["origin"],
            }
        )  # fmt: skip
    return rows


def rows_csv(rows: list[dict], columns: list[str]) -> str:
    """`rows` as CSV with a header of `columns` (other keys left out)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def to_csv(rows: list[dict]) -> str:
    return rows_csv(rows, [c for c in rows[0] if c not in ("evidence", "sources")] if rows else ["label"])


def to_markdown(db: sqlite_utils.Database, rows: list[dict]) -> str:
    """One section per recommendation: status, reason, then every piece of evidence with its citation."""
    review = db.execute("select title, published, url from reviews limit 1").fetchone()
    counts = status_counts(derive_statuses(db))
    lines = [f"# Progress report: {review[0] if review else 'review'}", ""]
    if review:
        lines += [f"Review published {review[1]} ({review[2]}).", ""]
    lines += ["| status | meaning | count |", "|---|---|---|"]
    lines += [f"| {name} | {meaning} | {counts.get(name, 0)} |" for name, meaning in STATUSES.items()]
    chapter = None
    for row in rows:
        if row["chapter"] != chapter:
            chapter = row["chapter"]
            lines += ["", f"## {chapter or 'No chapter'}"]
        number = f"Recommendation {row['number']}" if row["number_verified"] else f"{row['slug']} (number not verified)"
        said = "Register summary (the tracker's words)" if row["origin"] != "parsed" and row["origin"] != "reconciled" else "Official text"
        since = f"since {human_date(row['since'])}" if row["since"] else "no change of status yet"
        position = (row["position"] or "none found").replace("_", " ")
        status = f"**Status: {row['status']}** ({since}, confidence {row['confidence']}); government position: {position}. {row['reason']}"
        lines += ["", f"### {number}: {row['title'] or ''}".rstrip(": "), "", f"{said}: {shown_text(row['text'])}", "", status]
        if row["disagreement"]:
            lines += ["", f"Assessors disagree: government {row['government_view']}; independent {row['independent_view']}."]
        if row["evidence"]:
            lines += ["", "Evidence:"]
            for item in row["evidence"]:
                text = shown_text(item["quote"])
                text = text if len(text) <= 300 else text[:297] + "..."
                said = f'quote: "{text}"' if item["wording"] == QUOTE else f"tracker summary: {text}"
                lines.append(f"- {human_date(item['date'], item['date_precision'])}, {item['publisher'] or item['title']}: {item['task']} "
                             f"**{item['label']}** ({item['method']}, {item['link_id']}); {said} [{item['title']}]({item['url'] or ''})")  # fmt: skip
        if row["sources"]:
            lines += ["", "Register sources: " + ", ".join(row["sources"])]
    return "\n".join(lines) + "\n"


# One row per piece of evidence, for a researcher's spreadsheet: which recommendation, when (with the
# date's precision), who, where from, what it says and whose words those are, and how the tracker
# linked it (method, score, a person's decision, whether it can decide a status).
EVIDENCE_TASKS = (("position", "government_positions", "position"), ("stance", "stakeholder_positions", "stance"), ("signal", "evidence_timeline", "signal"))
EVIDENCE_COLUMNS = [
    "recommendation", "recommendation_title", "recommendation_url", "date", "date_precision", "evidence", "reading",
    "document_kind", "publisher", "document", "source_url", "link_method", "probability", "score", "checked_by_person",
    "decides_status", "text_is", "text", "location", "link_id",
]  # fmt: skip


def evidence_rows(db: sqlite_utils.Database, recommendation_id: int | None = None, page_url: Callable[[int], str] | None = None) -> list[dict]:
    """Every linked passage and recorded position (rejected links included, marked), oldest first;
    `recommendation_id` narrows to one recommendation and its parts; `page_url(id)` gives each row
    the recommendation page's address."""
    found = []
    for task, view, reading in EVIDENCE_TASKS:
        where, params = (
            (" where v.recommendation_id in (select id from recommendations where ? in (id, parent_id))", [recommendation_id])
            if recommendation_id
            else ("", [])
        )
        for row in db.query(f"select v.* from ({VIEWS[view]}) v{where}", params):
            found.append(
                {"recommendation": row["label"], "recommendation_title": row["title"],
                 "recommendation_url": page_url(row["recommendation_id"]) if page_url else None,
                 "date": row["date"], "date_precision": row["date_precision"], "evidence": task, "reading": row[reading],
                 "document_kind": row["document_kind"], "publisher": row["publisher"], "document": row["document"], "source_url": row["url"],
                 "link_method": row["method"], "probability": row["probability"], "score": row["score"],
                 "checked_by_person": {"confirm": "confirmed", "reject": "rejected"}.get(row["decision"] or "", "curated" if row["method"] == REGISTER_METHOD else "no"),
                 "decides_status": "yes" if row["decides"] and row["decision"] != "reject" else "no",
                 "text_is": WORDING_LABELS.get(row["wording"], row["wording"]), "text": shown_text(row["quote"]),
                 "location": location(row["page"], row["heading_path"]) if row["wording"] == QUOTE else "", "link_id": row["link_id"]}
            )  # fmt: skip
    found.sort(key=lambda r: (r["date"] or "", r["recommendation"] or "", r["evidence"], r["link_id"] or ""))
    return found


def evidence_csv(rows: list[dict]) -> str:
    return rows_csv(rows, EVIDENCE_COLUMNS)
