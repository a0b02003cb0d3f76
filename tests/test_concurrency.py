"""Several `tracker` processes on one database (issue 13, item 2), with real processes, not threads:
writers wait for each other, a writer kept waiting too long says so in one line, and a document saved
by a run that never linked it is linked by the next ingest, whatever interrupted that run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import tracker

CLI = [sys.executable, "-c", "import sys; from tracker.cli import cli; sys.exit(cli())"]
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}


def write_note(path: Path, n: int, paragraphs: int = 200) -> Path:
    body = "\n\n".join(
        f"Note {n}, paragraph {p}: the harbour board reviewed ferry route {p} and agreed to publish its winter timetable (register: prevention-share)."
        for p in range(paragraphs)
    )
    path.write_text(f"---\ntitle: Harbour note {n}\nkind: evidence\ndate: 2024-0{1 + n % 9}-01\n---\n\n{body}\n")
    return path


def start(*args: str, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen([*CLI, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env or ENV)


def finish(process: subprocess.Popen, timeout: float = 240) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out, err


def check_whole(path: Path) -> tracker.TrackerError | None:
    db = tracker.open_db(path, create=False)
    assert db.execute("pragma integrity_check").fetchone()[0] == "ok"
    assert db.execute("pragma foreign_key_check").fetchall() == []
    for table in ("passages", "entities", "mentions", "links"):
        orphans = db.execute(f"select count(*) from {table} where document_id not in (select id from documents)").fetchone()[0]
        assert orphans == 0, table
    for document_id, count, first, last in db.execute("select document_id, count(*), min(seq), max(seq) from passages group by document_id"):
        assert (first, last) == (0, count - 1), document_id  # every document whole
    return None


@pytest.mark.parametrize("fresh", [False, True], ids=["existing-db", "db-created-by-the-writers"])
def test_concurrent_ingests_of_different_files_all_land(tmp_path, register_db, fresh):
    db_path = tmp_path / "fresh.db" if fresh else register_db
    notes = [write_note(tmp_path / f"note{n}.md", n) for n in range(5)]
    processes = [start("ingest", str(db_path), str(note), "--no-link") for note in notes]
    outcomes = [finish(process) for process in processes]
    for code, out, err in outcomes:
        assert code == 0, err
        assert "Traceback" not in err and "locked" not in err
        assert out.startswith("ingested")
    check_whole(db_path)
    db = tracker.open_db(db_path)
    assert db.execute("select count(*) from documents").fetchone()[0] == 5
    assert {row[0] for row in db.execute("select title from documents")} == {f"Harbour note {n}" for n in range(5)}


HOLD_LOCK = """
import sys, time
from sqlite_utils.db import sqlite3
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("begin immediate")
print("LOCKED", flush=True)
time.sleep(float(sys.argv[2]))
conn.execute("rollback")
"""


def hold_lock(db_path: Path, seconds: float) -> subprocess.Popen:
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(db_path), str(seconds)], stdout=subprocess.PIPE, text=True, env=ENV)
    assert holder.stdout.readline().strip() == "LOCKED"
    return holder


def test_a_writer_kept_waiting_gives_up_in_one_line(tmp_path, register_db):
    note = write_note(tmp_path / "note.md", 1, paragraphs=3)
    holder = hold_lock(register_db, 30)
    try:
        code, _, err = finish(start("ingest", str(register_db), str(note), env={**ENV, "TRACKER_LOCK_WAIT": "1"}))
    finally:
        holder.kill()
        holder.wait()
    assert code == 1 and "Traceback" not in err
    [line] = [line for line in err.splitlines() if line.strip()]
    assert line.startswith("Error: ") and "database is locked by another writer" in line and "gave up after" in line
    assert tracker.open_db(register_db).execute("select count(*) from documents").fetchone()[0] == 0


def test_a_writer_waits_for_the_lock_and_then_writes(tmp_path, register_db):
    note = write_note(tmp_path / "note.md", 1, paragraphs=3)
    holder = hold_lock(register_db, 6)  # longer than SQLite's own busy timeout per attempt would matter
    started = time.monotonic()
    code, _, err = finish(start("ingest", str(register_db), str(note), env={**ENV, "TRACKER_LOCK_WAIT": "60"}))
    holder.wait()
    assert code == 0, err
    assert time.monotonic() - started >= 4  # it did wait for the holder
    assert tracker.open_db(register_db).execute("select count(*) from documents").fetchone()[0] == 1


# --- interrupted before linking, then linked by the next run (loads the embedding model) --------------

STOP_BEFORE_LINKING = """
import sys, time
import tracker.build as build
def hang(*args, **kwargs):
    print("LINKING", flush=True)
    time.sleep(600)
build.link = hang
from tracker.cli import cli
sys.exit(cli(sys.argv[1:]))
"""


def mark_linked(db_path: Path) -> None:
    """A database some link run has read, as `tracker link` leaves it."""
    db = tracker.open_db(db_path)
    db["runs"].insert({"command": "link", "version": tracker.__version__, "started_at": "2026-01-01T00:00:00+00:00"})
    db.close()


def unlinked(db_path: Path) -> list[str]:
    db = tracker.open_db(db_path)
    return [row[0] for row in db.execute("select title from documents where kind != 'review' and linked_run is null")]


@pytest.mark.slow
def test_documents_saved_but_not_linked_are_linked_by_the_next_ingests(tmp_path, register_db):
    mark_linked(register_db)
    first = write_note(tmp_path / "first.md", 1, paragraphs=4)
    killed = subprocess.Popen(
        [sys.executable, "-c", STOP_BEFORE_LINKING, "ingest", str(register_db), str(first)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV
    )
    try:
        for line in iter(killed.stdout.readline, ""):  # until the run reaches linking (or dies first)
            if line.startswith("LINKING"):
                break
        else:
            pytest.fail(f"the ingest never reached linking: {killed.stderr.read()}")
    finally:
        killed.send_signal(signal.SIGKILL)
        killed.wait()
    assert unlinked(register_db) == ["Harbour note 1"]  # saved, never linked
    code, out, err = finish(start("ingest", str(register_db), str(first)))  # the same bytes again: "unchanged", yet linked
    assert code == 0, err
    assert out.startswith("unchanged") and "What this changes" in out
    assert unlinked(register_db) == []
    notes = [write_note(tmp_path / f"note{n}.md", n, paragraphs=4) for n in (2, 3, 4)]
    outcomes = [finish(process) for process in [start("ingest", str(register_db), str(note)) for note in notes]]
    for code, out, err in outcomes:
        assert code == 0 and "Traceback" not in err, err
        assert out.startswith("ingested")
    assert unlinked(register_db) == []
    db = tracker.open_db(register_db)
    linked = {row[0] for row in db.execute("select distinct d.title from links l join documents d on d.id = l.document_id")}
    assert linked == {f"Harbour note {n}" for n in (1, 2, 3, 4)}  # each cites (register: prevention-share)
    check_whole(register_db)
