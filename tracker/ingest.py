"""Ingest sources into the store: read, extract, segment, parse, then write one document in one
transaction, so a failure or a kill never leaves half a document behind.

A document is known by its bytes (sha256) and its source: the resolved absolute path or the
normalised URL. The same bytes are not stored twice; a changed file at the same source replaces its
older version; two different files never replace each other; the result says which document was
updated and why. Metadata given for unchanged bytes (a corrected date) updates the stored row.
"""

from __future__ import annotations

import json
import re
import sqlite3 as stdlib_sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlite_utils
from sqlite_utils.db import sqlite3

from .dates import DECLARED_PRECISIONS, declared_precision, optional_date, parse_date
from .db import utcnow
from .errors import ExtractionError, TrackerError
from .extract import Extracted, Source, extract, read_source
from .parse import ParsedRecommendation, missing_numbers, parse_recommendations
from .progress import Progress, no_progress
from .recommendations import refresh_mentions
from .store import PassageSpool, delete_document, next_id, sha256, store_passages, store_recommendations

if TYPE_CHECKING:
    from .segment import Analyzer

# Kept importable from here: other modules and older callers use them by these names.
__all__ = ["IngestResult", "delete_document", "expand_sources", "ingest", "next_id", "normalise_date", "parse_date", "sha256"]

KINDS = ("review", "stakeholder_response", "government_response", "evidence", "other")
SUPPORTED_SUFFIXES = (".html", ".htm", ".pdf", ".txt", ".md", ".markdown")
META_FIELDS = ("kind", "review", "title", "publisher", "author", "published", "url", "confidence", "assessor", "date_precision")
REREAD_FIELDS = ("kind", "review")  # how the text is read: a change means reading the document again
DATABASE_ERRORS = (sqlite3.Error, stdlib_sqlite3.Error)
LARGE_TEXT = 500_000  # characters: progress bars for segmenting and storing from this size


@dataclass
class IngestResult:
    source: str
    status: str  # ingested | updated | unchanged | failed
    document_id: int | None = None
    title: str | None = None
    kind: str | None = None
    reason: str | None = None  # why it failed
    note: str | None = None  # which document was updated or kept, and why
    passages: int = 0
    recommendations: int = 0
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {key: value for key, value in self.__dict__.items() if value not in (None, [], 0) or key == "status"}


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "review"


def expand_sources(sources: Iterable[str]) -> list[str]:
    """Files and URLs as given; folders become their supported files, recursively, sorted."""
    expanded: list[str] = []
    for source in sources:
        path = Path(source)
        if path.is_dir():
            expanded.extend(str(p) for p in sorted(path.rglob("*")) if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES)
        else:
            expanded.append(source)
    return expanded


def normalise_date(value: object) -> str | None:
    """The date as written (YYYY-MM-DD, YYYY-MM or YYYY), impossible ones refused (`tracker.dates`)."""
    parsed = optional_date(value)
    return parsed.iso if parsed else None


def text_field(key: str, value: Any) -> str | None:
    """Front matter and options give text; YAML may give a number or a date, never a list or a map."""
    if value is None or isinstance(value, str):
        return value.strip() if isinstance(value, str) else None
    if isinstance(value, int | float | date) and not isinstance(value, bool):
        return str(value)
    raise ExtractionError(f"{key} is not text ({type(value).__name__})")


def checked_meta(raw: dict, what: str) -> dict:
    """Metadata with its date parsed (precision kept) and its kind and precision checked."""
    meta = {key: text_field(key, raw.get(key)) for key in META_FIELDS if key not in ("published", "date_precision")}
    meta = {key: value for key, value in meta.items() if value}
    published = optional_date(raw.get("published"), f"{what}date")
    if published:
        meta["published"] = published.iso
        meta["date_precision"] = declared_precision(published, raw.get("date_precision"), f"{what}date_precision")
    elif raw.get("date_precision") not in (None, "") and str(raw["date_precision"]).lower() not in DECLARED_PRECISIONS:
        raise ExtractionError(f"{what}date_precision {raw['date_precision']!r} is not one of {', '.join(DECLARED_PRECISIONS)}")
    return meta


def check_kind(kind: str | None) -> None:
    if kind and kind not in KINDS:
        raise ExtractionError(f"unknown kind {kind!r} (choose from {', '.join(KINDS)})")


def document_meta(extracted: Extracted, given: dict) -> dict:
    """Metadata from the command line first (`given`, already checked), then the front matter."""
    front = {**extracted.meta, "published": extracted.meta.get("date") or extracted.meta.get("published")}
    fields = checked_meta({key: front.get(key) for key in META_FIELDS}, "front matter ")
    if "published" in given:
        fields.pop("date_precision", None)
    fields = {key: given.get(key) or fields.get(key) for key in META_FIELDS}
    fields["title"] = fields["title"] or extracted.title
    if not fields["kind"]:
        raise ExtractionError("no --kind given and the document declares none")
    check_kind(fields["kind"])
    return fields


def declared(extracted: Extracted) -> str | None:
    """What a curated digest declares beyond the text: its register items and signals."""
    keep = {key: extracted.meta[key] for key in ("recommendations", "signals", "signal") if key in extracted.meta}
    return json.dumps(keep, default=str) if keep else None


def list_documents(db: sqlite_utils.Database, kind: str | None = None) -> list[dict]:
    """Documents by date with their passage counts, optionally of one kind."""
    where, params = ("where kind = ?", [kind]) if kind else ("", [])
    return list(
        db.query(
            f"""select d.id, d.kind, d.published, d.date_precision, d.publisher, d.title, d.url, d.source_path,
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


STORED = "id, sha256, kind, review, title, publisher, author, published, date_precision, url, confidence, assessor, source_path, ingested_at"


def stored_rows(db: sqlite_utils.Database, where: str, params: list) -> list[dict]:
    return list(db.query(f"select {STORED} from documents where {where} order by id", params))


def first_row(db: sqlite_utils.Database, where: str, params: list) -> dict | None:
    rows = stored_rows(db, where, params)
    return rows[0] if rows else None


def unchanged(source: str, loaded: Source, row: dict, note: str | None = None) -> IngestResult:
    elsewhere = f" (from {row['source_path']})" if row["source_path"] not in (loaded.name, None) else ""
    return IngestResult(source, "unchanged", row["id"], row["title"], row["kind"], note=note or f"same bytes already stored as document {row['id']}{elsewhere}")


def keep_or_update(db: sqlite_utils.Database, source: str, loaded: Source, row: dict, changes: dict) -> IngestResult:
    """Same bytes: nothing to read again. Metadata given that differs from the stored row is
    written (a corrected date); a path stored before sources were resolved takes its absolute form."""
    legacy = row["source_path"] and not loaded.is_url and not Path(row["source_path"]).is_absolute() and "://" not in row["source_path"]
    if not changes and not legacy:
        return unchanged(source, loaded, row)
    with db.atomic():
        db.table("documents").update(row["id"], {**changes, **({"source_path": loaded.name} if legacy else {})})
    if not changes:
        return unchanged(source, loaded, {**row, "source_path": loaded.name})
    said = "; ".join(f"{key} {row.get(key)!r} -> {value!r}" for key, value in changes.items())
    return IngestResult(source, "updated", row["id"], changes.get("title", row["title"]), row["kind"], note=f"document {row['id']}: metadata updated ({said})")


@dataclass
class Prepared:
    """A document read and segmented, ready to be written in one transaction."""

    loaded: Source
    digest: str
    fields: dict
    text: str
    format: str
    pages: int | None
    declared: str | None
    spool: PassageSpool
    parsed: list[ParsedRecommendation]
    warnings: list[str]
    expect: int | None = None


def prepare(
    db: sqlite_utils.Database, loaded: Source, digest: str, given: dict, expect: int | None, analyzer: Analyzer | None, password: str | None, progress: Progress
) -> Prepared:
    """Extract, check the metadata, segment into a spool and parse (reviews): everything but the write."""
    extracted = extract(loaded.data, loaded.name, loaded.content_type, password=password, progress=progress)
    loaded.data = b""  # the digest is taken: let a large file's bytes go
    fields = document_meta(extracted, given)
    if fields["kind"] != "review" and fields["review"] and not db.table("reviews").count_where("slug = ?", [fields["review"]]):
        known = ", ".join(row["slug"] for row in db.table("reviews").rows) or "none yet"
        raise ExtractionError(f"unknown review {fields['review']!r} (known: {known})")
    text = extracted.render()
    if analyzer is None:
        from .segment import get_analyzer  # spaCy loads only when something is ingested

        analyzer = get_analyzer()
    spool = PassageSpool()
    try:
        with (progress if len(text) >= LARGE_TEXT else no_progress)("Segmenting (characters)", len(text)) as advance:
            spool.extend(analyzer.iter_passages(extracted, text), advance)
        parsed = parse_recommendations(extracted, analyzer) if fields["kind"] == "review" else []
    except BaseException:
        spool.close()
        raise
    warnings = []
    if fields["kind"] == "review" and expect is not None and len(parsed) != expect:
        missing, extra = missing_numbers(parsed, expect)
        warnings.append(
            f"expected {expect} recommendations, found {len(parsed)}"
            + (f"; missing {', '.join(map(str, missing))}" if missing else "")
            + (f"; unexpected {', '.join(map(str, extra))}" if extra else "")
        )
    return Prepared(loaded, digest, fields, text, extracted.format, extracted.pages, declared(extracted), spool, parsed, warnings, expect)


def relative_namesakes(db: sqlite_utils.Database, loaded: Source, digest: str) -> list[str]:
    """Documents stored from this relative path before sources were resolved: perhaps an older
    version of this file, perhaps another folder's file of the same name, so kept and said."""
    given = loaded.given or ""
    if loaded.is_url or not given or Path(given).is_absolute():
        return []
    return [
        f"document {row['id']} was stored from the relative path {given!r} before sources were known by absolute path; "
        "it is kept, as it may be another folder's file"
        for row in stored_rows(db, "source_path = ? and sha256 != ?", [given, digest])
    ]


def why_replaced(prepared: Prepared, replaced: list[dict], reread: str | None) -> str:
    notes = []
    for row in replaced:
        if row["sha256"] == prepared.digest:
            notes.append(f"document {row['id']} read again ({reread or 'stored meanwhile'})")
        else:
            notes.append(f"document {row['id']} replaced: {prepared.loaded.name} changed since it was ingested on {(row['ingested_at'] or '?')[:10]}")
    return "; ".join(notes)


def write(db: sqlite_utils.Database, source: str, prepared: Prepared, reread: str | None, progress: Progress = no_progress) -> IngestResult:
    """Store the document in one transaction, replacing the older version at the same source."""
    loaded, fields = prepared.loaded, prepared.fields
    result = IngestResult(source, "ingested", title=fields["title"], kind=fields["kind"], passages=prepared.spool.count, warnings=prepared.warnings)
    result.recommendations = len(prepared.parsed) if fields["kind"] == "review" else 0
    with db.atomic():
        same = first_row(db, "sha256 = ?", [prepared.digest])
        if same and not reread:  # another process stored the same bytes since we looked
            return unchanged(source, loaded, same)
        replaced = ([same] if same else []) + stored_rows(db, "source_path = ? and sha256 != ?", [loaded.name, prepared.digest])
        result.warnings += relative_namesakes(db, loaded, prepared.digest)
        for row in replaced:
            delete_document(db, row["id"])
        review = resolve_review(db, fields)
        if fields["kind"] == "review":
            review = review if fields.get("review") else slugify(fields["title"] or loaded.name)
            db.table("reviews").upsert(
                {"slug": review, "title": fields["title"], "author": fields["author"], "publisher": fields["publisher"],
                 "published": fields["published"], "url": fields["url"] or (loaded.name if loaded.is_url else None),
                 "expected_count": prepared.expect},
                pk="slug",
            )  # fmt: skip
        document_id = replaced[0]["id"] if replaced else next_id(db, "documents")
        db.table("documents").insert(
            {
                "id": document_id,
                "sha256": prepared.digest,
                "review": review,
                **{key: fields[key] for key in ("kind", "title", "publisher", "author", "published", "date_precision", "confidence", "assessor")},
                "url": fields["url"] or (loaded.name if loaded.is_url else None),
                "source_path": loaded.name,
                "format": prepared.format,
                "declared": prepared.declared,
                "text": prepared.text,
                "pages": prepared.pages,
                "ingested_at": utcnow(),
            }
        )
        if prepared.parsed and review:  # parsed only for reviews, which always have a slug by now
            store_recommendations(db, review, document_id, prepared.parsed)
        with (progress if prepared.spool.count >= LARGE_TEXT // 25 else no_progress)("Storing passages", prepared.spool.count) as advance:
            store_passages(db, document_id, prepared.text, prepared.spool, advance)
        refresh_mentions(db, document_id)
    if replaced:
        result.status, result.note = "updated", why_replaced(prepared, replaced, reread)
    result.document_id = document_id
    return result


def ingest(
    db: sqlite_utils.Database,
    source: str,
    meta: dict | None = None,
    replace: bool = False,
    expect: int | None = None,
    analyzer: Analyzer | None = None,
    password: str | None = None,
    progress: Progress = no_progress,
) -> IngestResult:
    """Ingest one file or URL. Errors in the source come back as a failed result, never half-written.
    `password` opens a password-protected PDF and is never stored or shown."""
    try:
        loaded = read_source(source)
        given = checked_meta(meta or {}, "--")
        check_kind(given.get("kind"))
        digest = sha256(loaded.data)
        existing = first_row(db, "sha256 = ?", [digest])
        reread: str | None = "--replace" if existing and replace else None
        if existing and not replace:
            changes = {key: value for key, value in given.items() if existing.get(key) != value}
            if not set(changes) & set(REREAD_FIELDS):
                return keep_or_update(db, source, loaded, existing, changes)
            reread = "; ".join(f"{key} changed from {existing[key]!r} to {changes[key]!r}" for key in REREAD_FIELDS if key in changes)
        prepared = prepare(db, loaded, digest, given, expect, analyzer, password, progress)
    except TrackerError as error:  # extraction failures and bad metadata (e.g. an impossible date)
        return IngestResult(source, "failed", reason=str(error))
    except Exception as error:  # an extractor's own failure (pypdf, selectolax, spaCy ...): this source fails alone
        if isinstance(error, DATABASE_ERRORS):
            raise
        return IngestResult(source, "failed", reason=f"could not be read ({error.__class__.__name__}: {' '.join(str(error).split())[:200]})")
    try:
        return write(db, source, prepared, reread, progress)
    finally:
        prepared.spool.close()
