"""Read-only databases (issue 13, item 6): read commands never write, write commands say "database
is read-only" in one line, and an out-of-date read-only schema is reported rather than migrated."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

import tracker
from tracker.cli import cli
from tracker.locking import ReadOnlyError
from tracker.status import refresh_statuses

NOTE = "---\ntitle: Ferry note\nkind: evidence\ndate: 2024-05-01\n---\n\nThe pier reopened in May (register: prevention-share).\n"


def make_immutable(path: Path) -> None:
    """chattr +i as root (root writes through file modes), else read-only modes."""
    if os.geteuid() == 0:
        if subprocess.run(["chattr", "+i", str(path)], capture_output=True, check=False).returncode != 0:
            pytest.skip("cannot make a file immutable here (chattr +i)")
    else:
        path.chmod(0o444)


def release(path: Path) -> None:
    if os.geteuid() == 0:
        subprocess.run(["chattr", "-i", str(path)], capture_output=True, check=False)
    else:
        path.chmod(0o644)


def fingerprint(path: Path) -> tuple[str, float]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime


@pytest.fixture
def frozen_db(register_db, tmp_path):
    """The register, one evidence note linked to R1, statuses stored; then made immutable."""
    note = tmp_path / "note.md"
    note.write_text(NOTE)
    db = tracker.open_db(register_db)
    result = tracker.ingest(db, str(note), {"review": "hewitt-2023"})
    passage = db.execute("select id from passages where document_id = ?", [result.document_id]).fetchone()[0]
    db["links"].insert({"id": "L-1", "passage_id": passage, "document_id": result.document_id, "recommendation_id": 1, "task": "signal",
                        "label": "in_progress", "method": "explicit", "quote": "The pier reopened in May."})  # fmt: skip
    refresh_statuses(db)
    db.execute("update statuses set status = 'stale-on-purpose'")  # a stored status that a refresh would overwrite
    db.conn.execute("pragma wal_checkpoint(truncate)")
    db.close()
    make_immutable(register_db)
    yield register_db
    release(register_db)


@pytest.mark.parametrize(
    "args",
    [["status"], ["status", "--json"], ["status", "--as-of", "2024"], ["documents"], ["recommendations"], ["export", "--format", "json"], ["links"]],
)
def test_read_commands_work_and_write_nothing(cli_runner, frozen_db, args):
    before = fingerprint(frozen_db)
    result = cli_runner.invoke(cli, [args[0], str(frozen_db), *args[1:]])
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    assert fingerprint(frozen_db) == before


def test_status_on_a_read_only_database_is_computed_on_the_fly(cli_runner, frozen_db):
    result = cli_runner.invoke(cli, ["status", str(frozen_db), "--json"])
    r1 = next(r for r in json.loads(result.stdout)["recommendations"] if r["label"] == "R1")
    assert r1["status"] == "in_progress"  # derived from the link, not the stored 'stale-on-purpose'


@pytest.mark.parametrize(
    "args",
    [
        ["ingest", "{db}", "{note}"],
        ["set-status", "{db}", "R1", "planned", "--note", "by hand"],
        ["confirm", "{db}", "L-1"],
        ["reject", "{db}", "L-1"],
        ["init", "{db}"],
        ["publish", "{db}"],
        ["link", "{db}"],
    ],
)
def test_write_commands_say_read_only_in_one_line(cli_runner, frozen_db, tmp_path, args):
    other = tmp_path / "other.md"
    other.write_text(NOTE.replace("Ferry note", "Another note"))
    before = fingerprint(frozen_db)
    result = cli_runner.invoke(cli, [arg.format(db=frozen_db, note=other) for arg in args])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and result.exception is None or isinstance(result.exception, SystemExit)
    [line] = [line for line in result.output.splitlines() if line.strip()]
    assert line == f"Error: {frozen_db}: database is read-only"
    assert fingerprint(frozen_db) == before


def test_library_refuses_writes_before_sqlite_does(frozen_db):
    db = tracker.open_db(frozen_db)
    assert db.read_only
    with pytest.raises(ReadOnlyError, match="database is read-only"):
        db["reviews"].insert({"slug": "x"})
    with pytest.raises(ReadOnlyError, match="database is read-only"):
        db.execute("delete from overrides")
    assert db.execute("select count(*) from recommendations").fetchone()[0] == 30


def test_read_only_database_with_an_old_schema_says_so(cli_runner, fixture_file, tmp_path):
    path = tmp_path / "legacy.db"
    shutil.copy(fixture_file("schema_004.sqlite"), path)
    make_immutable(path)
    try:
        result = cli_runner.invoke(cli, ["status", str(path)])
        assert result.exit_code == 1 and "Traceback" not in result.output
        [line] = [line for line in result.output.splitlines() if line.strip()]
        assert "database is read-only and its schema" in line and "older" in line and "tracker init" in line
    finally:
        release(path)


def test_open_read_only_on_request(register_db):
    db = tracker.open_db(register_db, read_only=True)
    assert db.read_only
    with pytest.raises(ReadOnlyError):
        db["reviews"].insert({"slug": "x"})
