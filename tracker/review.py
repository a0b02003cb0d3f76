"""The review queue: machine links (similarity and names) that no person has decided, most useful
first, each with what a reviewer needs to judge it without leaving the page or the terminal: the
passage in its context (heading, the passages before and after it, the document, its date and
source), the recommendation's summary, and the status now, if confirmed and if rejected.

Links whose decision would change a status come first, then the surest. The page
(`/-/tracker/review`) and `tracker review` both read `pending`; decisions go to `tracker.audit`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import sqlite_utils

from .provenance import wording
from .recommendations import resolve
from .status import MACHINE_METHODS, Evidence, all_status_overrides, decide, decisive, load_evidence, status_overrides

CONTEXT_PASSAGES = 1  # passages shown before and after the linked one
PENDING_SQL = f"""select l.id, l.passage_id, l.document_id, l.recommendation_id, coalesce(r.parent_id, r.id) as top_id, l.task, l.label,
    l.method, l.probability, l.threshold, l.quote from links l join recommendations r on r.id = l.recommendation_id
    where l.method in ({", ".join(f"'{m}'" for m in sorted(MACHINE_METHODS))})
    and not exists (select 1 from overrides o where o.link_id = l.id and o.action in ('confirm', 'reject'))"""


@dataclass
class QueueItem:
    """One link waiting for a person, and what deciding it would do."""

    link: dict
    status_now: str
    if_confirmed: str
    if_rejected: str
    decides_now: bool  # counts for the status already (its probability reaches the auto threshold)

    @property
    def would_change(self) -> bool:
        return self.if_confirmed != self.status_now or self.if_rejected != self.status_now

    def sort_key(self) -> tuple:
        return (not self.would_change, -(self.link["probability"] or 0.0), self.link["id"])


@dataclass
class Queue:
    items: list[QueueItem]
    total: int  # waiting in all, filters applied, skipped ones included


def pending_links(db: sqlite_utils.Database, recommendation: str | None = None, document: int | None = None, method: str | None = None) -> list[dict]:
    """Undecided machine links, optionally of one recommendation (any reference, its parts included),
    one document or one method."""
    sql, params = PENDING_SQL, []
    if recommendation:
        sql += " and ? in (r.id, r.parent_id)"
        params.append(resolve(db, recommendation)["id"])
    if document is not None:
        sql += " and l.document_id = ?"
        params.append(document)
    if method:
        sql += " and l.method = ?"
        params.append(method)
    return list(db.query(sql, params))


def _outcomes(top_id: int, link_id: str, items: list[Evidence], override: dict | None) -> tuple[str, str, str, bool]:
    """(status now, if confirmed, if rejected, whether the link counts now): pure, from the evidence."""
    own = next((e for e in items if e.link_id == link_id), None)
    confirmed = [replace(e, confirmed=True) if e.link_id == link_id else e for e in items]
    rejected = [e for e in items if e.link_id != link_id]
    statuses = [decide(top_id, evidence, override).status for evidence in (items, confirmed, rejected)]
    return statuses[0], statuses[1], statuses[2], bool(own and decisive(own))


def pending(db: sqlite_utils.Database, skip: tuple[str, ...] = (), limit: int | None = None, **filters) -> Queue:
    """The queue, most useful first, without the `skip`ped link ids; `filters` as `pending_links`."""
    links = pending_links(db, **filters)
    evidence = load_evidence(db)
    overrides = status_overrides(all_status_overrides(db), None)
    items = []
    for link in links:
        outcomes = _outcomes(link["top_id"], link["id"], evidence.get(link["top_id"], []), overrides.get(link["top_id"]))
        items.append(QueueItem(link, *outcomes))
    items.sort(key=QueueItem.sort_key)
    shown = [item for item in items if item.link["id"] not in skip]
    return Queue(shown[:limit] if limit is not None else shown, len(items))


def context(db: sqlite_utils.Database, link: dict, around: int = CONTEXT_PASSAGES) -> dict:
    """The linked passage with its heading and neighbours, its document, and the recommendation."""
    passage = db.execute("select seq, text, heading_path, page from passages where id = ?", [link["passage_id"]]).fetchone()
    seq = passage[0] if passage else None
    near = list(
        db.query(
            "select seq, text from passages where document_id = ? and seq between ? and ? and seq != ? order by seq",
            [link["document_id"], (seq or 0) - around, (seq or 0) + around, seq],
        )
    ) if seq is not None else []  # fmt: skip
    document = db.execute(
        "select id, title, publisher, published, date_precision, url, kind, format from documents where id = ?", [link["document_id"]]
    ).fetchone()
    rec = db.table("recommendations").get(link["top_id"])
    return {
        "text": passage[1] if passage else link["quote"],
        "heading": passage[2] if passage else None,
        "page": passage[3] if passage else None,
        "before": [row["text"] for row in near if row["seq"] < seq],
        "after": [row["text"] for row in near if row["seq"] > seq],
        "document": dict(zip(("id", "title", "publisher", "date", "date_precision", "url", "kind", "format"), document or ())),
        "wording": wording(document[7]) if document else None,
        "recommendation": {"id": rec["id"], "label": rec["label"], "title": rec["title"], "summary": rec["summary"] or rec["text"]},
    }
