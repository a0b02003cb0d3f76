"""The schema: sqlite-utils `Migrations`, in order, each run once and recorded in
`_sqlite_migrations`, so a database made by any earlier version is upgraded in place by `open_db`
(one made before `Migrations` carries its record over from `schema_migrations`)."""

from __future__ import annotations

import sqlite_utils
from sqlite_utils import Migrations

MIGRATIONS = Migrations("review-tracker")


@MIGRATIONS(name="001_core")
def _m001_core(db: sqlite_utils.Database) -> None:
    """Reviews, documents and passages; recommendations; mentions and entities found in passages."""
    _core_reviews(db)
    _core_documents(db)
    _core_recommendations(db)
    _core_mentions(db)


def _core_reviews(db: sqlite_utils.Database) -> None:
    db.table("reviews").create(
        {
            "slug": str,
            "title": str,
            "author": str,
            "publisher": str,
            "published": str,
            "url": str,
            "pages": int,
            "expected_count": int,
            "chapters": str,
            "principles": str,
            "register_note": str,
        },
        pk="slug",
        if_not_exists=True,
    )


def _core_documents(db: sqlite_utils.Database) -> None:
    db.table("documents").create(
        {
            "id": int,
            "sha256": str,
            "review": str,
            "kind": str,
            "title": str,
            "publisher": str,
            "author": str,
            "published": str,
            "date_precision": str,
            "url": str,
            "source_path": str,
            "format": str,
            "confidence": str,
            "assessor": str,
            "declared": str,
            "text": str,
            "pages": int,
            "ingested_at": str,
        },
        pk="id",
        foreign_keys=[("review", "reviews", "slug")],
        not_null={"sha256", "kind", "text"},
        if_not_exists=True,
    )
    db.table("documents").create_index(["sha256"], unique=True, if_not_exists=True)
    db.table("passages").create(
        {
            "id": int,
            "document_id": int,
            "seq": int,
            "start": int,
            "end": int,
            "text": str,
            "heading_path": str,
            "page": int,
            "block_kind": str,
            "sha256": str,
        },
        pk="id",
        foreign_keys=[("document_id", "documents", "id")],
        not_null={"document_id", "text"},
        if_not_exists=True,
    )
    db.table("passages").create_index(["document_id", "seq"], unique=True, if_not_exists=True)


def _core_recommendations(db: sqlite_utils.Database) -> None:
    db.table("recommendations").create(
        {
            "id": int,
            "review": str,
            "key": str,
            "slug": str,
            "number": int,
            "label": str,
            "parent_id": int,
            "part": str,
            "title": str,
            "text": str,
            "summary": str,
            "chapter": str,
            "section": str,
            "addressees": str,
            "locations": str,
            "number_verified": int,
            "origin": str,
            "confidence": str,
            "sources": str,
            "document_id": int,
        },
        pk="id",
        foreign_keys=[
            ("review", "reviews", "slug"),
            ("parent_id", "recommendations", "id"),
            ("document_id", "documents", "id"),
        ],
        not_null={"review", "key", "text"},
        if_not_exists=True,
    )
    db.table("recommendations").create_index(["review", "key"], unique=True, if_not_exists=True)


def _core_mentions(db: sqlite_utils.Database) -> None:
    db.table("mentions").create(
        {
            "id": int,
            "passage_id": int,
            "document_id": int,
            "recommendation_id": int,
            "ref": str,
            "ref_text": str,
            "start": int,
            "end": int,
            "rule": str,
        },
        pk="id",
        foreign_keys=[
            ("passage_id", "passages", "id"),
            ("document_id", "documents", "id"),
            ("recommendation_id", "recommendations", "id"),
        ],
        if_not_exists=True,
    )
    db.table("entities").create(
        {
            "id": int,
            "passage_id": int,
            "document_id": int,
            "entity": str,
            "label": str,
            "text": str,
            "start": int,
            "end": int,
        },
        pk="id",
        foreign_keys=[("passage_id", "passages", "id"), ("document_id", "documents", "id")],
        if_not_exists=True,
    )
    for table in ("mentions", "entities"):
        db.table(table).create_index(["passage_id"], if_not_exists=True)
        db.table(table).create_index(["document_id"], if_not_exists=True)


@MIGRATIONS(name="002_embeddings_links")
def _m002_embeddings_links(db: sqlite_utils.Database) -> None:
    db.table("embeddings").create(
        {"model": str, "sha256": str, "dims": int, "vector": bytes, "created_at": str},
        pk=("model", "sha256"),
        if_not_exists=True,
    )
    db.table("runs").create(
        {
            "id": int,
            "command": str,
            "version": str,
            "settings": str,
            "started_at": str,
            "finished_at": str,
            "summary": str,
        },
        pk="id",
        if_not_exists=True,
    )
    db.table("links").create(
        {
            "id": str,
            "passage_id": int,
            "document_id": int,
            "recommendation_id": int,
            "task": str,
            "method": str,
            "score": float,
            "threshold": float,
            "model": str,
            "rule": str,
            "quote": str,
            "start": int,
            "end": int,
            "label": str,
            "cues": str,
            "target_date": str,
            "run_id": int,
        },
        pk="id",
        foreign_keys=[
            ("passage_id", "passages", "id"),
            ("document_id", "documents", "id"),
            ("recommendation_id", "recommendations", "id"),
            ("run_id", "runs", "id"),
        ],
        if_not_exists=True,
    )
    for column in ("passage_id", "document_id", "recommendation_id"):
        db.table("links").create_index([column], if_not_exists=True)


@MIGRATIONS(name="003_status")
def _m003_status(db: sqlite_utils.Database) -> None:
    db.table("overrides").create(
        {
            "id": int,
            "action": str,
            "link_id": str,
            "recommendation_key": str,
            "review": str,
            "status": str,
            "note": str,
            "source": str,
            "effective": str,
            "created_at": str,
        },
        pk="id",
        if_not_exists=True,
    )
    db.table("statuses").create(
        {
            "recommendation_id": int,
            "status": str,
            "since": str,
            "reason": str,
            "confidence": float,
            "position": str,
            "deciding_link": str,
            "quote": str,
            "document_id": int,
            "document_title": str,
            "publisher": str,
            "date": str,
            "url": str,
            "government_view": str,
            "independent_view": str,
            "disagreement": int,
            "override_note": str,
            "evidence": str,
            "as_of": str,
        },
        pk="recommendation_id",
        foreign_keys=[("recommendation_id", "recommendations", "id")],
        if_not_exists=True,
    )
    db.table("status_history").create(
        {
            "id": int,
            "recommendation_id": int,
            "from_status": str,
            "to_status": str,
            "date": str,
            "link_id": str,
            "quote": str,
            "document_id": int,
            "reason": str,
        },
        pk="id",
        foreign_keys=[("recommendation_id", "recommendations", "id")],
        if_not_exists=True,
    )
    db.table("status_history").create_index(["recommendation_id"], if_not_exists=True)


@MIGRATIONS(name="004_linked_run")
def _m004_linked_run(db: sqlite_utils.Database) -> None:
    """Remember which link run last read each document, so documents with no links are not re-read."""
    if "linked_run" not in db.table("documents").columns_dict:
        db.table("documents").add_column("linked_run", int)
    db.execute("update documents set linked_run = (select max(run_id) from links where links.document_id = documents.id)")


@MIGRATIONS(name="005_profiles_probability")
def _m005_profiles_probability(db: sqlite_utils.Database) -> None:
    """Register profiles (several sentences, aliases, the direction asked) for linking real text, a
    link's probability from the learned scorer, who speaks in the linked words, and fitted models."""
    columns = {"profile": str, "aliases": str, "direction": str, "direction_note": str}
    recommendations = db.table("recommendations")
    for name, kind in columns.items():
        if name not in recommendations.columns_dict:
            recommendations.add_column(name, kind)
    links = db.table("links")
    for name, kind in {"probability": float, "speaker": str}.items():  # type: ignore[assignment]
        if name not in links.columns_dict:
            links.add_column(name, kind)
    db.table("models").create({"name": str, "spec": str, "created_at": str}, pk="name", if_not_exists=True)


@MIGRATIONS(name="006_register_position")
def _m006_register_position(db: sqlite_utils.Database) -> None:
    """The government's position as the register records it (JSON: value, date, summary, sources,
    confidence; `tracker.register`), read by status derivation as position evidence."""
    if "government_position" not in db.table("recommendations").columns_dict:
        db.table("recommendations").add_column("government_position", str)


@MIGRATIONS(name="007_status_label")
def _m007_status_label(db: sqlite_utils.Database) -> None:
    """The recommendation's label beside its status, so the statuses table names what it is about
    (its key, recommendation_id, is shown by Datasette as a bare row number)."""
    if "label" not in db.table("statuses").columns_dict:
        db.table("statuses").add_column("label", str)
        db.execute("update statuses set label = (select r.label from recommendations r where r.id = statuses.recommendation_id)")


@MIGRATIONS(name="008_audit")
def _m008_audit(db: sqlite_utils.Database) -> None:
    """The audit trail: who made each decision, from where (web or cli), on which recommendation, and
    the status before and after. The table becomes append-only (a decision is undone by a later one)."""
    overrides = db.table("overrides")
    for name in ("actor", "origin", "recommendation", "status_before", "status_after"):
        if name not in overrides.columns_dict:
            overrides.add_column(name, str)
    overrides.create_index(["link_id"], if_not_exists=True)
    for event in ("update", "delete"):
        db.execute(
            f"""create trigger if not exists overrides_no_{event} before {event} on overrides
            begin select raise(abort, 'overrides are append-only: record a later decision instead'); end"""
        )


@MIGRATIONS(name="009_scale_indexes")
def _m009_scale_indexes(db: sqlite_utils.Database) -> None:
    """Indexes for a million passages: the documents a search filter allows (kind, publisher, date)
    found without reading the documents table, whose rows hold every document's text; and passages by
    hash, so that the fixed sample every link run reads (`link.recommendation_priors`) is not a sort."""
    documents = db.table("documents")
    for columns in (["kind", "published"], ["publisher", "published"], ["published"]):
        documents.create_index(columns, if_not_exists=True)
    db.table("passages").create_index(["sha256"], if_not_exists=True)


@MIGRATIONS(name="010_reading_probability")
def _m010_reading_probability(db: sqlite_utils.Database) -> None:
    """How sure the sentence reader was of a link's label: a machine link's progress signal decides a
    status alone only when it is sure enough (`status.SIGNAL_READING_AUTO`)."""
    if "reading_probability" not in db.table("links").columns_dict:
        db.table("links").add_column("reading_probability", float)


LEGACY_TABLE = "schema_migrations"  # where databases made before sqlite-utils Migrations recorded theirs


def adopt_legacy_record(db: sqlite_utils.Database) -> None:
    """Carry a pre-`Migrations` database's record over, so its applied steps are not run again."""
    if LEGACY_TABLE not in db.table_names():
        return
    MIGRATIONS.ensure_migrations_table(db)
    known = {m.name for m in MIGRATIONS.applied(db)}
    with db.atomic():
        db.table(Migrations.migrations_table).insert_all(
            {"migration_set": MIGRATIONS.name, "name": row["name"], "applied_at": row["applied_at"]}
            for row in db.table(LEGACY_TABLE).rows
            if row["name"] not in known
        )
        db.table(LEGACY_TABLE).drop()


def migrate(db: sqlite_utils.Database) -> list[str]:
    """Apply pending migrations in order; return the names applied. One process migrates at a time
    (the transaction takes the write lock first); the others then find nothing pending."""
    if LEGACY_TABLE not in db.table_names() and not MIGRATIONS.pending(db):
        return []
    with db.atomic():
        adopt_legacy_record(db)
        pending = [m.name for m in MIGRATIONS.pending(db)]
        if pending:
            MIGRATIONS.apply(db)
    return pending


def schema_version(db: sqlite_utils.Database) -> str | None:
    applied = MIGRATIONS.applied(db)
    return applied[-1].name if applied else None
