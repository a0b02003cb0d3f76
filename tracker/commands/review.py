"""Commands on people's review work: review (the queue in the terminal), audit, users."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..cli import DB_ARGUMENT, cli, connect, echo_json, echo_table, fail
from ..errors import TrackerError
from .status import ACTOR_OPTION, echo_decision

KEYS = {"y": "confirm", "n": "reject", "s": "skip", "q": "quit"}


@cli.command(name="review")
@DB_ARGUMENT
@click.option("--recommendation", metavar="REF", help="Only links to this recommendation (label, number or slug; its parts included).")
@click.option("--document", type=int, metavar="ID", help="Only links from this document.")
@click.option("--method", type=click.Choice(["named", "semantic"]), help="Only links made this way.")
@ACTOR_OPTION
def review_command(db: Path, recommendation: str | None, document: int | None, method: str | None, actor: str | None) -> None:
    """Review machine links one at a time: y confirm, n reject, s skip, q quit.

    Links whose decision would change a status come first, then the surest. Each shows the passage
    with its heading and neighbours, the document, the recommendation and the status now, if
    confirmed and if rejected. Every decision goes to the audit trail (`tracker audit`).
    """
    from ..audit import cli_actor, decide_link
    from ..review import pending

    database = connect(db, write=True)
    who, decided = actor or cli_actor(), 0
    skipped: list[str] = []
    while True:
        try:
            queue = pending(database, skip=tuple(skipped), limit=1, recommendation=recommendation, document=document, method=method)
        except TrackerError as error:
            fail(str(error))
        if not queue.items:
            break
        item = queue.items[0]
        show_item(database, item, queue.total - len(skipped))
        choice = KEYS[click.prompt("[y]es confirm, [n]o reject, [s]kip, [q]uit", type=click.Choice(list(KEYS)), show_choices=False)]
        if choice == "quit":
            break
        if choice == "skip":
            skipped.append(item.link["id"])
            continue
        note = click.prompt("note (optional)", default="", show_default=False)
        try:
            echo_decision(decide_link(database, item.link["id"], choice, who, "cli", note, seen=0), as_json=False)
        except TrackerError as error:
            click.echo(f"not recorded: {error}", err=True)
            continue
        decided += 1
    click.echo(f"{decided} decided, {len(skipped)} skipped; {pending(database, recommendation=recommendation, document=document, method=method).total} waiting")


def show_item(database, item, left: int) -> None:
    """One queued link as a reviewer reads it in a terminal."""
    from ..review import context

    shown = context(database, item.link)
    rec, doc, link = shown["recommendation"], shown["document"], item.link
    click.echo("\n" + click.style(f"{left} waiting", dim=True))
    click.echo(click.style(f"{rec['label']}: {rec['title'] or ''}", bold=True) + f"\n  {rec['summary'] or ''}")
    click.echo(
        f"{doc.get('title')} — {doc.get('publisher') or 'publisher unknown'}, {doc.get('date') or 'undated'}" + (f"\n  {doc['url']}" if doc.get("url") else "")
    )
    if shown["heading"]:
        click.echo(click.style(f"  § {shown['heading']}", dim=True))
    for text in shown["before"]:
        click.echo(click.style(f"  {text}", dim=True))
    click.echo(f"> {shown['text']}" + ("  [the tracker's summary]" if shown["wording"] == "summary" else ""))
    for text in shown["after"]:
        click.echo(click.style(f"  {text}", dim=True))
    probability = f"{link['probability']:.2f}" if link["probability"] is not None else "?"
    click.echo(f"link {link['id']}: {link['method']}, {link['task']} {link['label'] or ''}, probability {probability}"
               + (" (counts now)" if item.decides_now else " (waits for a person)"))  # fmt: skip
    click.echo(f"status now {item.status_now}; if confirmed {item.if_confirmed}; if rejected {item.if_rejected}")


@cli.command(name="audit")
@DB_ARGUMENT
@click.option("--recommendation", metavar="REF", help="Only decisions about this recommendation.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True, help="Output format.")
def audit_command(db: Path, recommendation: str | None, fmt: str) -> None:
    """The audit trail: every decision by a person (who, when, from where, the note, the status
    before and after), oldest first. It is append-only: a decision is undone by a later one."""
    from ..audit import audit_csv, audit_rows
    from ..recommendations import resolve

    database = connect(db)
    try:
        top_id = resolve(database, recommendation)["id"] if recommendation else None
    except TrackerError as error:
        fail(str(error))
    found = audit_rows(database, top_id)
    if fmt == "json":
        echo_json(found)
    elif fmt == "csv":
        sys.stdout.write(audit_csv(found))
    else:
        echo_table(found, ["id", "created_at", "actor", "origin", "action", "recommendation", "status_before", "status_after", "note"])


@cli.group(name="users")
def users_group() -> None:
    """Reviewers who may sign in to `tracker serve` (at /-/login) and confirm or reject links.

    Names, roles and password hashes (PBKDF2, made by datasette-auth-passwords) are kept in a users
    file beside the database (DB.users.json, or --users FILE), never in the database itself.
    """


USERS_OPTION = click.option("--users", "users_file", type=click.Path(dir_okay=False, path_type=Path), help="The users file (default: DB.users.json beside DB).")


@users_group.command(name="add")
@DB_ARGUMENT
@click.argument("name")
@USERS_OPTION
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input instead of prompting.")
def users_add(db: Path, name: str, users_file: Path | None, password_stdin: bool) -> None:
    """Add reviewer NAME to DB's users (or set a new password); the password is prompted for."""
    from ..users import add_user, users_path

    password = sys.stdin.readline().rstrip("\n") if password_stdin else click.prompt("password", hide_input=True, confirmation_prompt=True)
    path = users_path(db, users_file)
    try:
        new = add_user(path, name, password)
    except TrackerError as error:
        fail(str(error))
    click.echo(f"{'added' if new else 'updated'} reviewer {name} in {path}")


@users_group.command(name="remove")
@DB_ARGUMENT
@click.argument("name")
@USERS_OPTION
def users_remove(db: Path, name: str, users_file: Path | None) -> None:
    """Remove NAME: their signed-in session stops working at once."""
    from ..users import remove_user, users_path

    try:
        remove_user(users_path(db, users_file), name)
    except TrackerError as error:
        fail(str(error))
    click.echo(f"removed {name}")


@users_group.command(name="list")
@DB_ARGUMENT
@USERS_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def users_list(db: Path, users_file: Path | None, as_json: bool) -> None:
    """The users and their roles (never their hashes)."""
    from ..users import read_users, users_path

    try:
        users = read_users(users_path(db, users_file))
    except TrackerError as error:
        fail(str(error))
    found = [{"name": name, "roles": ", ".join(user.get("roles", []))} for name, user in sorted(users.items())]
    if as_json:
        echo_json(found)
    else:
        echo_table(found, ["name", "roles"])
