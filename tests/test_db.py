"""The store: WAL, foreign keys, and ordered migrations that upgrade an old database in place."""

import sqlite_utils

from tracker.db import MIGRATIONS, open_db, schema_version


def test_new_database_is_wal_with_foreign_keys(tmp_path):
    db = open_db(tmp_path / "t.db")
    assert db.execute("pragma journal_mode").fetchone()[0] == "wal"
    assert db.execute("pragma foreign_keys").fetchone()[0] == 1
    assert schema_version(db) == MIGRATIONS[-1][0]
    assert {"documents", "passages", "recommendations", "links", "statuses", "status_history", "overrides"} <= set(db.table_names())


def test_old_database_is_migrated_and_keeps_its_rows(tmp_path):
    path = tmp_path / "old.db"
    db = open_db(path)
    db["reviews"].insert({"slug": "r", "title": "An old review"})
    for name, _ in MIGRATIONS[1:]:
        db.execute("delete from schema_migrations where name = ?", [name])
    for table in ("links", "runs", "embeddings", "overrides", "statuses", "status_history"):
        db[table].drop()
    db.conn.commit()
    db.close()
    assert schema_version(sqlite_utils.Database(path)) == MIGRATIONS[0][0]
    upgraded = open_db(path)
    assert schema_version(upgraded) == MIGRATIONS[-1][0]
    assert {"links", "statuses", "overrides"} <= set(upgraded.table_names())
    assert upgraded["reviews"].get("r")["title"] == "An old review"
    # running the migrations again changes nothing
    assert [row["name"] for row in upgraded["schema_migrations"].rows] == [name for name, _ in MIGRATIONS]
