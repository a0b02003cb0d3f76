"""People's review of machine links: the queue, decisions and their audit trail (library and CLI),
reviewers' accounts, and the review page through `datasette.client` — sign-in, permissions, CSRF,
bad input and decisions made by two people at once.

Works on a copy of conftest's `changed_db`: two undecided similarity links (L-stance-2 on
running-costs, L-new-2 on cqc-system-assessment below its auto threshold, so confirming it
changes a status), one confirmed (L-sig-2), one rejected (L-stance-3) and a status set by hand.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import copy_database
from datasette.app import Datasette
from sqlite_utils.db import sqlite3  # the tracker's own driver: two SQLite libraries in one process drop each other's file locks

import tracker
from tracker.audit import AlreadyDecided, DecisionError, audit_rows, decide_link, set_status
from tracker.cli import cli
from tracker.publish import metadata
from tracker.review import context, pending
from tracker.users import USERS_ENV, add_user, read_users

PASSWORD = "a long enough secret"


@pytest.fixture
def copy(changed_db, tmp_path) -> Path:
    return copy_database(changed_db, tmp_path / "live.db")


def status_of(path: Path, slug: str) -> str:
    with sqlite3.connect(path) as conn:
        return conn.execute("select s.status from statuses s join recommendations r on r.id = s.recommendation_id where r.slug = ?", [slug]).fetchone()[0]


def decisions(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return conn.execute("select count(*) from overrides").fetchone()[0]


def test_queue_holds_undecided_machine_links_those_that_change_a_status_first(copy):
    db = tracker.open_db(copy)
    queue = pending(db)
    assert [item.link["id"] for item in queue.items] == ["L-new-2", "L-stance-2"]
    first = queue.items[0]
    assert (first.status_now, first.if_confirmed, first.would_change, first.decides_now) == ("accepted_no_action_found", "stalled", True, False)
    assert queue.items[1].would_change is False  # a stance link never moves a status
    assert [i.link["id"] for i in pending(db, recommendation="running-costs").items] == ["L-stance-2"]
    assert pending(db, skip=("L-new-2",)).total == 2 and len(pending(db, skip=("L-new-2",)).items) == 1
    shown = context(db, first.link)
    assert "remain paused" in shown["text"] and shown["document"]["publisher"] == "Care Watchdog"
    assert shown["recommendation"]["label"] and shown["wording"] == "quote"


def test_a_decision_is_audited_with_the_status_before_and_after_and_undone_only_by_a_later_one(copy):
    db = tracker.open_db(copy)
    decision = decide_link(db, "L-new-2", "confirm", "ana", "web", "  paused, as the report says  ", seen=0)
    assert (decision.status_before, decision.status_after, decision.changed) == ("accepted_no_action_found", "stalled", True)
    assert status_of(copy, "cqc-system-assessment") == "stalled"
    row = audit_rows(db)[-1]
    assert {k: row[k] for k in ("actor", "origin", "action", "link_id", "note")} == {
        "actor": "ana", "origin": "web", "action": "confirm", "link_id": "L-new-2", "note": "paused, as the report says"}  # fmt: skip
    tamper = sqlite3.connect(copy)  # another program editing history
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        tamper.execute("update overrides set actor = 'mallory' where id = ?", [row["id"]])
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        tamper.execute("delete from overrides")
    tamper.close()
    undone = decide_link(db, "L-new-2", "reject", "ben", "cli", "on reflection, no")
    assert (undone.status_before, undone.status_after) == ("stalled", "accepted_no_action_found")
    assert status_of(copy, "cqc-system-assessment") == "accepted_no_action_found"
    assert [r["action"] for r in audit_rows(db, db.execute("select id from recommendations where slug = 'cqc-system-assessment'").fetchone()[0])] == [
        "confirm", "reject"]  # fmt: skip


def test_a_decision_someone_made_meanwhile_wins_and_a_repeated_click_writes_nothing(copy):
    db = tracker.open_db(copy)
    first = decide_link(db, "L-new-2", "confirm", "ana", "web", seen=0)
    before = decisions(copy)
    again = decide_link(db, "L-new-2", "confirm", "ana", "web", seen=0)  # the same click twice
    assert (again.recorded, again.id, decisions(copy)) == (False, first.id, before)
    with pytest.raises(AlreadyDecided, match="confirmed by ana"):
        decide_link(db, "L-new-2", "reject", "ben", "web", seen=0)  # ben saw it undecided
    assert decisions(copy) == before and status_of(copy, "cqc-system-assessment") == "stalled"


@pytest.mark.parametrize(
    "link_id, action, note, message",
    [("L-nope", "confirm", "", "no link L-nope"), ("L-new-2", "approve", "", "unknown decision"), ("L-new-2", "confirm", "x" * 100_000, "at most 2,000")],
)
def test_bad_decisions_write_nothing(copy, link_id, action, note, message):
    db = tracker.open_db(copy)
    before = decisions(copy)
    with pytest.raises(DecisionError, match=message):
        decide_link(db, link_id, action, "ana", note=note)
    assert decisions(copy) == before


def test_decisions_survive_relinking(copy):
    """Link ids come from the document, passage and recommendation: the same link made again after
    `link --rebuild` carries the decision recorded on it."""
    db = tracker.open_db(copy)
    decide_link(db, "L-new-2", "confirm", "ana")
    saved = [dict(row) for row in db.query("select * from links")]
    with db.atomic():
        db.execute("delete from links")
        db["links"].insert_all(saved)
    tracker.status.refresh_statuses(db)
    assert status_of(copy, "cqc-system-assessment") == "stalled"


def test_set_status_by_hand_is_audited(copy):
    db = tracker.open_db(copy)
    decision = set_status(db, "cqc-system-assessment", "planned", "A plan was announced", "ana", source="https://example.org/plan")
    assert (decision.status_before, decision.status_after, decision.link_id) == ("accepted_no_action_found", "planned", None)
    with pytest.raises(DecisionError, match="needs a note"):
        set_status(db, "cqc-system-assessment", "planned", " ", "ana")


def test_review_command_decides_one_link_at_a_time(copy, cli_runner):
    result = cli_runner.invoke(cli, ["review", str(copy), "--as", "cara"], input="y\nseen in the report\nq\n")
    assert result.exit_code == 0, result.output
    assert "if confirmed stalled" in result.output and "accepted_no_action_found → stalled" in result.output
    assert "1 decided, 0 skipped; 1 waiting" in result.output
    audit = cli_runner.invoke(cli, ["audit", str(copy), "--format", "json"])
    last = json.loads(audit.output)[-1]
    assert (last["actor"], last["origin"], last["note"], last["status_after"]) == ("cara", "cli", "seen in the report", "stalled")
    csv_text = cli_runner.invoke(cli, ["audit", str(copy), "--format", "csv", "--recommendation", "cqc-system-assessment"]).output
    assert csv_text.splitlines()[0].startswith("id,created_at,actor,origin") and ",cara,cli,confirm," in csv_text


def test_confirm_command_names_its_actor_and_refuses_a_long_note(copy, cli_runner):
    result = cli_runner.invoke(cli, ["confirm", str(copy), "L-new-2", "--as", "dee", "--json"])
    assert result.exit_code == 0 and json.loads(result.output)["actor"] == "dee"
    refused = cli_runner.invoke(cli, ["reject", str(copy), "L-stance-2", "--note", "n" * 3000])
    assert refused.exit_code == 1 and "at most 2,000" in refused.output and "Traceback" not in refused.output


def test_users_commands_keep_hashes_outside_the_database(copy, cli_runner, tmp_path):
    added = cli_runner.invoke(cli, ["users", "add", str(copy), "ana", "--password-stdin"], input=PASSWORD + "\n")
    assert added.exit_code == 0, added.output
    users_file = copy.with_name("live.users.json")
    stored = read_users(users_file)
    assert stored["ana"]["roles"] == ["reviewer"] and stored["ana"]["password_hash"].startswith("pbkdf2_sha256$")
    assert PASSWORD not in users_file.read_text() and oct(users_file.stat().st_mode & 0o777) == "0o600"
    assert json.loads(cli_runner.invoke(cli, ["users", "list", str(copy), "--json"]).output) == [{"name": "ana", "roles": "reviewer"}]
    short = cli_runner.invoke(cli, ["users", "add", str(copy), "bob", "--password-stdin"], input="short\n")
    assert short.exit_code == 1 and "too short" in short.output
    assert cli_runner.invoke(cli, ["users", "remove", str(copy), "ana"]).exit_code == 0 and read_users(users_file) == {}


# --- the review page -------------------------------------------------------------------------


@pytest.fixture
def site(copy, tmp_path, monkeypatch) -> Datasette:
    users = tmp_path / "users.json"
    add_user(users, "ana", PASSWORD)
    add_user(users, "ben", PASSWORD)
    monkeypatch.setenv(USERS_ENV, str(users))
    return Datasette([str(copy)], metadata=metadata(copy))


async def csrf(ds: Datasette, cookies: dict | None = None) -> str:
    response = await ds.client.get("/-/login", cookies=cookies or {})  # a page with a form: it sets the token cookie
    assert response.status_code == 200
    return response.cookies["ds_csrftoken"]


def signed_in(ds: Datasette, name: str, roles: tuple[str, ...] = ("reviewer",)) -> dict:
    return {"ds_actor": ds.sign({"a": {"id": name, "roles": list(roles)}}, "actor")}


async def post(ds: Datasette, data: dict, cookies: dict, token: str | None = "fetch"):
    if token == "fetch":
        token = await csrf(ds, cookies)
    return await ds.client.post(
        "/-/tracker/review/decide", data={**data, **({"csrftoken": token} if token else {})}, cookies={**cookies, **({"ds_csrftoken": token} if token else {})}
    )


@pytest.mark.asyncio
async def test_anonymous_visitors_read_the_queue_and_cannot_decide(site, copy):
    page = await site.client.get("/-/tracker/review")
    assert page.status_code == 200 and "L-new-2" in page.text and "Sign in" in page.text and 'name="action"' not in page.text
    before = decisions(copy)
    response = await post(site, {"link_id": "L-new-2", "action": "confirm", "seen": "0"}, {})
    assert response.status_code == 403 and decisions(copy) == before
    forged = await post(site, {"link_id": "L-new-2", "action": "confirm", "seen": "0"}, signed_in(site, "mallory"))
    assert forged.status_code == 403 and decisions(copy) == before  # a signed cookie for someone not in the users file


@pytest.mark.asyncio
async def test_a_post_without_a_csrf_token_is_refused(site, copy):
    before = decisions(copy)
    response = await post(site, {"link_id": "L-new-2", "action": "confirm", "seen": "0"}, signed_in(site, "ana"), token=None)
    assert response.status_code == 403 and "did not match cookie" in response.text and decisions(copy) == before  # asgi-csrf, before any view


@pytest.mark.asyncio
async def test_sign_in_then_confirm_shows_the_change_and_the_audit_row(site, copy):
    token = await csrf(site)
    login = await site.client.post("/-/login", data={"username": "ana", "password": PASSWORD, "csrftoken": token}, cookies={"ds_csrftoken": token})
    assert login.status_code == 302 and "ds_actor" in login.cookies
    cookies = {"ds_actor": login.cookies["ds_actor"]}
    page = await site.client.get("/-/tracker/review", cookies=cookies)
    assert 'value="confirm"' in page.text and "Signed in as ana" in page.text
    response = await post(site, {"link_id": "L-new-2", "action": "confirm", "seen": "0", "note": "<b>seen</b> it"}, cookies)
    assert response.status_code == 303 and "decided=" in response.headers["location"]
    done = await site.client.get(response.headers["location"], cookies=cookies)
    assert "Its status changed" in done.text and "stalled" in done.text
    rec = await site.client.get("/-/tracker/recommendation/cqc-system-assessment")
    assert "tr-actor" in rec.text and ">ana<" in rec.text and "&lt;b&gt;seen&lt;/b&gt; it" in rec.text and "<b>seen</b>" not in rec.text
    audit = await site.client.get("/-/tracker/audit.json?recommendation=cqc-system-assessment")
    assert [(d["actor"], d["origin"], d["status_after"]) for d in audit.json()["decisions"]][-1] == ("ana", "web", "stalled")


@pytest.mark.asyncio
async def test_bad_and_concurrent_decisions_on_the_page_change_nothing(site, copy):
    ana, ben = signed_in(site, "ana"), signed_in(site, "ben")
    before = decisions(copy)
    cases = [({"link_id": "L-nope", "action": "confirm", "seen": "0"}, 404, "no link L-nope"),
             ({"link_id": "<script>x()</script>", "action": "confirm", "seen": "0"}, 404, "no link &lt;script&gt;x()&lt;/script&gt;"),
             ({"link_id": "L-new-2", "action": "confirm", "seen": "0", "note": "x" * 100_000}, 400, "at most 2,000")]  # fmt: skip
    for data, status, message in cases:
        response = await post(site, data, ana)
        assert response.status_code == status and message in response.text and decisions(copy) == before
    assert (await site.client.get("/-/tracker/review/decide?link_id=L-new-2&action=confirm", cookies=ana)).status_code == 405
    assert decisions(copy) == before
    assert (await post(site, {"link_id": "L-new-2", "action": "confirm", "seen": "0"}, ana)).status_code == 303
    assert (await post(site, {"link_id": "L-new-2", "action": "confirm", "seen": "0"}, ana)).status_code == 303  # a double click
    late = await post(site, {"link_id": "L-new-2", "action": "reject", "seen": "0"}, ben)
    assert late.status_code == 409 and "confirmed by ana" in late.text
    assert decisions(copy) == before + 1 and status_of(copy, "cqc-system-assessment") == "stalled"


@pytest.mark.asyncio
async def test_a_read_only_snapshot_takes_no_decision(copy, tmp_path, monkeypatch):
    users = tmp_path / "users.json"
    add_user(users, "ana", PASSWORD)
    monkeypatch.setenv(USERS_ENV, str(users))
    ds = Datasette(immutables=[str(copy)], metadata=metadata(copy))
    page = await ds.client.get("/-/tracker/review", cookies=signed_in(ds, "ana"))
    assert "read-only snapshot" in page.text and 'name="action"' not in page.text
    response = await post(ds, {"link_id": "L-new-2", "action": "confirm", "seen": "0"}, signed_in(ds, "ana"))
    assert response.status_code == 403 and decisions(copy) == 3
