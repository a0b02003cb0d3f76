"""Commands on statuses and people's decisions: status, confirm, reject, set-status, export."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..cli import DB_ARGUMENT, cli, connect, echo_json, echo_table, fail
from ..errors import TrackerError


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
    from ..dates import optional_date
    from ..export import status_rows
    from ..status import derive_statuses, refresh_statuses, status_counts

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


ACTOR_OPTION = click.option("--as", "actor", metavar="NAME", help="Who decides, for the audit trail (default: TRACKER_ACTOR or your login name).")


def link_judgement(function):
    """Arguments shared by `confirm` and `reject`."""
    decorators = (click.option("--json", "as_json", is_flag=True, help="Print the recorded decision as JSON."), ACTOR_OPTION,
                  click.option("--note", default="", help="Why."), click.argument("link_id"), DB_ARGUMENT, cli.command())  # fmt: skip
    for decorator in decorators:
        function = decorator(function)
    return function


@link_judgement
def confirm(db: Path, link_id: str, note: str, actor: str | None, as_json: bool) -> None:
    """Confirm link LINK_ID as right: it then counts with full confidence. Audited; survives rebuilds."""
    record_link_decision(db, "confirm", link_id, note, actor, as_json)


@link_judgement
def reject(db: Path, link_id: str, note: str, actor: str | None, as_json: bool) -> None:
    """Reject link LINK_ID as wrong: status ignores it. Audited; survives rebuilds."""
    record_link_decision(db, "reject", link_id, note, actor, as_json)


def record_link_decision(db: Path, action: str, link_id: str, note: str, actor: str | None, as_json: bool) -> None:
    from ..audit import cli_actor, decide_link

    try:
        decision = decide_link(connect(db, write=True), link_id, action, actor or cli_actor(), "cli", note)
    except TrackerError as error:
        fail(f"{error} in {db} (see the links table or `tracker review {db}`)")
    echo_decision(decision, as_json)


def echo_decision(decision, as_json: bool) -> None:
    """What a decision changed, in one line (or JSON)."""
    if as_json:
        echo_json(decision.as_dict())
        return
    done = f"{decision.action}ed link {decision.link_id}" if decision.link_id else "status set by hand"
    change = f"{decision.status_before} → {decision.status_after}" if decision.changed else f"stays {decision.status_after}"
    click.echo(f"{done}: {decision.recommendation} {change} (audit row {decision.id}, by {decision.actor})")


@cli.command(name="set-status")
@DB_ARGUMENT
@click.argument("recommendation")
@click.argument("status_name", metavar="STATUS")
@click.option("--note", required=True, help="Why (shown with the status).")
@click.option("--source", help="URL of the evidence.")
@click.option("--date", "effective", help="Date the status took effect: YYYY-MM-DD, YYYY-MM or YYYY (default today).")
@click.option("--review", help="Review slug (needed when DB has several).")
@ACTOR_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print the recorded decision as JSON.")
def set_status(db: Path, recommendation: str, status_name: str, note: str, source: str | None, effective: str | None, review: str | None,
               actor: str | None, as_json: bool) -> None:  # fmt: skip
    """Set RECOMMENDATION (label, number or register slug) to STATUS by hand. Audited; survives rebuilds."""
    from .. import audit
    from ..dates import parse_date

    database = connect(db, write=True)
    try:
        effective = parse_date(effective, "--date").iso if effective else None
        decision = audit.set_status(database, recommendation, status_name, note, actor or audit.cli_actor(), "cli",
                                    review=review, source=source, effective=effective)  # fmt: skip
    except TrackerError as error:
        fail(str(error))
    echo_decision(decision, as_json)


@cli.command()
@DB_ARGUMENT
@click.option("--format", "fmt", type=click.Choice(["markdown", "csv", "json", "evidence-csv", "evidence-json"]), default="markdown", show_default=True,
              help="evidence-*: one row per piece of evidence, as the pages' downloads.")  # fmt: skip
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to a file instead of stdout.")
def export(db: Path, fmt: str, output: Path | None) -> None:
    """Export the progress report: Markdown (one section per recommendation, with citations), CSV or JSON."""
    from ..export import evidence_csv, evidence_rows, progress_rows, to_csv, to_markdown

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
