"""Publish a tracker database for Datasette: full-text indexes, reading views and generated metadata.

`publish(db)` is idempotent: it (re)builds the FTS5 indexes (with triggers, so they stay current as
documents are ingested), replaces the views and checkpoints the WAL so that an immutable Datasette
(`-i`) sees everything. `metadata(db_path)` is the one place where the Datasette metadata (titles,
descriptions, facets, canned queries, hidden tables) is written down; `write_metadata` saves it as
JSON and `serve` starts Datasette with it and the `review_tracker` plugin.
"""

from __future__ import annotations

import json
import sqlite3 as stdlib_sqlite3
import subprocess
import sys
from pathlib import Path

import sqlite_utils
from sqlite_utils.db import sqlite3

from .status import STATUSES

SQLITE_ERRORS = (sqlite3.DatabaseError, stdlib_sqlite3.DatabaseError)

TOKENIZE = "porter unicode61 remove_diacritics 2"
FTS_COLUMNS: dict[str, list[str]] = {
    "passages": ["text", "heading_path"],
    "recommendations": ["title", "text", "chapter"],
    "documents": ["title", "publisher"],
}
FTS_SHADOW_SUFFIXES = ("_fts", "_fts_config", "_fts_data", "_fts_docsize", "_fts_idx", "_fts_content")

STATUS_ORDER = tuple(STATUSES)  # the order a reader follows them

_OVERRIDE_DECISION = """(select o.action from overrides o where o.link_id = l.id and o.action in ('confirm', 'reject')
    order by o.id desc limit 1)"""

VIEWS: dict[str, str] = {
    "recommendation_progress": """
select r.id, r.review, r.label, r.number, r.number_verified, r.slug, r.title, r.chapter,
    s.status, s.since, s.reason, s.confidence, s.position, s.government_view, s.independent_view, s.disagreement,
    s.quote, s.document_title, s.publisher, s.date, s.url, r.text
from recommendations r left join statuses s on s.recommendation_id = r.id
where r.parent_id is null
order by r.review, r.number is null, r.number, r.id""",
    "government_positions": f"""
select l.id as link_id, r.id as recommendation_id, r.review, r.label, r.number, r.number_verified, r.title,
    l.label as position, l.quote, d.id as document_id, d.title as document, d.publisher, d.published as date, d.url,
    l.method, l.score, {_OVERRIDE_DECISION} as decision
from links l join recommendations r on r.id = l.recommendation_id join documents d on d.id = l.document_id
where l.task = 'position' and l.label != 'mention'
order by r.number is null, r.number, r.label, d.published""",
    "stakeholder_positions": f"""
select l.id as link_id, r.id as recommendation_id, r.review, r.label, r.number, r.slug, r.title,
    d.publisher, l.label as stance, l.quote, d.id as document_id, d.title as document, d.published as date, d.url,
    l.method, l.score, {_OVERRIDE_DECISION} as decision
from links l join recommendations r on r.id = l.recommendation_id join documents d on d.id = l.document_id
where l.task = 'stance'
order by r.number is null, r.number, r.label, d.published, d.publisher""",
    "evidence_timeline": f"""
select d.published as date, l.label as signal, l.target_date, d.publisher,
    coalesce(d.assessor, case when d.kind = 'government_response' then 'government' else 'independent' end) as assessor,
    r.id as recommendation_id, r.label, r.title, l.quote, d.id as document_id, d.title as document, d.url,
    l.method, l.score, l.id as link_id, {_OVERRIDE_DECISION} as decision
from links l join recommendations r on r.id = l.recommendation_id join documents d on d.id = l.document_id
where l.task = 'signal'
order by d.published, r.number is null, r.number, r.label""",
}


def _database(db: sqlite_utils.Database | str | Path) -> sqlite_utils.Database:
    if isinstance(db, sqlite_utils.Database):
        return db
    from .db import open_db

    return open_db(db, create=False)


def publish(db: sqlite_utils.Database | str | Path, rebuild: bool = False) -> dict:
    """Build the FTS5 indexes and views of `db` (a Database or a path); safe to run again.

    An index that exists with the same columns and tokenizer is kept (its triggers have kept it
    current); `rebuild=True` re-reads every row into it anyway. Returns
    {"fts": {table: rows}, "views": [names], "checkpoint": True}.
    """
    db = _database(db)
    indexed: dict[str, int] = {}
    for table, columns in FTS_COLUMNS.items():
        # enable_fts runs scripts (each commits): no surrounding transaction here.
        db[table].enable_fts(columns, tokenize=TOKENIZE, create_triggers=True, replace=True)
        if rebuild:
            db[table].rebuild_fts()
        indexed[table] = db[table].count
    with db.atomic():
        for name, sql in VIEWS.items():
            db.create_view(name, sql.strip(), replace=True)
    # An immutable reader (datasette -i) ignores the WAL: fold it into the main file now.
    db.execute("pragma wal_checkpoint(truncate)")
    return {"fts": indexed, "views": list(VIEWS), "checkpoint": True}


def is_published(db: sqlite_utils.Database) -> bool:
    names = set(db.table_names()) | set(db.view_names())
    return all(f"{t}_fts" in names for t in FTS_COLUMNS) and all(v in names for v in VIEWS)


# ---------------------------------------------------------------------------------------------------
# Metadata: the only place the Datasette presentation is described.

LICENSE = "Data: the project's own digests of public documents, each row citing its source URL. Code: Apache-2.0"
LICENSE_URL = "https://www.apache.org/licenses/LICENSE-2.0"

LINK_COLUMNS = {
    "link_id": "Stable id of the link (a hash of document, passage and recommendation); use it with `tracker confirm/reject`",
    "recommendation_id": "The recommendation the passage was linked to",
    "quote": "The passage, quoted in full",
    "document_id": "The document the passage comes from",
    "document": "Title of that document",
    "url": "Source URL of the document",
    "method": "How the link was found: response_layout, explicit (an inline reference) or semantic (embedding similarity)",
    "score": "Similarity score of a semantic link (empty for layout and explicit links)",
    "decision": "A person's decision on this link, if any: confirm or reject",
}

TABLES: dict[str, dict] = {
    "reviews": {
        "description": "The reviews being followed, with their chapters and principles.",
        "columns": {
            "slug": "Short id of the review",
            "title": "Title of the review",
            "published": "Publication date",
            "url": "Where the review was published",
            "expected_count": "How many recommendations the review makes",
            "register_note": "How the register of recommendations was put together",
        },
    },
    "documents": {
        "description": "Every ingested document: the review, stakeholder responses, the government response and evidence of progress.",
        "columns": {
            "kind": "review, stakeholder_response, government_response, evidence or other",
            "title": "Title of the document",
            "publisher": "Organisation that published it",
            "published": "Publication date (YYYY, YYYY-MM or YYYY-MM-DD)",
            "date_precision": "How exact the date is (day, month, year, unverified)",
            "url": "Source URL",
            "assessor": "Who is speaking for status purposes: government or independent",
            "confidence": "How reliable the digest is: high, medium or low",
            "text": "The full text as ingested (a digest written by the project, or the extracted document)",
        },
        "facets": ["kind", "publisher"],
        "sortable_columns": ["id", "kind", "title", "publisher", "published"],
        "label_column": "title",
    },
    "passages": {
        "description": "Documents cut into passages of a few sentences: the unit that is searched, embedded and linked.",
        "columns": {
            "document_id": "The document this passage belongs to",
            "seq": "Position of the passage in its document",
            "text": "Text of the passage",
            "heading_path": "Headings above the passage, outermost first, joined by ' > '",
            "page": "PDF page number, when the source is a PDF",
            "block_kind": "paragraph, list item, heading or table",
            "sha256": "Hash of the text: the key of its embedding",
        },
        "facets": ["block_kind"],
    },
    "recommendations": {
        "description": "The review's recommendations: parsed from the official text or taken from the project's register.",
        "columns": {
            "label": "R<number> when the official number is known, else the register slug",
            "number": "Official recommendation number (empty for register items whose number is not known)",
            "number_verified": "1 when the number was checked against the official review",
            "slug": "Stable register id",
            "title": "Short title",
            "text": "Text of the recommendation (official wording or the register's summary)",
            "chapter": "Chapter of the review",
            "addressees": "Who the recommendation is addressed to (JSON list)",
            "sources": "URLs the register entry was pieced together from (JSON list)",
            "parent_id": "For parts (a), (b) ...: the recommendation they belong to",
            "origin": "parsed (official text), register or reconciled (register item matched to the official text)",
        },
        "facets": ["chapter", "review", "number_verified"],
        "label_column": "label",
    },
    "links": {
        "description": "Passages linked to recommendations, with what each one says: a stakeholder's stance, the government's position or a signal of progress.",
        "columns": {
            "task": "stance (stakeholders), position (government) or signal (evidence)",
            "label": "What the passage says: a stance, a position or a signal, depending on the task",
            "method": LINK_COLUMNS["method"],
            "score": LINK_COLUMNS["score"],
            "quote": LINK_COLUMNS["quote"],
            "cues": "The words that decided the label (JSON list)",
            "target_date": "A target date named in the passage",
            "rule": "The rule chain that made the link and label",
        },
        "facets": ["task", "label", "method"],
    },
    "statuses": {
        "description": "The current progress status of every recommendation, with the evidence that decided it.",
        "columns": {
            "status": ", ".join(STATUSES),
            "since": "Date of the evidence that set the status",
            "reason": "One sentence explaining the status",
            "confidence": "0-1: link method times source reliability (1 when a person decided)",
            "quote": "The deciding passage",
            "url": "Source URL of the deciding document",
            "government_view": "Latest signal from government sources",
            "independent_view": "Latest signal from independent sources",
            "disagreement": "1 when government and independent sources disagree",
            "evidence": "Every piece of evidence considered (JSON list)",
        },
        "facets": ["status", "position", "disagreement"],
    },
    "status_history": {
        "description": "Every change of status, replayed from the dated evidence.",
        "columns": {
            "from_status": "Status before",
            "to_status": "Status after",
            "date": "Date of the change",
            "quote": "The passage (or note) that caused it",
            "reason": "Why",
        },
        "facets": ["to_status"],
    },
    "overrides": {
        "description": "Human decisions: links confirmed or rejected and statuses set by hand. They survive rebuilds.",
        "columns": {
            "action": "confirm, reject (a link) or status (set a recommendation's status)",
            "note": "Why",
            "effective": "Date the decision takes effect",
        },
        "facets": ["action"],
    },
    "recommendation_progress": {
        "description": "One row per recommendation with its current status and the reason for it.",
        "columns": {
            "label": "R<number>, or the register slug when the number is not known",
            "number_verified": "1 when the number was checked against the official review",
            "title": "Short title",
            "chapter": "Chapter of the review",
            "status": "Current status (empty until `tracker status` has run)",
            "since": "Date of the evidence that set the status",
            "reason": "One sentence explaining the status",
            "confidence": "0-1",
            "position": "The government's position: accepted, accepted_in_principle, partially_accepted, further_work, not_accepted or noted",
            "government_view": "Latest signal from government sources",
            "independent_view": "Latest signal from independent sources",
            "disagreement": "1 when government and independent sources disagree",
            "quote": "The deciding passage",
            "url": "Source URL of the deciding document",
            "text": "Text of the recommendation",
        },
        "facets": ["status", "chapter", "position", "disagreement"],
        "sortable_columns": ["id", "label", "number", "chapter", "status", "since", "confidence"],
        "fts_table": "recommendations_fts",
        "fts_pk": "id",
    },
    "government_positions": {
        "description": "What the government said about each recommendation (links from government responses, mentions left out).",
        "columns": {
            "label": "The recommendation",
            "number_verified": "1 when the recommendation's number was checked against the official review",
            "position": "accepted, accepted_in_principle, partially_accepted, further_work, not_accepted or noted",
            "date": "Publication date of the response",
            "publisher": "Who published the response",
            **LINK_COLUMNS,
        },
        "facets": ["position", "method", "decision"],
        "sortable_columns": ["label", "number", "position", "date", "score"],
    },
    "stakeholder_positions": {
        "description": "What stakeholders said about each recommendation: their stance and the passage it rests on.",
        "columns": {
            "label": "The recommendation",
            "publisher": "The stakeholder",
            "stance": "support, concern, oppose or neutral",
            "date": "Publication date of the response",
            **LINK_COLUMNS,
        },
        "facets": ["stance", "publisher", "label"],
        "sortable_columns": ["label", "number", "publisher", "stance", "date", "score"],
    },
    "evidence_timeline": {
        "description": "Dated evidence of progress per recommendation, oldest first.",
        "columns": {
            "date": "Publication date of the evidence",
            "signal": "implemented, in_progress, planned, stalled, reversed or mention (bears on it without moving it)",
            "target_date": "A target date named in the passage",
            "publisher": "Who published the evidence",
            "assessor": "government or independent",
            "label": "The recommendation",
            **LINK_COLUMNS,
        },
        "facets": ["signal", "assessor", "publisher", "label"],
        "sortable_columns": ["date", "signal", "target_date", "publisher", "label"],
    },
}

QUERIES: dict[str, dict] = {
    "government_rejected": {
        "title": "What the government rejected",
        "description": "Recommendations the government did not accept, with its words and the source.",
        "sql": """select label, number_verified, title, position, quote, document, date, url, link_id
from government_positions where position = 'not_accepted' and coalesce(decision, '') != 'reject'
order by number is null, number, label""",
    },
    "stakeholders_on": {
        "title": "What stakeholders said about one recommendation",
        "description": "Give a label (R1), a number or a register slug.",
        "sql": """select publisher, stance, quote, date, document, url, method, link_id
from stakeholder_positions where label = :label or slug = :label or cast(number as text) = :label
order by date, publisher""",
    },
    "evidence_since": {
        "title": "Evidence of progress since a date",
        "description": "Give a date as YYYY-MM-DD (or YYYY-MM, YYYY).",
        "sql": """select date, label, signal, target_date, publisher, assessor, quote, url, link_id
from evidence_timeline where date >= :since and signal != 'mention'
order by date, label""",
    },
}

HIDDEN = ["embeddings", "_sqlite_migrations"]


def _review_source(path: Path) -> tuple[str, str | None]:
    """(title, url) of the review(s) in the database, for the `source` metadata."""
    if path.exists():
        try:
            db = sqlite_utils.Database(path)
            if "reviews" in db.table_names():
                rows = list(db.query("select title, url from reviews order by published, slug"))
                if len(rows) == 1:
                    return rows[0]["title"] or "The review", rows[0]["url"]
                if rows:
                    return "; ".join(r["title"] or "review" for r in rows), None
        except SQLITE_ERRORS:  # a file that is not SQLite: describe it generically
            return "Official reviews, stakeholder responses, government responses and evidence of progress", None
    return "Official reviews, stakeholder responses, government responses and evidence of progress", None


def _existing(path: Path) -> set[str] | None:
    if not path.exists():
        return None
    try:
        db = sqlite_utils.Database(path)
        return set(db.table_names()) | set(db.view_names())
    except SQLITE_ERRORS:
        return None


def metadata(db_path: str | Path) -> dict:
    """Datasette metadata for the tracker database at `db_path` (0.65 `metadata.json` format).

    The database key is the file's stem, as Datasette names it. Hidden tables include the FTS shadow
    tables that exist in the file.
    """
    path = Path(db_path)
    name = path.stem
    source, source_url = _review_source(path)
    existing = _existing(path)
    tables: dict[str, dict] = json.loads(json.dumps(TABLES))
    shadows = [f"{table}{suffix}" for table in FTS_COLUMNS for suffix in FTS_SHADOW_SUFFIXES]
    for hidden in HIDDEN + shadows:
        if existing is None or hidden in existing:
            tables.setdefault(hidden, {})["hidden"] = True
    dashboard = "/-/tracker/dashboard"
    search = "/-/tracker/search"
    return {
        "title": "Review tracker: what happened to the recommendations",
        "description": "Recommendations of an official review, what the government and stakeholders said about them, "
        "and dated evidence of progress, each with its source.",
        "description_html": (
            "Recommendations of an official review, what the government and stakeholders said about them, and dated "
            f'evidence of progress, each with its source. See the <a href="{dashboard}">progress dashboard</a> or '
            f'<a href="{search}">search every passage</a>.'
        ),
        "license": LICENSE,
        "license_url": LICENSE_URL,
        "source": source,
        "source_url": source_url,
        "databases": {
            name: {
                "description": "Tracker database: documents, passages, recommendations, links and statuses.",
                "tables": tables,
                "queries": QUERIES,
            }
        },
    }


def write_metadata(db_path: str | Path, out: str | Path | None = None) -> Path:
    """Write `metadata(db_path)` as JSON to `out` (default: metadata.json beside the database)."""
    db_path = Path(db_path)
    out = Path(out) if out else db_path.parent / "metadata.json"
    out.write_text(json.dumps(metadata(db_path), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return out


def serve_args(db_path: str | Path, metadata_path: str | Path, host: str = "127.0.0.1", port: int = 8001, immutable: bool = True) -> list[str]:
    """The `datasette serve` command line (plugins come from the `review_tracker` entry point)."""
    return [
        sys.executable, "-m", "datasette", "serve",
        *(["-i", str(db_path)] if immutable else [str(db_path)]),
        "-m", str(metadata_path), "--host", host, "--port", str(port),
        "--setting", "sql_time_limit_ms", "3000",
    ]  # fmt: skip


def serve(
    db_path: str | Path,
    host: str = "127.0.0.1",
    port: int = 8001,
    immutable: bool = True,
    metadata_out: str | Path | None = None,
) -> int:
    """Publish `db_path` if needed, write its metadata and run Datasette until interrupted.

    Returns Datasette's exit code (0 after Ctrl-C).
    """
    from .db import open_db

    db = open_db(db_path, create=False)
    if not is_published(db):
        publish(db)
    else:
        db.execute("pragma wal_checkpoint(truncate)")
    db.close()
    metadata_path = write_metadata(db_path, metadata_out)
    return run_datasette(serve_args(db_path, metadata_path, host, port, immutable))


def run_datasette(args: list[str]) -> int:
    """Run the Datasette command until it exits; on Ctrl-C let it shut down (it got the same signal)."""
    process = subprocess.Popen(args)
    try:
        return process.wait()
    except KeyboardInterrupt:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.terminate()
            process.wait()
        return 0
