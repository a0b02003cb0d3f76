"""Progress reports for people and spreadsheets: Markdown with citations, CSV, JSON."""

from __future__ import annotations

import csv
import io
import json

import sqlite_utils

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
                    {"date": e.date, "publisher": e.publisher, "title": e.document_title, "url": e.url, "task": e.task,
                     "label": e.label, "method": e.method, "link_id": e.link_id, "quote": e.quote}
                    for e in status.evidence
                ],
                "sources": json.loads(rec["sources"] or "[]"),
            }
        )  # fmt: skip
    return rows


def to_csv(rows: list[dict]) -> str:
    out = io.StringIO()
    columns = [c for c in rows[0] if c not in ("evidence", "sources")] if rows else ["label"]
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


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
        lines += ["", f"### {number}: {row['title'] or ''}".rstrip(": "), "", row["text"], "",
                  f"**Status: {row['status']}** (since {row['since'] or 'n/a'}, confidence {row['confidence']}). {row['reason']}"]  # fmt: skip
        if row["disagreement"]:
            lines += ["", f"Assessors disagree: government {row['government_view']}; independent {row['independent_view']}."]
        if row["evidence"]:
            lines += ["", "Evidence:"]
            for item in row["evidence"]:
                quote = item["quote"] if len(item["quote"]) <= 300 else item["quote"][:297] + "..."
                lines.append(f"- {item['date'] or 'undated'}, {item['publisher'] or item['title']}: {item['task']} **{item['label']}** "
                             f"({item['method']}, {item['link_id']}): \"{quote}\" [{item['title']}]({item['url'] or ''})")  # fmt: skip
        if row["sources"]:
            lines += ["", "Register sources: " + ", ".join(row["sources"])]
    return "\n".join(lines) + "\n"
