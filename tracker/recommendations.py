"""Which recommendation a reference means, and forgetting recommendations: one home for both.

A reference is a register slug, a label ("R1"), a number in any written form ("12", "R12",
"Recommendation 12"), a parsed key, or (where a caller allows it) a row id. They are tried in that
order, within one review when one is given; top-level recommendations come before their parts.
The same ordered match is used in SQL (`MATCH_SQL`) to resolve every inline mention at once.
"""

from __future__ import annotations

import json

import sqlite_utils

from .errors import TrackerError
from .references import reference_number


class NotFoundError(TrackerError):
    """No recommendation, or more than one, answers to a reference."""


def match_sql(ref: str, number: str, review: str, parts: bool = False, by_id: str | None = None) -> str:
    """The ordered match as one scalar SQL expression over `recommendations r`: the first tier that
    matches wins (id, slug, label, number, key). The arguments are SQL expressions (parameters or
    columns) for the reference, its number and the review (may be null)."""
    tiers = ([f"cast(r.id as text) = {by_id}"] if by_id else []) + [
        f"r.slug = {ref}",
        f"r.label = {ref}",
        f"cast(r.number as text) = {number}",
        f"r.key = {ref}",
    ]
    scope = f"({review} is null or r.review = {review})" + ("" if parts else " and r.parent_id is null")
    return (
        "coalesce("
        + ", ".join(f"(select r.id from recommendations r where {scope} and {tier} order by r.parent_id is not null, r.id limit 1)" for tier in tiers)
        + ")"
    )


# Inline mentions hold a slug or a bare number; their document's review bounds the search.
MENTION_SQL = match_sql("mentions.ref", "mentions.ref", "(select d.review from documents d where d.id = mentions.document_id)")


def resolve(db: sqlite_utils.Database, ref: str | int, review: str | None = None, by_id: bool = False, parts: bool = False) -> dict:
    """The recommendation row a reference means; `NotFoundError` when none does, or when it is
    ambiguous across reviews and no review is given."""
    text = str(ref).strip()
    if not text:
        raise NotFoundError("no recommendation given")
    params = {"ref": text, "number": reference_number(text) or text}
    sql = f"select {match_sql(':ref', ':number', ':review', parts=parts, by_id=':ref' if by_id else None)}"
    reviews = [review] if review or by_id else [row[0] for row in db.execute("select slug from reviews")] or [None]
    found = {hit for each in reviews if (hit := db.execute(sql, {**params, "review": each}).fetchone()[0]) is not None}
    if len(found) > 1:
        raise NotFoundError(f"{text!r} matches recommendations in {len(found)} reviews; give the review")
    if not found:
        raise NotFoundError(f"no recommendation {text!r}" + (f" in review {review!r}" if review else ""))
    (found_id,) = found
    return dict(db.table("recommendations").get(found_id))


def resolve_id(db: sqlite_utils.Database, ref: str | int | None, review: str | None = None) -> int | None:
    """`resolve` for bulk readers (gold files, mentions): the id, or None when nothing matches."""
    if ref is None:
        return None
    try:
        return resolve(db, ref, review)["id"]
    except NotFoundError:
        return None


def profile_texts(rec: dict) -> list[str]:
    """What a recommendation is known by, for similarity: its title, its text (the official one once
    reconciled), the register summary, and the register's profile sentences."""
    texts = [rec.get("title"), rec.get("text"), rec.get("summary"), *json.loads(rec.get("profile") or "[]")]
    return list(dict.fromkeys(text for text in texts if text))


def only_review(db: sqlite_utils.Database) -> str:
    """The review of a single-review database; a `NotFoundError` naming the choices otherwise."""
    reviews = [row[0] for row in db.execute("select slug from reviews order by slug")]
    if len(reviews) != 1:
        raise NotFoundError(f"give --review (one of: {', '.join(reviews) or 'none'})")
    return reviews[0]


def list_recommendations(db: sqlite_utils.Database, review: str | None = None, parts: bool = False) -> list[dict]:
    """Recommendations in number order (register items without a number last), addressees decoded."""
    clauses = ([] if parts else ["parent_id is null"]) + (["review = :review"] if review else [])
    where = ("where " + " and ".join(clauses)) if clauses else ""
    rows = list(
        db.query(
            f"""select id, review, key, number, number_verified, label, slug, chapter, addressees, origin, text
            from recommendations {where} order by review, number is null, number, id""",
            {"review": review},
        )
    )
    return [{**row, "addressees": json.loads(row["addressees"] or "[]")} for row in rows]


def refresh_mentions(db: sqlite_utils.Database, document_id: int | None = None) -> None:
    """Resolve inline references (of one document, or all) against the recommendations known now,
    in one statement."""
    where, params = ("where document_id = ?", [document_id]) if document_id is not None else ("", [])
    with db.atomic():
        db.execute(f"update mentions set recommendation_id = {MENTION_SQL} {where}", params)


def forget(db: sqlite_utils.Database, ids: list[int]) -> None:
    """Remove recommendations, their parts, and what hangs off them (links, statuses, history);
    mentions of them are unresolved, to be resolved again at the next link run. Runs inside the
    caller's transaction."""
    if not ids:
        return
    marks = ", ".join("?" for _ in ids)
    family = f"select id from recommendations where id in ({marks}) or parent_id in ({marks})"
    params = [*ids, *ids]
    db.execute(f"update mentions set recommendation_id = null where recommendation_id in ({family})", params)
    for table in ("links", "status_history", "statuses"):
        db.execute(f"delete from {table} where recommendation_id in ({family})", params)
    db.execute(f"delete from recommendations where parent_id in ({marks})", ids)
    db.execute(f"delete from recommendations where id in ({marks})", ids)
