"""Ingest sources into the store: read, extract, segment, parse, then write one document in one
transaction, so a failure or a kill never leaves half a document behind."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import sqlite_utils

from .db import utcnow
from .errors import ExtractionError, TrackerError
from .extract import Extracted, extract, read_source
from .parse import ParsedRecommendation, missing_numbers, parse_recommendations
from .recommendations import forget, refresh_mentions

if TYPE_CHECKING:
    from .segment import Analyzer, Passage

KINDS = ("review", "stakeholder_response", "government_response", "evidence", "other")
SUPPORTED_SUFFIXES = (".html", ".htm", ".pdf", ".txt", ".md", ".markdown")
META_FIELDS = ("kind", "review", "title", "publisher", "author", "published", "url", "confidence", "assessor", "date_precision")


@dataclass
class IngestResult:
    source: str
    status: str  # ingested | updated | unchanged | failed
    document_id: int | None = None
    title: str | None = None
    kind: str | None = None
    reason: str | None = None
    passages: int = 0
    recommendations: int = 0
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {key: value for key, value in self.__dict__.items() if value not in (None, [], 0) or key == "status"}


def sha256(data: bytes | str) -> str:
    return hashlib.sha256(data.encode("utf-8") if isinstance(data, str) else data).hexdigest()


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "review"


def expand_sources(sources: Iterable[str]) -> list[str]:
    """Files and URLs as given; folders become their supported files, recursively, sorted."""
    expanded: list[str] = []
    for source in sources:
        path = Path(source)
        if path.is_dir():
            expanded.extend(
                str(p) for p in sorted(path.rglob("*")) if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES
            )
        else:
            expanded.append(source)
    return expanded


def normalise_date(value) -> str | None:
    """ISO date from a date, a datetime or a string such as 2023-04-04 / 2023-04 / 2023."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = str(value).strip()
    if re.fullmatch(r"\d{4}(-\d{2}){0,2}", text):
        return text
    raise TrackerError(f"date {text!r} is not YYYY-MM-DD")


def document_meta(extracted: Extracted, given: dict) -> dict:
    """Metadata from the command line first, then the document's front matter."""
    front = {key: extracted.meta.get(key) for key in META_FIELDS}
    front["published"] = extracted.meta.get("date") or extracted.meta.get("published")
    meta = {key: given.get(key) or front.get(key) for key in META_FIELDS}
    meta["title"] = meta["title"] or extracted.title
    meta["published"] = normalise_date(meta["published"])
    if not meta["kind"]:
        raise ExtractionError("no --kind given and the document declares none")
    if meta["kind"] not in KINDS:
        raise ExtractionError(f"unknown kind {meta['kind']!r} (choose from {', '.join(KINDS)})")
    return meta


def declared(extracted: Extracted) -> str | None:
    """What a curated digest declares beyond the text: its register items and signals."""
    keep = {key: extracted.meta[key] for key in ("recommendations", "signals", "signal") if key in extracted.meta}
    return json.dumps(keep) if keep else None


def next_id(db: sqlite_utils.Database, table: str) -> int:
    return (db.execute(f"select coalesce(max(id), 0) from [{table}]").fetchone()[0] or 0) + 1


def delete_document(db: sqlite_utils.Database, document_id: int) -> None:
    """Remove a document and everything derived from it (inside the caller's transaction)."""
    forget(db, [row[0] for row in db.execute("select id from recommendations where document_id = ? and parent_id is null", [document_id])])
    for table in ("links", "mentions", "entities", "passages"):
        db.execute(f"delete from {table} where document_id = ?", [document_id])
    db.execute("delete from documents where id = ?", [document_id])


def list_documents(db: sqlite_utils.Database, kind: str | None = None) -> list[dict]:
    """Documents by date with their passage counts, optionally of one kind."""
    where, params = ("where kind = ?", [kind]) if kind else ("", [])
    return list(
        db.query(
            f"""select d.id, d.kind, d.published, d.publisher, d.title, d.url, d.source_path,
            (select count(*) from passages p where p.document_id = d.id) as passages
            from documents d {where} order by d.published, d.id""",
            params,
        )
    )


def resolve_review(db: sqlite_utils.Database, meta: dict) -> str | None:
    if meta.get("review"):
        return meta["review"]
    reviews = [row["slug"] for row in db.table("reviews").rows]
    return reviews[0] if len(reviews) == 1 else None


def store_passages(db, document_id: int, passages: list[Passage]) -> None:
    first = next_id(db, "passages")
    db.table("passages").insert_all(
        {
            "id": first + p.seq,
            "document_id": document_id,
            "seq": p.seq,
            "start": p.start,
            "end": p.end,
            "text": p.text,
            "heading_path": p.heading_path or None,
            "page": p.page,
            "block_kind": p.block_kind,
            "sha256": sha256(p.text),
        }
        for p in passages
    )
    db.table("entities").insert_all(
        {"passage_id": first + p.seq, "document_id": document_id, "entity": e.entity, "label": e.label,
         "text": e.text, "start": e.start, "end": e.end}
        for p in passages for e in p.entities
    )  # fmt: skip
    db.table("mentions").insert_all(
        {"passage_id": first + p.seq, "document_id": document_id, "recommendation_id": None,
         "ref": m.ref.lower(), "ref_text": m.text, "start": m.start, "end": m.end, "rule": m.rule}
        for p in passages for m in p.mentions
    )  # fmt: skip


def store_recommendations(db, review: str, document_id: int, parsed: list[ParsedRecommendation]) -> None:
    for rec in parsed:
        existing = db.execute("select id from recommendations where review = ? and key = ?", [review, rec.key]).fetchone()
        if existing:  # the same key from an older version of this review: replace it
            forget(db, [existing[0]])
        row = {
            "review": review,
            "key": rec.key,
            "number": rec.number,
            "label": rec.label,
            "text": rec.text,
            "chapter": rec.chapter,
            "section": rec.section,
            "addressees": json.dumps(rec.addressees),
            "locations": json.dumps([{**location, "document_id": document_id} for location in rec.locations]),
            "number_verified": 1,
            "origin": "parsed",
            "confidence": "high",
            "document_id": document_id,
        }
        parent_id = db.table("recommendations").insert(row).last_pk
        for part, text in rec.parts:
            db.table("recommendations").insert(
                {**row, "key": f"{rec.key}{part}", "label": f"{rec.label}({part})", "part": part, "text": text,
                 "parent_id": parent_id, "locations": None}
            )  # fmt: skip


def ingest(
    db: sqlite_utils.Database,
    source: str,
    meta: dict | None = None,
    replace: bool = False,
    expect: int | None = None,
    analyzer: Analyzer | None = None,
) -> IngestResult:
    """Ingest one file or URL. Errors in the source come back as a failed result, never half-written."""
    meta = meta or {}
    try:
        loaded = read_source(source)
        digest = sha256(loaded.data)
        existing = db.execute("select id, title, kind from documents where sha256 = ?", [digest]).fetchone()
        if existing and not replace:
            return IngestResult(source, "unchanged", existing[0], existing[1], existing[2])
        extracted = extract(loaded.data, source, loaded.content_type)
        fields = document_meta(extracted, meta)
        text = extracted.render()
        if analyzer is None:
            from .segment import get_analyzer  # spaCy loads only when something is ingested

            analyzer = get_analyzer()
        passages = analyzer.segment(extracted, text)
        parsed = parse_recommendations(extracted, analyzer) if fields["kind"] == "review" else []
        if fields["kind"] != "review" and fields["review"] and not db.table("reviews").count_where("slug = ?", [fields["review"]]):
            known = ", ".join(row["slug"] for row in db.table("reviews").rows) or "none yet"
            raise ExtractionError(f"unknown review {fields['review']!r} (known: {known})")
    except TrackerError as error:  # extraction failures and bad metadata (e.g. a malformed date)
        return IngestResult(source, "failed", reason=str(error))
    result = IngestResult(source, "ingested", title=fields["title"], kind=fields["kind"], passages=len(passages))
    if fields["kind"] == "review":
        result.recommendations = len(parsed)
        if expect is not None and len(parsed) != expect:
            missing, extra = missing_numbers(parsed, expect)
            result.warnings.append(
                f"expected {expect} recommendations, found {len(parsed)}"
                + (f"; missing {', '.join(map(str, missing))}" if missing else "")
                + (f"; unexpected {', '.join(map(str, extra))}" if extra else "")
            )
    with db.atomic():
        previous = [existing[0]] if existing else []
        previous += [
            row[0]
            for row in db.execute(
                "select id from documents where source_path = ? and sha256 != ?", [loaded.name, digest]
            ).fetchall()
        ]
        for document_id in previous:
            delete_document(db, document_id)
        if previous:
            result.status = "updated"
        review = resolve_review(db, fields)
        if fields["kind"] == "review":
            review = review if fields.get("review") else slugify(fields["title"] or loaded.name)
            db.table("reviews").upsert(
                {"slug": review, "title": fields["title"], "author": fields["author"], "publisher": fields["publisher"],
                 "published": fields["published"], "url": fields["url"] or (loaded.name if loaded.is_url else None),
                 "expected_count": expect},
                pk="slug",
            )  # fmt: skip
        document_id = existing[0] if existing else next_id(db, "documents")
        db.table("documents").insert(
            {
                "id": document_id,
                "sha256": digest,
                "review": review,
                **{key: fields[key] for key in ("kind", "title", "publisher", "author", "published", "confidence")},
                "date_precision": fields["date_precision"] or ("day" if fields["published"] else None),
                "assessor": fields["assessor"],
                "url": fields["url"] or (loaded.name if loaded.is_url else None),
                "source_path": loaded.name,
                "format": extracted.format,
                "declared": declared(extracted),
                "text": text,
                "pages": extracted.pages,
                "ingested_at": utcnow(),
            }
        )
        if parsed and review:  # parsed only for reviews, which always have a slug by now
            store_recommendations(db, review, document_id, parsed)
        store_passages(db, document_id, passages)
        refresh_mentions(db, document_id)
    result.document_id = document_id
    return result
