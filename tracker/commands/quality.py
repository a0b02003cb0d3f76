"""Commands that measure and fit the NLP: eval, agreement, fit."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..cli import DB_ARGUMENT, cli, connect, echo_json, echo_table, fail, progress_bar
from ..errors import TrackerError

if TYPE_CHECKING:
    from ..realtext import PageReport

SPLIT_OPTION = click.option(
    "--split",
    type=click.Choice(["tune", "report", "holdout", "all"]),
    default="report",
    show_default=True,
    help="Which part of a page gold file to use: the tuning half, the report half, or the pages held out since (measured, never fitted).",
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
    from ..evaluate import evaluate, read_gold

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
    from ..realtext import evaluate_pages, read_pages

    connect(db)  # a clear error for a missing or foreign database
    try:
        report = evaluate_pages(db, read_pages(gold, split), texts, progress_bar)
    except TrackerError as error:
        fail(str(error))
    echo_page_report(report, split, show_errors, as_json)


def echo_page_report(report: PageReport, split: str, show_errors: int, as_json: bool) -> None:
    if as_json:
        return echo_json(report.as_dict())
    summary = report.as_dict()
    click.echo(
        f"{report.pages} pages ({split})" + (f"; no text for {len(report.missing_texts)}: {', '.join(report.missing_texts)}" if report.missing_texts else "")
    )
    echo_table([{"task": task, **score} for task, score in summary["scores"].items()], ["task", "precision", "recall", "f1", "tp", "fp", "fn"])
    for kind, tasks in summary["by_kind"].items():
        click.echo(f"\n{kind}: " + "; ".join(f"{task} F1 {score['f1']:.2f} ({score['tp']}/{score['tp'] + score['fn']})" for task, score in tasks.items()))
    if show_errors and report.errors:
        click.echo(f"\nerrors ({len(report.errors)}, first {min(show_errors, len(report.errors))}):")
        for wrong in report.errors[:show_errors]:
            click.echo(f"  {wrong['page']}  {wrong['task']:<9} {wrong['recommendation']}: gold {wrong['gold']}, predicted {wrong['predicted']}")


@cli.command()
@click.argument("first", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("second", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@SPLIT_OPTION
@click.option("--errors", "show_errors", default=10, show_default=True, help="How many disagreements to list.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def agreement(first: Path, second: Path, split: str, show_errors: int, as_json: bool) -> None:
    """How far two readers' labels of the same real pages agree: SECOND is scored against FIRST exactly
    as `tracker eval --texts` scores the tracker (FIRST's split picks the pages; pages SECOND did not
    read are left out). No database or page text is needed.

    Two readers do not agree perfectly on what a page is about or what it says; a tracker figure
    near their agreement is as good as the labels can tell.
    """
    from ..realtext import agreement as score_agreement
    from ..realtext import read_pages

    try:
        report = score_agreement(read_pages(first, split), read_pages(second))
    except TrackerError as error:
        fail(str(error))
    if not report.pages:
        fail(f"no page of {second} is in the {split} pages of {first}")
    echo_page_report(report, split, show_errors, as_json)


@cli.command()
@DB_ARGUMENT
@click.option("--gold", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Page gold file: fit on its tuning half too.")
@TEXTS_OPTION
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Also write the fitted scorer to this JSON file.")
@click.option(
    "--readers-out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also refit the sentence readers on the training sentences plus the tuning pages (needs --gold and --texts) and write them to this JSON file.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def fit(db: Path, gold: Path | None, texts: Path | None, out: Path | None, readers_out: Path | None, as_json: bool) -> None:
    """Refit the link scorer into DB from every person's confirm/reject in DB, the corpus digests'
    declared items, and (with --gold and --texts) the tuning half of a page gold file.

    Prints the held-out precision, recall and F1 before and after on the same examples, and the
    two thresholds chosen: `link` (shown as evidence) and `auto` (precision >= 0.9: decides a status
    without a person). Run `tracker link DB --rebuild` afterwards to apply it.

    With --readers-out, the readers also learn from the tuning pages: the sentences of the passages
    linked to each labelled item whose cues say the page's label, or that name the item and have no
    cue, at most six per page and task, each weighing half a written sentence. Write them to
    tracker/data/readers.json to adopt them.
    """
    from ..fit import corpus_labels, fit_link_scorer
    from ..realtext import fit_on_pages, read_pages, refit_readers_on_pages
    from ..scorer import save_scorer

    database = connect(db)
    if (gold is None) != (texts is None) or (readers_out is not None and gold is None):
        fail("give --gold and --texts together (--readers-out needs both)")
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
    if readers_out is not None and gold is not None and texts is not None:
        try:
            report["readers"] = refit_readers_on_pages(db, read_pages(gold, "tune"), texts, readers_out, progress_bar)
        except TrackerError as error:
            fail(str(error))
    if as_json:
        return echo_json(report)
    click.echo(f"examples: {report['examples']}, {report['positives']} linked")
    for name in ("before", "after_held_out", "after_auto_held_out", "pages_held_out", "decisions_held_out"):
        if report.get(name):
            click.echo(f"{name:<20} precision {report[name]['precision']:.2f}  recall {report[name]['recall']:.2f}  F1 {report[name]['f1']:.2f}")
    click.echo(f"thresholds: link {scorer.link_threshold}, auto {scorer.auto_threshold}; saved in {db}" + (f" and {out}" if out else ""))
    if "readers" in report:
        click.echo(f"readers: {report['readers']['by_task']} sentences from the pages besides the written ones; saved in {readers_out}")
