"""Links as a person reads them: the list `tracker links` prints (by document and recommendation),
and the bounded digest `tracker ingest` prints, so a large document's thousands of links never
flood a terminal: a few per recommendation, then how many more and where to list them."""

from __future__ import annotations

from collections import Counter

import sqlite_utils

from .recommendations import resolve

LINK_COLUMNS = """l.id as link_id, l.document_id, d.title as document, d.published as date, r.label as recommendation,
    l.task, l.label, l.method, l.probability, l.score, l.passage_id, l.quote"""


def list_links(
    db: sqlite_utils.Database,
    documents: list[int] | None = None,
    recommendation: str | None = None,
    review: str | None = None,
    limit: int | None = None,
) -> list[dict]:
    """Links of the given documents and/or one recommendation (any reference `resolve` accepts, its
    parts included), in document and passage order."""
    where, params = [], []
    if documents:
        where.append(f"l.document_id in ({', '.join('?' for _ in documents)})")
        params += documents
    if recommendation:
        rec = resolve(db, recommendation, review)
        where.append("(l.recommendation_id = ? or r.parent_id = ?)")
        params += [rec["id"], rec["id"]]
    sql = f"""select {LINK_COLUMNS} from links l join documents d on d.id = l.document_id
        left join recommendations r on r.id = l.recommendation_id
        {"where " + " and ".join(where) if where else ""} order by l.document_id, l.passage_id, l.id"""
    if limit is not None:
        sql += " limit ?"
        params.append(limit)
    return list(db.query(sql, params))


def digest_documents(db: sqlite_utils.Database, changed: list[int], run_id: int | None) -> list[int]:
    """The documents a digest covers: those ingested or updated, and those the link run read."""
    linked = [row[0] for row in db.execute("select id from documents where linked_run = ?", [run_id])] if run_id else []
    return sorted({*changed, *linked})


def bound_digest(changes: dict, per_recommendation: int = 3, documents: list[int] | None = None) -> dict:
    """`tracker.status.what_changed`'s digest with at most `per_recommendation` links for each
    recommendation, in their order, plus the count left out and the documents they belong to."""
    shown: list[dict] = []
    seen: Counter[str | None] = Counter()
    for link in changes.get("links", []):
        seen[link["recommendation"]] += 1
        if seen[link["recommendation"]] <= per_recommendation:
            shown.append(link)
    total = sum(seen.values())
    return {
        "links": shown,
        "more_links": total - len(shown),
        "total_links": total,
        "links_per_recommendation": dict(seen),
        "documents": documents or [],
        "status_changes": changes.get("status_changes", []),
    }
