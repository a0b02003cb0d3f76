"""Commands that build a whole tracker from a corpus folder: build, demo."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from ..cli import DB_ARGUMENT, cli, connect, current_analyzer, fail, progress_bar
from ..errors import TrackerError
from .status import print_status


def bundled_corpus() -> Path:
    """The Hewitt corpus shipped with the project (TRACKER_CORPUS overrides)."""
    candidates = [Path(os.environ["TRACKER_CORPUS"])] if os.environ.get("TRACKER_CORPUS") else []
    candidates += [Path(__file__).resolve().parents[2] / "corpus" / "hewitt-2023", Path.cwd() / "corpus" / "hewitt-2023"]
    for candidate in candidates:
        if (candidate / "manifest.yaml").exists():
            return candidate
    fail("bundled corpus not found: install from a checkout (pip install -e .) or set TRACKER_CORPUS")


def run_build(corpus_dir: Path, db: Path) -> None:
    """Build DB from a corpus folder and print what each stage did."""
    from .. import publish
    from ..build import build as build_tracker

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
        from ..export import status_rows
        from ..status import derive_statuses, status_counts

        database = connect(db)
        statuses = derive_statuses(database)
        print_status(status_rows(database, statuses), status_counts(statuses), None)
    else:
        from ..serve import serve

        serve(db, port=port)
