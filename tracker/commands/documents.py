"""Commands that bring documents in and link them: init, ingest, documents, links, recommendations, embed, link, reconcile."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..cli import DB_ARGUMENT, cli, connect, current_analyzer, echo_json, echo_table, fail, progress_bar
from ..db import schema_version
from ..errors import TrackerError
from ..ingest import KINDS, IngestResult


@cli.command()
@DB_ARGUMENT
def init(db: Path) -> None:
    """Create (or upgrade) the tracker database DB."""
    database = connect(db, create=True, write=True)
    tables = len(database.table_names())
    click.echo(f"{db}: ready ({tables} tables, schema {schema_version(database)}, WAL mode)")


def report(results: list[IngestResult], as_json: bool) -> None:
    if as_json:
        echo_json([r.as_dict() for r in results])
    else:
        for r in results:
            if r.status == "failed":
                click.echo(f"failed     {r.source}: {r.reason}", err=True)
            elif r.status == "unchanged":
                click.echo(f"unchanged  {r.source}: {r.note or f'same bytes already stored as document {r.document_id}'}")
            else:
                detail = f"{r.passages} passages" + (f", {r.recommendations} recommendations" if r.kind == "review" else "")
                click.echo(f"{r.status:<10} {r.source} [{r.kind}] {r.title or ''} ({detail})" + (f": {r.note}" if r.note else ""))
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
@click.option("--date", "published", help="Publication date: YYYY-MM-DD, or YYYY-MM / YYYY when only the month or year is known.")
@click.option("--url", help="Canonical URL of the source.")
@click.option("--assessor", type=click.Choice(["government", "independent"]), help="Who is speaking, for status.")
@click.option("--expect", type=int, help="Expected number of recommendations (reviews): warn when it differs.")
@click.option("--replace", is_flag=True, help="Re-ingest even when the same bytes are already stored.")
@click.option("--no-link", is_flag=True, help="Do not link new documents even when DB has been linked before.")
@click.option("--password", envvar="TRACKER_PDF_PASSWORD", help="Password of password-protected PDFs (never stored or shown). Env: TRACKER_PDF_PASSWORD.")
@click.option("--digest-links", type=click.IntRange(0), default=3, show_default=True, help="Links shown per recommendation in the digest.")
@click.option("--json", "as_json", is_flag=True, help="Print the results (and what changed) as JSON.")
def ingest_command(
    db: Path, sources: tuple[str, ...], replace: bool, expect: int | None, no_link: bool, password: str | None, digest_links: int, as_json: bool, **meta
) -> None:
    """Ingest SOURCES (files, folders, or http(s) URLs) into DB.

    Each document is stored in one transaction: a failure leaves nothing half-written, and the other
    sources of the batch are still ingested. Re-ingesting the same bytes is a no-op unless --replace.
    When DB has been linked before, new documents are linked at once and a digest of what they
    change (links, positions, signals, statuses before -> after) is printed.
    """
    from ..build import ingest_and_link
    from ..links import bound_digest, digest_documents

    database = connect(db, create=True, write=True)
    try:
        result = ingest_and_link(database, sources, meta, replace, expect, current_analyzer(), link_new=not no_link, progress=progress_bar, password=password)
    except TrackerError as error:  # the database: read-only, or locked by another writer for too long
        fail(str(error))
    documents = digest_documents(database, result.changed_ids, result.link.run_id if result.link else None)
    changes = bound_digest(result.changes, digest_links, documents) if result.changes else None
    if as_json:
        echo_json({"results": [r.as_dict() for r in result.results], "changes": changes})
    else:
        report(result.results, False)
        if changes:
            print_digest(changes, db)
    if result.failed:
        sys.exit(1)


def print_digest(digest: dict, db: Path) -> None:
    """What the new documents changed, for a person reading the terminal: a few links per
    recommendation (`bound_digest`), then how many more and the command that lists them."""
    click.secho("\nWhat this changes", bold=True)
    if not digest["links"]:
        click.echo("  no passage links to a recommendation")
    for link in digest["links"]:
        quote = link["quote"] if len(link["quote"]) < 140 else link["quote"][:137] + "..."
        click.echo(f'  {link["recommendation"]}: {link["task"]} {link["label"]} ({link["method"]}, {link["link_id"]}) "{quote}"')
    if digest["more_links"]:
        documents = " ".join(f"--document {document_id}" for document_id in digest["documents"])
        click.echo(f"  and {digest['more_links']:,} more links: run `tracker links {db} {documents}`")
    for change in digest["status_changes"]:
        click.echo(f"  status {change['recommendation']}: {change['before'] or 'none'} -> {change['after']}: {change['reason']}")
    if not digest["status_changes"]:
        click.echo("  no status changed")


@cli.command()
@DB_ARGUMENT
@click.option("--kind", type=click.Choice(KINDS), help="Only documents of this kind.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def documents(db: Path, kind: str | None, as_json: bool) -> None:
    """List the documents in DB."""
    from ..ingest import list_documents

    rows = list_documents(connect(db, write=False), kind)
    if as_json:
        echo_json(rows)
    else:
        echo_table(rows, ["id", "kind", "published", "publisher", "title", "passages"])


@cli.command(name="links")
@DB_ARGUMENT
@click.option("--document", "documents", type=int, multiple=True, metavar="ID", help="Only links in this document (repeatable).")
@click.option("--recommendation", metavar="REF", help="Only links to this recommendation (label, number, slug or key) and its parts.")
@click.option("--review", help="Review slug, when DB has several.")
@click.option("--limit", type=click.IntRange(1), help="At most this many links.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def links_command(db: Path, documents: tuple[int, ...], recommendation: str | None, review: str | None, limit: int | None, as_json: bool) -> None:
    """List the links in DB (all, or of some documents or one recommendation), with their quotes."""
    from ..links import list_links

    try:
        rows = list_links(connect(db, write=False), list(documents), recommendation, review, limit)
    except TrackerError as error:
        fail(str(error))
    if as_json:
        echo_json(rows)
    else:
        echo_table(rows, ["link_id", "document_id", "recommendation", "task", "label", "method", "quote"])
        click.echo(f"{len(rows):,} links", err=True)


@cli.command()
@DB_ARGUMENT
@click.option("--review", help="Only this review's recommendations.")
@click.option("--parts", is_flag=True, help="Include the parts (a), (b) ... as rows.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def recommendations(db: Path, review: str | None, parts: bool, as_json: bool) -> None:
    """List the recommendations in DB, numbered or from the register."""
    from ..recommendations import list_recommendations

    rows = list_recommendations(connect(db), review, parts)
    if as_json:
        echo_json(rows)
    else:
        for row in rows:
            row["addressees"] = ", ".join(row["addressees"])
        echo_table(rows, ["label", "number_verified", "chapter", "addressees", "text"])


@cli.command()
@DB_ARGUMENT
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def embed(db: Path, as_json: bool) -> None:
    """Embed passages and recommendations of DB (all-MiniLM-L6-v2, offline).

    Vectors are cached by (model, sha256 of the text): unchanged text is never encoded again.
    """
    from ..build import embed_all

    report = embed_all(connect(db), progress_bar)
    if as_json:
        echo_json(report.__dict__ if report else {"encoded": 0})
    elif report is None:
        click.echo("embed: every text is already embedded; nothing to encode", err=True)
    else:
        click.echo(
            f"embed: {report.encoded} encoded, {report.cached} cached, {report.seconds:.1f}s ({report.rate:.0f} texts/s, model {report.model})", err=True
        )


@cli.command()
@DB_ARGUMENT
@click.option("--rebuild", is_flag=True, help="Re-link every document, not only new ones.")
@click.option("--threshold", type=click.FloatRange(0, 1), help="Probability a link needs (default: the fitted scorer's threshold).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def link(db: Path, rebuild: bool, threshold: float | None, as_json: bool) -> None:
    """Link passages of responses and evidence to recommendations in DB.

    Explicit references, response layout, names the register gives an item, and profile similarity
    weighed by the learned link scorer (`tracker fit`); then stance (stakeholders), position (the
    government's, also where others report it) or signal (evidence), with the cues that decided it.
    Human confirmations and rejections (`tracker confirm/reject`) survive --rebuild.
    """
    from ..build import link as run_link
    from ..link import Settings

    report = run_link(connect(db), rebuild, Settings(threshold=threshold), progress=progress_bar)
    if as_json:
        echo_json(report.__dict__)
    else:
        click.echo(
            f"link run {report.run_id}: {report.documents} documents, {report.links} links ({', '.join(f'{n} {m}' for m, n in sorted(report.by_method.items()))})"
        )


@cli.command()
@DB_ARGUMENT
@click.option("--review", help="Review slug (default: the only review in DB).")
@click.option("--dry-run", is_flag=True, help="Show the matches without changing anything.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def reconcile(db: Path, review: str | None, dry_run: bool, as_json: bool) -> None:
    """Align the register with the recommendations parsed from the official review.

    Explicit numbers first, then a one-to-one assignment by embedding similarity; matched register
    items take the official number and text and keep their slug and sources. Weak matches are listed
    for a person to confirm.
    """
    from ..embed import get_embedder
    from ..reconcile import reconcile as run_reconcile

    database = connect(db)
    from ..recommendations import only_review

    try:
        review = review or only_review(database)
        result = run_reconcile(database, review, get_embedder(), dry_run=dry_run)
    except TrackerError as error:
        fail(str(error))
    if as_json:
        echo_json(result.as_dict())
        return
    for match in result.matches:
        flag = "  CHECK" if match.needs_review else ""
        score = f" {match.score:.2f}" if match.score is not None else ""
        click.echo(f"R{match.number:<3} <- {match.slug} ({match.method}{score}){flag}")
    click.echo(f"register items with no official match: {', '.join(result.unmatched_register) or 'none'}")
    click.echo(f"official recommendations with no register item: {', '.join(map(str, result.unmatched_official)) or 'none'}")
    if not dry_run:
        click.echo("applied; run `tracker link DB --rebuild` and `tracker status DB` to refresh links and statuses")
