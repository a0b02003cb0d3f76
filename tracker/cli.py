"""The `tracker` command line: a thin Click layer over the library."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path
from typing import NoReturn

import click

from . import __version__
from .db import open_db, schema_version
from .errors import TrackerError
from .ingest import KINDS, IngestResult
from .search import MODES

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

DB_ARGUMENT = click.argument("db", type=click.Path(dir_okay=False, path_type=Path))


def fail(message: str) -> NoReturn:
    raise click.ClickException(message)


# Commands that only read DB: they work on a read-only (immutable) file; every other one writes.
READ_COMMANDS = {"status", "documents", "recommendations", "links", "export", "search", "serve", "eval"}


def connect(db_path: Path, create: bool = False, write: bool | None = None):
    """Open DB for the current command; a command that writes says so in one line when DB is read-only."""
    try:
        database = open_db(db_path, create=create)
    except TrackerError as error:
        fail(str(error))
    if write is None:
        context = click.get_current_context(silent=True)
        write = context is None or context.info_name not in READ_COMMANDS
    if write and database.read_only:
        fail(f"{db_path}: database is read-only")
    return database


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
@click.option(
    "--spacy-model",
    envvar="TRACKER_SPACY_MODEL",
    metavar="NAME",
    help="An installed trained spaCy pipeline to segment with (default: blank English with rules). Env: TRACKER_SPACY_MODEL.",
)
@click.pass_context
def cli(ctx: click.Context, spacy_model: str | None) -> None:
    """Follow what happens to the recommendations of an official review.

    Ingest the review, stakeholder responses, the government's response and implementation evidence;
    link passages to recommendations; derive a progress status with its evidence; publish to Datasette.
    """
    ctx.obj = {"spacy_model": spacy_model}
    if spacy_model:  # a trained pipeline may run on torch: then `tracker.imports` leaves torch visible to spaCy
        os.environ["TRACKER_SPACY_MODEL"] = spacy_model


@cli.command()
@DB_ARGUMENT
def init(db: Path) -> None:
    """Create (or upgrade) the tracker database DB."""
    database = connect(db, create=True, write=True)
    tables = len(database.table_names())
    click.echo(f"{db}: ready ({tables} tables, schema {schema_version(database)}, WAL mode)")


@contextlib.contextmanager
def progress_bar(stage: str, total: int):
    """Progress on stderr for the library's long stages (quiet when stderr is not a terminal)."""
    from tqdm import tqdm

    with tqdm(total=total, desc=stage, unit=" texts" if stage == "Embedding" else "", file=sys.stderr, disable=None if total > 1 else True) as bar:
        yield bar.update


def current_analyzer():
    """The spaCy analyzer for this process, honouring --spacy-model."""
    from .segment import get_analyzer

    try:
        return get_analyzer((click.get_current_context().find_root().obj or {}).get("spacy_model"))
    except TrackerError as error:
        fail(str(error))


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
    from .build import ingest_and_link
    from .links import bound_digest, digest_documents

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
        click.echo(f"  {link['recommendation']}: {link['task']} {link['label']} ({link['method']}, {link['link_id']}) \"{quote}\"")
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
    from .ingest import list_documents

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
    from .links import list_links

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
    from .recommendations import list_recommendations

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
    from .build import embed_all

    report = embed_all(connect(db), progress_bar)
    if as_json:
        echo_json(report.__dict__ if report else {"encoded": 0})
    elif report is None:
        click.echo("embed: every text is already embedded; nothing to encode", err=True)
    else:
        click.echo(f"embed: {report.encoded} encoded, {report.cached} cached, {report.seconds:.1f}s ({report.rate:.0f} texts/s, model {report.model})", err=True)


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
    from .build import link as run_link
    from .link import Settings

    report = run_link(connect(db), rebuild, Settings(threshold=threshold), progress=progress_bar)
    if as_json:
        echo_json(report.__dict__)
    else:
        click.echo(f"link run {report.run_id}: {report.documents} documents, {report.links} links ({', '.join(f'{n} {m}' for m, n in sorted(report.by_method.items()))})")


@cli.command()
@DB_ARGUMENT
@click.option("--as-of", "as_of", help="Status on this date (YYYY-MM-DD; YYYY-MM or YYYY: its last day), using only evidence dated up to it.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV.")
def status(db: Path, as_of: str | None, as_json: bool, as_csv: bool) -> None:
    """Progress status of every recommendation in DB, by chapter, with counts per status.

    Without --as-of the statuses and their history are also stored (tables statuses, status_history)
    when DB is writable; a read-only DB is never written: statuses are computed on the fly.
    """
    from .dates import optional_date
    from .export import status_rows
    from .status import derive_statuses, refresh_statuses, status_counts

    database = connect(db, write=False)
    try:
        day = optional_date(as_of, "--as-of")
    except TrackerError as error:
        fail(str(error))
    as_of = day.iso if day else None
    statuses = derive_statuses(database, day.last_day if day else None) if day or database.read_only else refresh_statuses(database)
    rows = status_rows(database, statuses)
    if as_json:
        echo_json({"as_of": as_of, "counts": status_counts(statuses), "recommendations": rows})
    elif as_csv:
        import csv

        writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]) if rows else ["label"])
        writer.writeheader()
        writer.writerows(rows)
    else:
        print_status(rows, status_counts(statuses), as_of)


def print_status(rows: list[dict], counts: dict[str, int], as_of: str | None) -> None:
    chapters: dict[str, list[dict]] = {}
    for row in rows:
        chapters.setdefault(row["chapter"] or "(no chapter)", []).append(row)
    for chapter, items in chapters.items():
        click.secho(f"\n{chapter}", bold=True)
        echo_table(
            [{**r, "label": r["label"] + ("" if r["number_verified"] else "*"), "disagreement": "!" if r["disagreement"] else ""} for r in items],
            ["label", "status", "since", "disagreement", "title"],
        )
    click.echo("\n" + ", ".join(f"{n} {s}" for s, n in counts.items() if n) + (f" (as of {as_of})" if as_of else ""))
    click.echo("* number not verified (register item)   ! government and independent assessors disagree")


def link_judgement(function):
    """Arguments shared by `confirm` and `reject`."""
    for decorator in (click.option("--note", default="", help="Why."), click.argument("link_id"), DB_ARGUMENT, cli.command()):
        function = decorator(function)
    return function


@link_judgement
def confirm(db: Path, link_id: str, note: str) -> None:
    """Confirm link LINK_ID as right: it then counts with full confidence. Survives rebuilds."""
    record_link_override(db, "confirm", link_id, note)


@link_judgement
def reject(db: Path, link_id: str, note: str) -> None:
    """Reject link LINK_ID as wrong: status ignores it. Survives rebuilds."""
    record_link_override(db, "reject", link_id, note)


def record_link_override(db: Path, action: str, link_id: str, note: str) -> None:
    from .status import decide_link

    try:
        decide_link(connect(db, write=True), action, link_id, note)
    except TrackerError as error:
        fail(f"{error} in {db} (see the links table or `tracker status --json`)")
    click.echo(f"{action}ed {link_id}")


@cli.command(name="set-status")
@DB_ARGUMENT
@click.argument("recommendation")
@click.argument("status_name", metavar="STATUS")
@click.option("--note", required=True, help="Why (shown with the status).")
@click.option("--source", help="URL of the evidence.")
@click.option("--date", "effective", help="Date the status took effect: YYYY-MM-DD, YYYY-MM or YYYY (default today).")
@click.option("--review", help="Review slug (needed when DB has several).")
def set_status(db: Path, recommendation: str, status_name: str, note: str, source: str | None, effective: str | None, review: str | None) -> None:
    """Set RECOMMENDATION (label, number or register slug) to STATUS by hand. Survives rebuilds."""
    from .dates import parse_date
    from .status import STATUSES, add_override, refresh_statuses

    database = connect(db, write=True)
    if status_name not in STATUSES:
        fail(f"unknown status {status_name!r}; choose from {', '.join(STATUSES)}")
    from .recommendations import NotFoundError, resolve

    try:
        recommendation_row = resolve(database, recommendation, review)
    except NotFoundError as error:
        fail(str(error))
    try:
        effective = parse_date(effective, "--date").iso if effective else None
    except TrackerError as error:
        fail(str(error))
    add_override(database, "status", review=recommendation_row["review"], recommendation_key=recommendation_row["key"], status=status_name, note=note, source=source, effective=effective)
    refresh_statuses(database)
    click.echo(f"{recommendation}: {status_name} (override recorded)")


def bundled_corpus() -> Path:
    """The Hewitt corpus shipped with the project (TRACKER_CORPUS overrides)."""
    candidates = [Path(os.environ["TRACKER_CORPUS"])] if os.environ.get("TRACKER_CORPUS") else []
    candidates += [Path(__file__).resolve().parents[1] / "corpus" / "hewitt-2023", Path.cwd() / "corpus" / "hewitt-2023"]
    for candidate in candidates:
        if (candidate / "manifest.yaml").exists():
            return candidate
    fail("bundled corpus not found: install from a checkout (pip install -e .) or set TRACKER_CORPUS")


def run_build(corpus_dir: Path, db: Path) -> None:
    """Build DB from a corpus folder and print what each stage did."""
    from . import publish
    from .build import build as build_tracker

    database = connect(db, create=True)
    try:
        report = build_tracker(database, corpus_dir, current_analyzer(), progress=progress_bar)
    except TrackerError as error:
        fail(str(error))
    results = report.ingest.results
    click.echo(f"register: {report.review}, {report.register_items} items", err=True)
    click.echo(
        f"ingest: {len(report.ingest.changed_ids)} new or updated, {sum(r.status == 'unchanged' for r in results)} unchanged, {len(report.ingest.failed)} failed",
        err=True,
    )
    for r in report.ingest.failed:
        click.echo(f"failed     {r.source}: {r.reason}", err=True)
    if report.link:
        click.echo(f"link: {report.link.links} links in {report.link.documents} documents", err=True)
    click.echo("status: " + ", ".join(f"{n} {s}" for s, n in report.status_counts.items() if n), err=True)
    click.echo(f"publish: full-text indexes, views and {publish.write_metadata(db)}", err=True)
    click.echo(f"built {db} in {report.seconds:.1f}s", err=True)
    if report.ingest.failed:
        sys.exit(1)


@cli.command()
@click.argument("corpus_dir", type=click.Path(file_okay=False, exists=True, path_type=Path))
@DB_ARGUMENT
def build(corpus_dir: Path, db: Path) -> None:
    """Build DB from CORPUS_DIR (a manifest.yaml, a review register and document folders).

    Runs every stage: ingest (unchanged files skipped), embed, link, status, publish.
    """
    run_build(corpus_dir, db)


@cli.command()
@click.option("--db", "db", type=click.Path(dir_okay=False, path_type=Path), default=Path("hewitt-tracker.db"), show_default=True)
@click.option("--no-serve", is_flag=True, help="Print the progress table instead of serving Datasette.")
@click.option("--port", default=8001, show_default=True, help="Port for Datasette.")
def demo(db: Path, no_serve: bool, port: int) -> None:
    """Build the bundled Hewitt Review corpus and serve it in Datasette (or print it)."""
    run_build(bundled_corpus(), db)
    if no_serve:
        from .export import status_rows
        from .status import derive_statuses, status_counts

        database = connect(db)
        statuses = derive_statuses(database)
        print_status(status_rows(database, statuses), status_counts(statuses), None)
    else:
        from .serve import serve

        serve(db, port=port)


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
    from .embed import get_embedder
    from .reconcile import reconcile as run_reconcile

    database = connect(db)
    from .recommendations import only_review

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


SPLIT_OPTION = click.option(
    "--split", type=click.Choice(["tune", "report", "all"]), default="report", show_default=True, help="Which half of a page gold file to use."
)
TEXTS_OPTION = click.option(
    "--texts", type=click.Path(exists=True, file_okay=False, path_type=Path), help="Folder of page texts (<id>.txt) for a page gold file."
)


@cli.command(name="eval")
@DB_ARGUMENT
@click.option("--gold", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True, help="Gold JSONL file (format in README).")
@TEXTS_OPTION
@SPLIT_OPTION
@click.option("--errors", "show_errors", default=10, show_default=True, help="How many errors to list (page evaluation).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def eval_command(db: Path, gold: Path, texts: Path | None, split: str, show_errors: int, as_json: bool) -> None:
    """Precision, recall and F1 of links, stance, positions and signals against a gold file.

    With --texts, GOLD labels real pages (one a line) whose texts are in the folder: they are
    ingested into a copy of DB (DB is not changed), linked and scored per page and recommendation,
    per task and per document kind, with the errors. Without it, GOLD judges passages already in DB.
    """
    if texts is not None:
        return print_page_report(db, gold, texts, split, show_errors, as_json)
    from .evaluate import evaluate, read_gold

    database = connect(db)
    try:
        scores = evaluate(database, read_gold(gold))
    except TrackerError as error:
        fail(str(error))
    if as_json:
        echo_json({task: score.as_dict() for task, score in scores.items()})
        return
    echo_table([score.as_dict() for score in scores.values()], ["task", "precision", "recall", "f1", "tp", "fp", "fn"])
    for score in scores.values():
        if score.confusion:
            click.echo(f"\n{score.task} (gold -> predicted): " + "; ".join(f"{k}: {v}" for k, v in score.as_dict()["confusion"].items()))
        for item in score.unresolved:
            click.echo(f"unresolved gold item ({score.task}): {item}", err=True)


def print_page_report(db: Path, gold: Path, texts: Path, split: str, show_errors: int, as_json: bool) -> None:
    from .realtext import evaluate_pages, read_pages

    connect(db)  # a clear error for a missing or foreign database
    try:
        report = evaluate_pages(db, read_pages(gold, split), texts, progress_bar)
    except TrackerError as error:
        fail(str(error))
    if as_json:
        return echo_json(report.as_dict())
    summary = report.as_dict()
    click.echo(f"{report.pages} pages ({split})" + (f"; no text for {len(report.missing_texts)}: {', '.join(report.missing_texts)}" if report.missing_texts else ""))
    echo_table([{"task": task, **score} for task, score in summary["scores"].items()], ["task", "precision", "recall", "f1", "tp", "fp", "fn"])
    for kind, tasks in summary["by_kind"].items():
        click.echo(f"\n{kind}: " + "; ".join(f"{task} F1 {score['f1']:.2f} ({score['tp']}/{score['tp'] + score['fn']})" for task, score in tasks.items()))
    if show_errors and report.errors:
        click.echo(f"\nerrors ({len(report.errors)}, first {min(show_errors, len(report.errors))}):")
        for wrong in report.errors[:show_errors]:
            click.echo(f"  {wrong['page']}  {wrong['task']:<9} {wrong['recommendation']}: gold {wrong['gold']}, predicted {wrong['predicted']}")


@cli.command()
@DB_ARGUMENT
@click.option("--gold", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Page gold file: fit on its tuning half too.")
@TEXTS_OPTION
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Also write the fitted scorer to this JSON file.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def fit(db: Path, gold: Path | None, texts: Path | None, out: Path | None, as_json: bool) -> None:
    """Refit the link scorer into DB from every person's confirm/reject in DB, the corpus digests'
    declared items, and (with --gold and --texts) the tuning half of a page gold file.

    Prints the held-out precision, recall and F1 before and after on the same examples, and the
    two thresholds chosen: `link` (shown as evidence) and `auto` (precision >= 0.9: decides a status
    without a person). Run `tracker link DB --rebuild` afterwards to apply it.
    """
    from .fit import corpus_labels, fit_link_scorer
    from .realtext import fit_on_pages, read_pages
    from .scorer import save_scorer

    database = connect(db)
    if (gold is None) != (texts is None):
        fail("give --gold and --texts together")
    try:
        if gold is not None and texts is not None:
            scorer, report = fit_on_pages(db, read_pages(gold, "tune"), texts, progress_bar)
        else:
            scorer, report = fit_link_scorer(database, {"corpus": corpus_labels(database)})
    except (TrackerError, ValueError) as error:
        fail(str(error))
    save_scorer(database, scorer)
    if out:
        out.write_text(json.dumps(scorer.as_dict(), indent=1), encoding="utf-8")
    if as_json:
        return echo_json(report)
    click.echo(f"examples: {report['examples']}, {report['positives']} linked")
    for name in ("before", "after_held_out", "after_auto_held_out", "pages_held_out", "decisions_held_out"):
        if report.get(name):
            click.echo(f"{name:<20} precision {report[name]['precision']:.2f}  recall {report[name]['recall']:.2f}  F1 {report[name]['f1']:.2f}")
    click.echo(f"thresholds: link {scorer.link_threshold}, auto {scorer.auto_threshold}; saved in {db}" + (f" and {out}" if out else ""))


@cli.command()
@DB_ARGUMENT
@click.option("--format", "fmt", type=click.Choice(["markdown", "csv", "json", "evidence-csv", "evidence-json"]), default="markdown", show_default=True,
              help="evidence-*: one row per piece of evidence, as the pages' downloads.")  # fmt: skip
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to a file instead of stdout.")
def export(db: Path, fmt: str, output: Path | None) -> None:
    """Export the progress report: Markdown (one section per recommendation, with citations), CSV or JSON."""
    from .export import evidence_csv, evidence_rows, progress_rows, to_csv, to_markdown

    database = connect(db)
    if fmt.startswith("evidence-"):
        found = evidence_rows(database)
        text = evidence_csv(found) if fmt == "evidence-csv" else json.dumps(found, indent=2, ensure_ascii=False)
    else:
        rows = progress_rows(database)
        text = to_markdown(database, rows) if fmt == "markdown" else to_csv(rows) if fmt == "csv" else json.dumps(rows, indent=2, ensure_ascii=False)
    if output:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text)


@cli.command(name="publish")
@DB_ARGUMENT
@click.option(
    "--metadata-out", type=click.Path(dir_okay=False, path_type=Path), help="Where to write the Datasette metadata (default: metadata.json beside DB)."
)
@click.option("--rebuild", is_flag=True, help="Re-read every row into the full-text indexes.")
@click.option("--json", "as_json", is_flag=True, help="Print what was built as JSON.")
def publish_command(db: Path, metadata_out: Path | None, rebuild: bool, as_json: bool) -> None:
    """Prepare DB for Datasette: full-text indexes, views and metadata.

    Builds FTS5 indexes (porter stemming, kept current by triggers) on passages, recommendations and
    documents; the views recommendation_progress, government_positions, stakeholder_positions and
    evidence_timeline; and writes the generated metadata (descriptions, facets, canned queries).
    Safe to run again.
    """
    from . import publish as publishing

    database = connect(db)
    summary = publishing.publish(database, rebuild=rebuild)
    database.close()
    out = publishing.write_metadata(db, metadata_out)
    if as_json:
        echo_json({**summary, "metadata": str(out)})
    else:
        indexed = ", ".join(f"{table} ({n})" for table, n in summary["fts"].items())
        click.echo(f"full-text indexes: {indexed}\nviews: {', '.join(summary['views'])}\nmetadata: {out}")


@cli.command(name="serve")
@DB_ARGUMENT
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on (0.0.0.0 for every interface).")
@click.option("--port", default=8001, show_default=True, type=int, help="Port to listen on.")
@click.option("--no-immutable", is_flag=True, help="Open DB read-write (default: immutable, -i, for published data).")
@click.option("--metadata-out", type=click.Path(dir_okay=False, path_type=Path), help="Where to write the metadata (default: metadata.json beside DB).")
def serve_command(db: Path, host: str, port: int, no_immutable: bool, metadata_out: Path | None) -> None:
    """Serve DB in Datasette with the tracker pages, until Ctrl-C.

    Publishes DB first when its full-text indexes or views are missing or older, writes the metadata
    and runs `datasette serve -i DB -m metadata.json` with the review_tracker plugin:
    /-/tracker/dashboard, /-/tracker/search and /-/tracker/recommendation/<id>.
    """
    from . import serve as serving

    connect(db).close()  # a readable error for a missing or broken database
    click.echo(f"serving {db} on http://{host}:{port}/-/tracker/dashboard (Ctrl-C to stop)", err=True)
    code = serving.serve(db, host=host, port=port, immutable=not no_immutable, metadata_out=metadata_out)
    if code:
        sys.exit(code)


@cli.command(name="search")
@DB_ARGUMENT
@click.argument("query")
@click.option("--mode", type=click.Choice(MODES), default="hybrid", show_default=True, help="Words and meaning fused, words (FTS5) or meaning only.")
@click.option("--kind", type=click.Choice(KINDS), help="Only passages of documents of this kind.")
@click.option("--publisher", help="Only passages of documents by this publisher.")
@click.option("--since", help="Only documents published on or after this date (YYYY[-MM[-DD]]).")
@click.option("--until", help="Only documents published on or before this date (YYYY[-MM[-DD]]).")
@click.option("--recommendation", "recommendation", metavar="REF", help="Only passages linked to this recommendation (id, slug, label, number or key).")
@click.option("--limit", type=click.IntRange(1, 100), default=20, show_default=True, help="How many passages to show.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def search_command(db: Path, query: str, mode: str, limit: int, as_json: bool, recommendation: str | None, **given: str | None) -> None:
    """Search the passages of DB by words and meaning, as the Datasette search page does.

    Full-text (BM25) and embedding similarity rankings fused by reciprocal rank; without passage
    embeddings or the model, words only (said on stderr). DB must be published (`tracker publish`).
    """
    from .ingest import normalise_date
    from .publish import is_published
    from .search import Filters, find_recommendation, search

    database = connect(db)
    if not is_published(database):
        fail(f"{db} is not published (or was published by an older version): run `tracker publish {db}` first")
    try:
        dates = {name: normalise_date(given[name]) for name in ("since", "until")}
        rec = find_recommendation(database, recommendation) if recommendation else None
        result = search(database, query, mode, Filters(given["kind"], given["publisher"], dates["since"], dates["until"], rec["id"] if rec else None), limit)
    except TrackerError as error:
        fail(str(error))
    if as_json:
        echo_json(result.as_dict())
        return
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    rows = [
        {"#": rank, "words": hit["fts_rank"], "meaning": hit["vector_rank"], "date": hit["date"], "publisher": hit["publisher"],
         "recommendations": ", ".join(r["label"] for r in hit["recommendations"]), "text": hit["text"]}
        for rank, hit in enumerate(result.hits, start=1)
    ]  # fmt: skip
    echo_table(rows, ["#", "words", "meaning", "date", "publisher", "recommendations", "text"])
    click.echo(f"{len(result.hits)} passages ({result.mode_used}: {result.fts_hits} word matches, {result.vector_hits} nearest by meaning)", err=True)
