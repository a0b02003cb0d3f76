"""Publish a tracker database for Datasette: full-text indexes, reading views and its metadata.

`publish(db)` is idempotent: it (re)builds the FTS5 indexes (with triggers, so they stay current as
documents are ingested), replaces the views and checkpoints the WAL so that an immutable Datasette
(`-i`) sees everything. The views are the one definition of "progress per recommendation" and of the
three link readings; the Datasette plugin reads them too. `metadata(db_path)` loads the presentation
written down in `data/metadata.yaml` and fills in what depends on the database; `write_metadata`
saves it as JSON. Starting Datasette is `tracker.serve`'s job.
"""

from __future__ import annotations

import copy
import json
import sqlite3 as stdlib_sqlite3
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import sqlite_utils
import yaml
from sqlite_utils.db import sqlite3

from .provenance import WORDING_SQL
from .recommendations import match_sql
from .register import REGISTER_METHOD, REGISTER_POSITION_COLUMNS
from .status import ASSESSOR_SQL, MACHINE_METHODS, STATUSES, decisive_sql

SQLITE_ERRORS = (sqlite3.DatabaseError, stdlib_sqlite3.DatabaseError)

TOKENIZE = "porter unicode61 remove_diacritics 2"
FTS_COLUMNS: dict[str, list[str]] = {
    "passages": ["text", "heading_path"],
    "recommendations": ["title", "text", "chapter"],
    "documents": ["title", "publisher"],
}
FTS_SHADOW_SUFFIXES = ("_fts", "_fts_config", "_fts_data", "_fts_docsize", "_fts_idx", "_fts_content")

_OVERRIDE_DECISION = """(select o.action from overrides o where o.link_id = l.id and o.action in ('confirm', 'reject')
    order by o.id desc limit 1)"""
_PRECISION = "coalesce(d.date_precision, case length(d.published) when 4 then 'year' when 7 then 'month' else 'day' end)"
# What every link view carries, so that a reader (the plugin's pages, the exports) needs nothing else:
# how the link was made and how sure it is, whether a person decided it, whose words the text is,
# and where the passage sits in its document.
_LINK_DETAILS = f"""l.method, l.score, l.probability, l.threshold, l.reading_probability, {_OVERRIDE_DECISION} as decision,
    {decisive_sql(_OVERRIDE_DECISION)} as decides, l.target_date, {ASSESSOR_SQL} as assessor, l.speaker,
    {WORDING_SQL} as wording, d.confidence, null as sources, l.passage_id, p.page, p.heading_path, l.cues, d.kind as document_kind"""
_LINK_DOCUMENT = f"d.id as document_id, d.title as document, d.publisher, d.published as date, {_PRECISION} as date_precision, d.url"
_LINK_FROM = """from links l join recommendations r on r.id = l.recommendation_id join documents d on d.id = l.document_id
left join passages p on p.id = l.passage_id"""
# 1 when the status rests on a machine link (names, similarity) that no person has confirmed: a lead to check.
# Cast, so that the view's column has integer affinity and Datasette's `?machine_set=1` matches it.
_MACHINE_SET = f"""cast(coalesce((select l.method in ({", ".join(f"'{m}'" for m in sorted(MACHINE_METHODS))})
    and coalesce({_OVERRIDE_DECISION}, '') != 'confirm' from links l where l.id = s.deciding_link), 0) as integer)"""
_REC = "r.id as recommendation_id, r.review, r.label, r.number, r.number_verified, r.title"
# The latest dated document linked to a recommendation or its parts (`r`), as "date|precision".
_LATEST = f"""(select d.published || '|' || {_PRECISION} from links l join documents d on d.id = l.document_id
    join recommendations x on x.id = l.recommendation_id where r.id in (x.id, x.parent_id) and d.published is not null
    and coalesce({_OVERRIDE_DECISION}, '') != 'reject' order by d.published desc limit 1)"""

VIEWS: dict[str, str] = {
    "recommendation_progress": f"""
select r.id, r.review, r.label, r.number, r.number_verified, r.slug, r.title, r.chapter, r.addressees,
    s.status, s.since, (select {_PRECISION.replace("d.", "hd.")} from status_history h left join documents hd on hd.id = h.document_id
        where h.recommendation_id = r.id order by h.date desc, h.id desc limit 1) as since_precision,
    s.position, s.reason, s.confidence, s.government_view, s.independent_view, s.disagreement,
    s.quote, s.deciding_link, {_MACHINE_SET} as machine_set, s.document_id, s.document_title, s.publisher, s.date, s.url,
    coalesce((select {WORDING_SQL} from documents d where d.id = s.document_id), 'summary') as wording,
    (select {_PRECISION} from documents d where d.id = s.document_id) as date_precision,
    substr({_LATEST}, 1, instr({_LATEST}, '|') - 1) as latest_evidence, substr({_LATEST}, instr({_LATEST}, '|') + 1) as latest_evidence_precision,
    r.text, case when r.origin in ('parsed', 'reconciled') then 'official_text' else 'register_summary' end as text_kind, s.as_of
from recommendations r left join statuses s on s.recommendation_id = r.id
where r.parent_id is null
order by r.review, r.number is null, r.number, r.id""",
    "government_positions": f"""
select * from (
select l.id as link_id, {_REC}, l.label as position, l.quote, {_LINK_DOCUMENT}, {_LINK_DETAILS}
{_LINK_FROM}
where l.task = 'position' and l.label != 'mention'
union all
select {REGISTER_POSITION_COLUMNS}
) order by number is null, number, label, method != '{REGISTER_METHOD}', date""",
    "stakeholder_positions": f"""
select l.id as link_id, {_REC}, r.slug, l.label as stance, l.quote, {_LINK_DOCUMENT}, {_LINK_DETAILS}
{_LINK_FROM}
where l.task = 'stance'
order by r.number is null, r.number, r.label, d.published, d.publisher""",
    "evidence_timeline": f"""
select d.published as date, {_PRECISION} as date_precision, l.label as signal, l.target_date, d.publisher, {ASSESSOR_SQL} as assessor,
    {_REC}, l.quote, d.id as document_id, d.title as document, d.url, l.id as link_id, {_LINK_DETAILS.replace(", l.target_date", "").replace(f", {ASSESSOR_SQL} as assessor", "")}
{_LINK_FROM}
where l.task = 'signal'
order by d.published, r.number is null, r.number, r.label""",
}

# A canned query's `:label` resolved by the ordered match every reader uses (slug, label, number,
# key); `tracker_reference_number` is `tracker.references.reference_number`, registered by the plugin.
# Left blank, the parameter means Recommendation 1 (a canned query then shows rows, not an empty page).
_LABEL = "coalesce(nullif(:label, ''), 'R1')"
RECOMMENDATION_PARAMETER = match_sql(_LABEL, f"coalesce(tracker_reference_number({_LABEL}), {_LABEL})", "null", parts=True)


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
        db.table(table).enable_fts(columns, tokenize=TOKENIZE, create_triggers=True, replace=True)
        if rebuild:
            db.table(table).rebuild_fts()
        indexed[table] = db.table(table).count
    with db.atomic():
        for name, sql in VIEWS.items():
            db.create_view(name, sql.strip(), replace=True)
    # An immutable reader (datasette -i) ignores the WAL: fold it into the main file now.
    db.execute("pragma wal_checkpoint(truncate)")
    return {"fts": indexed, "views": list(VIEWS), "checkpoint": True}


def is_published(db: sqlite_utils.Database) -> bool:
    """Whether `db` has every index and view, each view as this version defines it."""
    names = set(db.table_names())
    views = {row[0]: row[1] for row in db.execute("select name, sql from sqlite_master where type = 'view'")}
    return all(f"{t}_fts" in names for t in FTS_COLUMNS) and all(views.get(name, "").endswith(sql.strip()) for name, sql in VIEWS.items())


@lru_cache(maxsize=1)
def presentation() -> dict[str, Any]:
    """`data/metadata.yaml`, parsed once; callers get copies from `metadata`."""
    return yaml.safe_load(resources.files("tracker").joinpath("data/metadata.yaml").read_text(encoding="utf-8"))


def _reviews(path: Path) -> list[dict] | None:
    """The reviews in the database at `path` (title, url); None when there is no readable database."""
    if not path.exists():
        return None
    try:
        db = sqlite_utils.Database(path)
        return list(db.query("select title, url from reviews order by published, slug")) if "reviews" in db.table_names() else []
    except SQLITE_ERRORS:  # a file that is not SQLite: describe it generically
        return None


def _existing(path: Path) -> set[str] | None:
    if not path.exists():
        return None
    try:
        db = sqlite_utils.Database(path)
        return set(db.table_names()) | set(db.view_names())
    except SQLITE_ERRORS:
        return None


def _source(path: Path, default: str) -> tuple[str, str | None]:
    """(source, source_url) for the metadata: the one review, or the reviews, in the database."""
    reviews = _reviews(path) or []
    if len(reviews) == 1:
        return reviews[0]["title"] or "The review", reviews[0]["url"]
    if reviews:
        return "; ".join(r["title"] or "review" for r in reviews), None
    return default, None


def metadata(db_path: str | Path) -> dict:
    """Datasette metadata for the tracker database at `db_path` (0.65 `metadata.json` format).

    The database key is the file's stem, as Datasette names it. Hidden tables include the FTS shadow
    tables that exist in the file (all of them when the file cannot be read yet).
    """
    path = Path(db_path)
    spec = copy.deepcopy(presentation())
    database = spec["database"]
    tables, existing = database["tables"], _existing(path)
    tables["statuses"]["columns"]["status"] = ", ".join(STATUSES)
    shadows = [f"{table}{suffix}" for table in FTS_COLUMNS for suffix in FTS_SHADOW_SUFFIXES]
    for hidden in spec["hidden"] + shadows:
        if existing is None or hidden in existing:
            tables.setdefault(hidden, {})["hidden"] = True
    database["description_html"] = database.get("description_html", "").replace("{database}", path.stem)
    for query in database["queries"].values():
        query["sql"] = query["sql"].replace("{recommendation}", RECOMMENDATION_PARAMETER)
    source, source_url = _source(path, spec["default_source"])
    return {**spec["instance"], "source": source, "source_url": source_url, "databases": {path.stem: database}}


def write_metadata(db_path: str | Path, out: str | Path | None = None) -> Path:
    """Write `metadata(db_path)` as JSON to `out` (default: metadata.json beside the database)."""
    db_path = Path(db_path)
    out = Path(out) if out else db_path.parent / "metadata.json"
    out.write_text(json.dumps(metadata(db_path), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return out
