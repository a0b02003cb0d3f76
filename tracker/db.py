"""The SQLite store: opening a tracker database (WAL, foreign keys, busy waits, read-only files) and
upgrading it through the migrations in `tracker.schema`."""

from __future__ import annotations

import sqlite3 as stdlib_sqlite3
from datetime import UTC, datetime
from pathlib import Path

import sqlite_utils
from sqlite_utils.db import sqlite3  # pysqlite3 when installed: it can load extensions

from .errors import TrackerError
from .locking import ReadOnlyError, TrackerDatabase, busy_timeout_ms, connect_read_only, writable
from .schema import LEGACY_TABLE, MIGRATIONS, migrate, schema_version


def utcnow() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def check_current(db: sqlite_utils.Database, path: Path) -> None:
    """A read-only database cannot be upgraded: say so rather than fail later on a missing column."""
    if LEGACY_TABLE in db.table_names() or MIGRATIONS.pending(db):
        latest = MIGRATIONS._migrations[-1].name if MIGRATIONS._migrations else "?"
        raise ReadOnlyError(
            f"{path}: database is read-only and its schema ({schema_version(db) or 'none'}) is older than this "
            f"tracker's ({latest}): make it writable and run `tracker init {path}` to upgrade it"
        )


def open_db(path: str | Path, create: bool = True, read_only: bool | None = None) -> TrackerDatabase:
    """Open (and migrate) a tracker database, with WAL and foreign keys on.

    `read_only` None opens read-only when the file cannot be written (an immutable or read-only
    file): nothing is written then, not even a migration or WAL mode, and any write raises
    ReadOnlyError. Raises TrackerError with a readable reason for a missing folder, a missing
    database when `create` is False, or a file that is not SQLite.
    """
    path = Path(path)
    if not path.parent.exists():
        raise TrackerError(f"{path}: folder {path.parent} does not exist")
    if (not create or read_only) and not path.exists():
        raise TrackerError(f"{path}: no such database (run `tracker init {path}` first)")
    if path.exists() and path.is_dir():
        raise TrackerError(f"{path}: is a folder, not a database file")
    read_only = (path.exists() and not writable(path)) if read_only is None else read_only
    try:
        db = connect_read_only(path) if read_only else TrackerDatabase(path)
        db.path, db.read_only = path, read_only
        db.execute("pragma foreign_keys = on")
        db.execute(f"pragma busy_timeout = {busy_timeout_ms()}")
        if read_only:
            check_current(db, path)
        else:
            db.enable_wal()
            migrate(db)
    except (sqlite3.DatabaseError, stdlib_sqlite3.DatabaseError) as error:
        raise TrackerError(f"{path}: not a tracker database ({error})") from error
    return db
