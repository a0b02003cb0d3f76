"""Several writers, one SQLite file: transactions that wait their turn, and read-only files.

Every transaction takes the write lock when it begins (`BEGIN IMMEDIATE`): a deferred one that read
first could not upgrade once another process had committed, and failed at once with "database is
locked" instead of waiting. A writer that still finds the lock taken after SQLite's busy timeout
retries with backoff, then gives up with one line (`BusyError`). A database opened read-only refuses
writes with `ReadOnlyError` before SQLite is asked.
"""

from __future__ import annotations

import contextlib
import os
import random
import sqlite3 as stdlib_sqlite3
import time
from collections.abc import Callable, Generator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import sqlite_utils
from sqlite_utils.db import sqlite3

from .errors import TrackerError

BUSY_TIMEOUT_MS = 10_000  # SQLite's own wait for the lock, per attempt
LOCK_WAIT_SECONDS = 120.0  # all attempts together (TRACKER_LOCK_WAIT overrides)
OPERATIONAL_ERRORS = (sqlite3.OperationalError, stdlib_sqlite3.OperationalError)


class ReadOnlyError(TrackerError):
    """The database cannot be written: an immutable or read-only file, or opened read-only."""


class BusyError(TrackerError):
    """Another process kept the database locked for longer than the tracker waits."""


def writable(path: Path) -> bool:
    """Whether SQLite could write `path`: the file, and in WAL mode its folder for the -wal file."""
    if not os.access(path, os.W_OK):
        return False
    return os.access(path.parent, os.W_OK) or Path(f"{path}-wal").exists()


def is_locked(error: BaseException) -> bool:
    return isinstance(error, OPERATIONAL_ERRORS) and ("locked" in str(error) or "busy" in str(error))


def is_read_only_error(error: BaseException) -> bool:
    return isinstance(error, OPERATIONAL_ERRORS) and "readonly" in str(error).replace("read-only", "readonly")


def lock_wait() -> float:
    """The total wait, read at each use so a caller (or a test) can set TRACKER_LOCK_WAIT."""
    try:
        return max(0.0, float(os.environ.get("TRACKER_LOCK_WAIT", LOCK_WAIT_SECONDS)))
    except ValueError:
        return LOCK_WAIT_SECONDS


def busy_timeout_ms() -> int:
    """SQLite's own wait per attempt: never longer than the whole wait the user allows."""
    return int(min(BUSY_TIMEOUT_MS, lock_wait() * 1000))


class TrackerDatabase(sqlite_utils.Database):
    """A sqlite-utils Database whose transactions wait for other writers and whose writes fail
    with one readable line on a read-only file."""

    path: Path | None = None
    read_only: bool = False

    def where(self) -> str:
        return str(self.path) if self.path else "database"

    def read_only_error(self) -> ReadOnlyError:
        return ReadOnlyError(f"{self.where()}: database is read-only")

    def busy_error(self, waited: float) -> BusyError:
        return BusyError(
            f"{self.where()}: database is locked by another writer; gave up after {waited:.0f}s (run the command again when the other one has finished)"
        )

    def with_retry(self, attempt: Callable[[], Any]) -> Any:
        """Run `attempt()` until it does not find the database locked, backing off, within lock_wait()."""
        started, delay = time.monotonic(), 0.05
        while True:
            try:
                return attempt()
            except OPERATIONAL_ERRORS as error:
                if is_read_only_error(error):
                    raise self.read_only_error() from error
                waited = time.monotonic() - started
                if not is_locked(error) or self.conn.in_transaction:
                    raise
                if waited >= lock_wait():
                    raise self.busy_error(waited) from error
            time.sleep(min(delay, max(0.0, lock_wait() - waited)) * random.uniform(0.5, 1.0))
            delay = min(delay * 2, 5.0)

    @contextlib.contextmanager
    def atomic(self) -> Generator[sqlite_utils.Database, None, None]:
        """One transaction that holds the write lock from its start (nested blocks: savepoints)."""
        if self.conn.in_transaction:
            with super().atomic():
                yield self
            return
        if self.read_only:
            raise self.read_only_error()
        self.with_retry(lambda: self.conn.execute("BEGIN IMMEDIATE"))
        try:
            yield self
        except BaseException:
            self.rollback()
            raise
        try:
            self.conn.execute("COMMIT")
        except BaseException as error:
            self.rollback()
            if is_read_only_error(error):
                raise self.read_only_error() from error
            raise

    def execute(self, sql: str, parameters: Sequence | dict[str, Any] | None = None) -> Any:
        """sqlite-utils' execute, with a statement outside a transaction retried while the database
        is locked, and a write to a read-only database reported as such."""
        return self.with_retry(lambda: super(TrackerDatabase, self).execute(sql, parameters))


def connect_read_only(path: Path) -> TrackerDatabase:
    """Open `path` without the right to write: `mode=ro`, or `immutable=1` where SQLite cannot even
    create the shared-memory file a WAL database needs (a read-only folder)."""
    uri = f"file:{quote(str(path.resolve()))}"
    for flags in ("mode=ro", "immutable=1"):
        conn = sqlite3.connect(f"{uri}?{flags}", uri=True)
        try:
            conn.execute("select count(*) from sqlite_master").fetchone()
        except OPERATIONAL_ERRORS as error:
            conn.close()
            if "unable to open" in str(error) and flags == "mode=ro":
                continue
            raise
        return TrackerDatabase(conn)
    raise TrackerError(f"{path}: cannot be opened read-only")
