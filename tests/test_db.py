"""The store: WAL, foreign keys, and sqlite-utils migrations that upgrade an old database in place."""

import shutil
from pathlib import Path

import sqlite_utils

from tracker.db import MIGRATIONS, migrate, open_db, schema_version

STEPS = [m.name for m in MIGRATIONS.pending(sqlite_utils.Database(memory=True))]
# A database written by the schema of 2026-11-24 (hand-rolled `schema_migrations`, steps 001-004),
# with the register and one evidence note in it: it must open and upgrade with its rows intact.
LEGACY_DATABASE = Path(__file__).parent / "fixtures" / "schema_004.sqlite"


def test_new_database_is_wal_with_foreign_keys(tmp_path):
    db = open_db(tmp_path / "t.db")
    assert db.execute("pragma journal_mode").fetchone()[0] == "wal"
    assert db.execute("pragma foreign_keys").fetchone()[0] == 1
    assert schema_version(db) == STEPS[-1]
    assert {"documents", "passages", "recommendations", "links", "statuses", "status_history", "overrides"} <= set(db.table_names())


def test_old_database_is_migrated_and_keeps_its_rows(tmp_path):
    path = tmp_path / "old.db"
    db = open_db(path)
    db["reviews"].insert({"slug": "r", "title": "An old review"})
    db.execute("delete from _sqlite_migrations where name != ?", [STEPS[0]])
    for table in ("links", "runs", "embeddings", "overrides", "statuses", "status_history"):
        db[table].drop()
    db.conn.commit()
    db.close()
    assert schema_version(sqlite_utils.Database(path)) == STEPS[0]
    upgraded = open_db(path)
    assert schema_version(upgraded) == STEPS[-1]
    assert {"links", "statuses", "overrides"} <= set(upgraded.table_names())
    assert upgraded["reviews"].get("r")["title"] == "An old review"
    tables = {name: upgraded[name].count for name in upgraded.table_names()}
    assert migrate(upgraded) == []  # running the migrations again applies nothing and changes nothing
    assert {name: upgraded[name].count for name in upgraded.table_names()} == tables
    assert [m.name for m in MIGRATIONS.applied(upgraded)] == STEPS


def test_database_from_the_previous_schema_opens_and_upgrades(tmp_path):
    assert LEGACY_DATABASE.exists(), "committed fixture missing: tests/fixtures/schema_004.sqlite"
    path = tmp_path / "legacy.db"
    shutil.copy(LEGACY_DATABASE, path)
    before = sqlite_utils.Database(path)
    assert "schema_migrations" in before.table_names() and "_sqlite_migrations" not in before.table_names()
    counts = {name: before[name].count for name in ("documents", "passages", "recommendations", "mentions")}
    before.close()
    db = open_db(path)
    assert schema_version(db) == STEPS[-1]
    assert [m.name for m in MIGRATIONS.applied(db)] == STEPS
    assert "schema_migrations" not in db.table_names()
    assert {name: db[name].count for name in counts} == counts
    assert counts["documents"] == 1 and counts["recommendations"] >= 30
    assert migrate(db) == []
