"""Government positions recorded in the review register, read as position evidence.

A position the government stated (in its response, as public sources report it) is a fact about a
recommendation, curated like the register's summary and sources: the register holds it with its
source and confidence (`government_position` in review.yaml, stored as JSON in
`recommendations.government_position` by `tracker.corpus.load_register`). Status derivation reads it
as evidence of the method "register", which outranks a position read from prose by the linker; the
published view `government_positions` lists it beside the linked passages.
"""

from __future__ import annotations

import json
from typing import Any

import sqlite_utils

REGISTER_METHOD = "register"
FIELDS = ("value", "date", "date_precision", "summary", "title", "publisher", "url", "sources", "confidence")


def position_record(item: dict, response: dict | None) -> str | None:
    """The JSON stored for a register item's `government_position`, completed from the register's
    `government_response` (title, publisher, date, url) where the item does not say otherwise."""
    stated = item.get("government_position")
    if not stated:
        return None
    record = {**{key: (response or {}).get(key) for key in ("title", "publisher", "date", "url")}, **stated}
    record["date"] = str(record["date"]) if record.get("date") else None
    return json.dumps({key: record.get(key) for key in FIELDS}, ensure_ascii=False)


def register_link_id(slug: str) -> str:
    """The stable id of a register position where a link id is expected (history, exports)."""
    return f"register:{slug}"


def register_positions(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """Every recorded position: recommendation id, slug and the stored fields."""
    if "government_position" not in db.table("recommendations").columns_dict:
        return []
    found = []
    for row in db.query("select id, parent_id, slug, key, government_position from recommendations where government_position is not null"):
        try:
            record = json.loads(row["government_position"])
        except (TypeError, ValueError):
            continue
        if isinstance(record, dict) and record.get("value"):
            found.append({"recommendation_id": row["parent_id"] or row["id"], "slug": row["slug"] or row["key"], **record})
    return found


# The same records as rows of the `government_positions` view (columns in its order).
def _field(name: str) -> str:
    return f"json_extract(r.government_position, '$.{name}')"


REGISTER_POSITION_COLUMNS = f"""'{REGISTER_METHOD}:' || coalesce(r.slug, r.key) as link_id, r.id as recommendation_id, r.review, r.label, r.number,
    r.number_verified, r.title, {_field("value")} as position, {_field("summary")} as quote, null as document_id, {_field("title")} as document,
    {_field("publisher")} as publisher, {_field("date")} as date, coalesce({_field("date_precision")}, 'day') as date_precision, {_field("url")} as url,
    '{REGISTER_METHOD}' as method, null as score, null as probability, null as threshold, null as reading_probability, null as decision, 1 as decides,
    null as target_date, 'government' as assessor, 'government' as speaker, 'summary' as wording, {_field("confidence")} as confidence,
    json_extract(r.government_position, '$.sources') as sources, null as passage_id, null as page, null as heading_path, null as cues,
    'register' as document_kind
from recommendations r where r.government_position is not null and {_field("value")} is not null"""
