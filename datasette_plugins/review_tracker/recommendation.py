"""What the recommendation page shows, read from the published views (synchronous: run with
`Database.execute_fn`).

Every piece of evidence comes with what a reader needs to cite it: whose words the text is (a
tracker summary or a verbatim quote, `tracker.provenance`), its date in the precision it is known to,
how the link was made and how sure the scorer was, whether a person confirmed it, and whether it can
decide a status (`decides`, the published form of `tracker.status.decisive`).
"""

from __future__ import annotations

from tracker.audit import audit_rows
from tracker.provenance import QUOTE, human_date, location, recommendation_wording, shown_text
from tracker.recommendations import list_recommendations
from tracker.search import Connection, rows
from tracker.status import MACHINE_METHODS, METHOD_RANK, POSITIONS, STATUSES

from .data import LINK_VIEWS, NO_POSITION_FOUND, database, filter_recommendation, first, loads, view

# The columns of a link view a page item keeps as they are.
LINK_FIELDS = (
    "link_id", "recommendation_id", "passage_id", "method", "score", "probability", "threshold", "reading_probability", "target_date", "document_id",
    "document",
    "publisher", "date", "date_precision", "url", "assessor", "speaker", "wording", "confidence", "page", "heading_path", "decision",
)  # fmt: skip


def link_item(row: dict, reading: str) -> dict:
    """One linked passage (or register record) as the page shows it."""
    decision = row["decision"]
    machine = row["method"] in MACHINE_METHODS
    decides = bool(row["decides"]) and decision != "reject"
    return {
        **{key: row[key] for key in LINK_FIELDS},
        "label": row[reading],
        "kind": row["document_kind"],
        "text": shown_text(row["quote"]),
        "quote": row["quote"],
        "cues": loads(row["cues"], []),
        "sources": [url for url in loads(row["sources"], []) if isinstance(url, str)],
        "date_shown": human_date(row["date"], row["date_precision"]),
        "location": location(row["page"], row["heading_path"]) if row["wording"] == QUOTE else "",
        "machine": machine,
        "confirmed": decision == "confirm",
        "decides": decides,
        "muted": not decides,  # shown without a status colour: rejected, or a machine link waiting for a person
    }


def link_rows(conn: Connection, ids: list[int], task: str) -> list[dict]:
    """The links of one task to these recommendations, from the task's published view, oldest first."""
    name, reading = LINK_VIEWS[task]
    found = rows(
        conn,
        f"select * from {view(name)} where recommendation_id in ({','.join('?' * len(ids))}) order by date, publisher, link_id",
        ids,
    )
    return [link_item(row, reading) for row in found]


def history_of(conn: Connection, top_id: int) -> list[dict]:
    """Status changes, oldest first, each with its date in the deciding document's precision."""
    found = rows(
        conn,
        """select h.*, d.title as document, d.publisher, d.url, d.date_precision, d.format from status_history h
        left join documents d on d.id = h.document_id where h.recommendation_id = ? order by h.date, h.id""",
        [top_id],
    )
    for row in found:
        row["date_shown"] = human_date(row["date"], row["date_precision"])
        row["text"] = shown_text(row["quote"])
        row["reason"] = shown_text(row["reason"])
    return found


def status_of(conn: Connection, top_id: int, history: list[dict]) -> dict | None:
    """The current status with `since` checked against the history: the day its current status began."""
    status = first(rows(conn, f"select * from {view('recommendation_progress')} where id = ?", [top_id]))
    if not status or not status["status"]:
        return None
    started = history[-1] if history and history[-1]["to_status"] == status["status"] else None
    status["since_shown"] = started["date_shown"] if started else None
    status["since"] = started["date"] if started else None
    status["latest_shown"] = human_date(status["latest_evidence"], status["latest_evidence_precision"], undated="")
    status["reason"] = shown_text(status["reason"])
    status["description"] = STATUSES.get(status["status"])
    return status


def deciding_item(status: dict | None, items: list[dict]) -> dict | None:
    """The evidence that decided the status, as listed on the page (or built from the status row)."""
    if not status or not status.get("deciding_link"):
        return None
    found = next((item for item in items if item["link_id"] == status["deciding_link"]), None)
    if found:
        return found
    return {
        "text": shown_text(status["quote"]), "wording": status["wording"], "url": status["url"], "document": status["document_title"],
        "publisher": status["publisher"], "date_shown": human_date(status["date"], status["date_precision"]), "document_id": status["document_id"],
        "passage_id": None, "location": "", "sources": [],
    }  # fmt: skip


def ordered_positions(positions: list[dict]) -> list[dict]:
    """Positions as status derivation ranks them: deciding ones first, then by method and date."""
    return sorted(
        positions,
        key=lambda p: (p["decides"], p["confirmed"], METHOD_RANK.get(p["method"], 0), p["date"] or ""),
        reverse=True,
    )


def recommendation_data(conn: Connection, key: str) -> dict | None:
    """Everything the recommendation page shows, or None when `key` names no recommendation."""
    rec = filter_recommendation(conn, key)
    if rec is None:
        return None
    for column in ("addressees", "sources", "locations"):  # JSON lists
        rec[column] = loads(rec.get(column), [])
    rec["wording"] = recommendation_wording(rec.get("origin"))
    rec["shown_text"] = shown_text(rec["text"])
    top_id = rec["parent_id"] or rec["id"]
    parts = rows(conn, "select id, label, part, text from recommendations where parent_id = ? order by part, id", [top_id])
    ids = [top_id] + [p["id"] for p in parts]
    history = history_of(conn, top_id)
    status = status_of(conn, top_id, history)
    positions = ordered_positions(link_rows(conn, ids, "position"))
    deciding_position = next((p for p in positions if p["decides"]), None)
    evidence = link_rows(conn, ids, "signal")
    order = [r["id"] for r in list_recommendations(database(conn))]
    where = order.index(top_id) if top_id in order else None
    return {
        "recommendation": rec,
        "review": first(rows(conn, "select slug, title, url, published from reviews where slug = ?", [rec["review"]])),
        "parent": first(rows(conn, "select id, label, title from recommendations where id = ?", [rec["parent_id"]])),
        "parts": parts,
        "status": status,
        "position": (status or {}).get("position") or NO_POSITION_FOUND,
        "position_description": POSITIONS.get((status or {}).get("position") or ""),
        "government_position": deciding_position,
        "government_positions": positions,
        "stakeholder_positions": link_rows(conn, ids, "stance"),
        "evidence": evidence,
        "deciding": deciding_item(status, positions + evidence),
        "history": history,
        "overrides": audit_rows(database(conn), top_id),
        "previous": order[where - 1] if where else None,
        "next": order[where + 1] if where is not None and where + 1 < len(order) else None,
    }
