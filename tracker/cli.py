"""The `tracker` command line: a thin Click layer over the library."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from . import __version__
from .db import open_db
from .errors import TrackerError
from .ingest import KINDS, IngestResult, expand_sources, ingest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

DB_ARGUMENT = click.argument("db", type=click.Path(dir_okay=False, path_type=Path))


def fail(message: str) -> None:
    raise click.ClickException(message)


def connect(db_path: Path, create: bool = False):
    try:
        return open_db(db_path, create=create)
    except TrackerError as error:
        fail(str(error))


def echo_json(payload) -> None:
    click.echo(json.dumps(payload, indent=2, ensure_ascii=False, default=str))


def echo_table(rows: list[dict], columns: list[str]) -> None:
    """A plain aligned table: readable in a terminal, diff-able in a file."""
    widths = {c: min(60, max([len(c)] + [len(str(r.get(c) if r.get(c) is not None else "")) for r in rows])) for c in columns}
    click.echo("  ".join(c.ljust(widths[c]) for c in columns))
    click.echo("  ".join("-" * widths[c] for c in columns))
    for row in rows:
        cells = []
        for column in columns:
            value = "" if row.get(column) is None else str(row[column])
            cells.append((value[: widths[column] - 1] + "…" if len(value) > widths[column] else value).ljust(widths[column]))
        click.echo("  ".join(cells).rstrip())


@click.group()
@click.version_option(__version__, prog_name="tracker")
def cli() -> None:
    """Follow what happens to the recommendations of an official review.

    Ingest the review, stakeholder responses, the government's response and implementation evidence;
    link passages to recommendations; derive a progress status with its evidence; publish to Datasette.
    """


@cli.command()
@DB_ARGUMENT
def init(db: Path) -> None:
    """Create (or upgrade) the tracker database DB."""
    database = connect(db, create=True)
    tables = len(database.table_names())
    click.echo(f"{db}: ready ({tables} tables, WAL mode)")


def ingest_sources(database, sources: list[str], meta: dict, replace: bool, expect: int | None) -> list[IngestResult]:
    """Ingest sources one transaction each, with a progress bar on stderr for batches."""
    from .segment import get_analyzer

    try:
        analyzer = get_analyzer(os.environ.get("TRACKER_SPACY_MODEL") or None)
    except TrackerError as error:
        fail(str(error))
    results: list[IngestResult] = []
    with click.progressbar(
        sources, label="Ingesting", file=sys.stderr, show_pos=True, item_show_func=lambda s: s and Path(s).name[:40]
    ) if len(sources) > 1 else nullbar(sources) as bar:
        for source in bar:
            results.append(ingest(database, source, meta, replace=replace, expect=expect, analyzer=analyzer))
    return results


class nullbar:
    """Stand-in for a progress bar when there is one item."""

    def __init__(self, items):
        self.items = items

    def __enter__(self):
        return self.items

    def __exit__(self, *exc):
        return False


def report(results: list[IngestResult], as_json: bool) -> None:
    if as_json:
        echo_json([r.as_dict() for r in results])
    else:
        for r in results:
            if r.status == "failed":
                click.echo(f"failed     {r.source}: {r.reason}", err=True)
            else:
                detail = f"{r.passages} passages" + (f", {r.recommendations} recommendations" if r.kind == "review" else "")
                click.echo(f"{r.status:<10} {r.source} [{r.kind}] {r.title or ''} ({detail})" if r.status != "unchanged"
                           else f"unchanged  {r.source}: same bytes already stored as document {r.document_id}")  # fmt: skip
            for warning in r.warnings:
                click.echo(f"warning    {r.source}: {warning}", err=True)
        counts = {s: sum(1 for r in results if r.status == s) for s in ("ingested", "updated", "unchanged", "failed")}
        click.echo(", ".join(f"{n} {s}" for s, n in counts.items()), err=True)


@cli.command(name="ingest")
@DB_ARGUMENT
@click.argument("sources", nargs=-1, required=True)
@click.option("--kind", type=click.Choice(KINDS), help="What the documents are (else taken from front matter).")
@click.option("--review", "review", help="Slug of the review the documents belong to.")
@click.option("--title", help="Title (else taken from the document).")
@click.option("--publisher", help="Publishing organisation.")
@click.option("--author", help="Author.")
@click.option("--date", "published", help="Publication date, YYYY-MM-DD.")
@click.option("--url", help="Canonical URL of the source.")
@click.option("--assessor", type=click.Choice(["government", "independent"]), help="Who is speaking, for status.")
@click.option("--expect", type=int, help="Expected number of recommendations (reviews): warn when it differs.")
@click.option("--replace", is_flag=True, help="Re-ingest even when the same bytes are already stored.")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
def ingest_command(db: Path, sources: tuple[str, ...], replace: bool, expect: int | None, as_json: bool, **meta) -> None:
    """Ingest SOURCES (files, folders, or http(s) URLs) into DB.

    Each document is stored in one transaction: a failure leaves nothing half-written, and the other
    sources of the batch are still ingested. Re-ingesting the same bytes is a no-op unless --replace.
    """
    database = connect(db, create=True)
    results = ingest_sources(database, expand_sources(sources), meta, replace, expect)
    report(results, as_json)
    if any(r.status == "failed" for r in results):
        sys.exit(1)


@cli.command()
@DB_ARGUMENT
@click.option("--kind", type=click.Choice(KINDS), help="Only documents of this kind.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def documents(db: Path, kind: str | None, as_json: bool) -> None:
    """List the documents in DB."""
    database = connect(db)
    where, params = ("where kind = ?", [kind]) if kind else ("", [])
    rows = list(
        database.query(
            f"""select d.id, d.kind, d.published, d.publisher, d.title, d.url, d.source_path,
            (select count(*) from passages p where p.document_id = d.id) as passages
            from documents d {where} order by d.published, d.id""",
            params,
        )
    )
    if as_json:
        echo_json(rows)
    else:
        echo_table(rows, ["id", "kind", "published", "publisher", "title", "passages"])


@cli.command()
@DB_ARGUMENT
@click.option("--review", help="Only this review's recommendations.")
@click.option("--parts", is_flag=True, help="Include the parts (a), (b) ... as rows.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def recommendations(db: Path, review: str | None, parts: bool, as_json: bool) -> None:
    """List the recommendations in DB, numbered or from the register."""
    database = connect(db)
    clauses = ([] if parts else ["parent_id is null"]) + (["review = :review"] if review else [])
    where = ("where " + " and ".join(clauses)) if clauses else ""
    rows = list(
        database.query(
            f"""select id, review, key, number, number_verified, label, slug, chapter, addressees, origin, text
            from recommendations {where} order by review, number is null, number, id""",
            {"review": review},
        )
    )
    for row in rows:
        row["addressees"] = json.loads(row["addressees"] or "[]")
    if as_json:
        echo_json(rows)
    else:
        for row in rows:
            row["addressees"] = ", ".join(row["addressees"])
        echo_table(rows, ["label", "number_verified", "chapter", "addressees", "text"])


def main() -> None:  # pragma: no cover
    cli()
