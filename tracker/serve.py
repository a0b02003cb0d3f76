"""Run Datasette on a tracker database: publish it if needed, write its metadata, start the server.

Kept apart from `tracker.publish` (which only prepares a database) because this is the one place the
tracker starts a process; the review_tracker plugin comes from the `datasette` entry point.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from .publish import is_published, publish, write_metadata
from .users import USERS_ENV, users_path


def serve_args(db_path: str | Path, metadata_path: str | Path, host: str = "127.0.0.1", port: int = 8001, immutable: bool = False) -> list[str]:
    """The `datasette serve` command line: live by default (a WAL reader sees every commit of a
    concurrent ingest); immutable (`-i`) only for a snapshot nobody writes to, as an immutable reader
    ignores the WAL and can read a half-rewritten file as "malformed"."""
    return [
        sys.executable, "-m", "datasette", "serve",
        *(["-i", str(db_path)] if immutable else [str(db_path)]),
        "-m", str(metadata_path), "--host", host, "--port", str(port),
        "--setting", "sql_time_limit_ms", "3000",
    ]  # fmt: skip


def serve(
    db_path: str | Path,
    host: str = "127.0.0.1",
    port: int = 8001,
    immutable: bool = False,
    metadata_out: str | Path | None = None,
    users_file: str | Path | None = None,
) -> int:
    """Publish `db_path` if needed, write its metadata and run Datasette until interrupted, with
    reviewers' sign-in accounts from the users file (`tracker.users`; default beside the database).

    Returns Datasette's exit code where it runs as a child (not on POSIX, where it replaces this process).
    """
    from .db import open_db

    db = open_db(db_path, create=False)
    if not is_published(db):
        publish(db)
    elif immutable:  # an immutable reader ignores the WAL: fold in what was written since publishing
        db.execute("pragma wal_checkpoint(truncate)")
    db.close()
    metadata_path = write_metadata(db_path, metadata_out)
    users = users_path(db_path, users_file).resolve()
    return run_datasette(serve_args(db_path, metadata_path, host, port, immutable), {USERS_ENV: str(users)})


WARM_ENV = "TRACKER_WARM_MODEL"  # the plugin loads the search model at startup when this is "1"


def run_datasette(args: list[str], env: dict[str, str] | None = None) -> int:
    """Run the Datasette command until it exits. On POSIX it replaces this process (exec), so TERM,
    INT and HUP reach the server itself and no child is left on the port; elsewhere it runs as a child
    and Ctrl-C lets it shut down. The plugin is asked to load the search model at startup, so the
    first search does not wait."""
    env = {**os.environ, WARM_ENV: "1", **(env or {})}
    if os.name == "posix":
        sys.stdout.flush()
        sys.stderr.flush()
        os.execve(args[0], args, env)
    process = subprocess.Popen(args, env=env)
    try:
        return process.wait()
    except KeyboardInterrupt:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.terminate()
            process.wait()
        return 0
