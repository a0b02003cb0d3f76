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
from .db import open_db
from .errors import TrackerError

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

DB_ARGUMENT = click.argument("db", type=click.Path(dir_okay=False, path_type=Path))


def fail(message: str) -> NoReturn:
    raise click.ClickException(message)


# Commands that only read DB: they work on a read-only (immutable) file; every other one writes.
READ_COMMANDS = {"status", "documents", "recommendations", "links", "export", "search", "serve", "eval", "audit"}


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


# The commands register themselves on `cli` when their modules are imported.
from .commands import building, documents, quality, review, status, web  # noqa: F401
