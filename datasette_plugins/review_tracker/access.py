"""Who may write: reviewers signed in through datasette-auth-passwords, with accounts from the
tracker's users file (`tracker.users`, path in TRACKER_USERS, set by `tracker serve`).

The file is read again whenever it changes, so `tracker users add` and `remove` take effect on a
running server. Without TRACKER_USERS the plugin's own configuration in the metadata is used as
datasette-auth-passwords documents it, with `"roles": ["reviewer"]` on each reviewer's actor.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from tracker.users import USERS_ENV, auth_config, may_review, read_users

REVIEW_ACTION = "tracker-review"  # the permission every write of the review pages checks
_CACHE: dict[str, Any] = {"key": None, "users": {}}
_LOCK = threading.Lock()


def current_users() -> dict[str, dict] | None:
    """The users file's accounts (cached by its mtime and size), or None when no file is configured."""
    path = os.environ.get(USERS_ENV)
    if not path:
        return None
    try:
        stat = os.stat(path)
        key = (path, stat.st_mtime_ns, stat.st_size)
    except OSError:
        return {}
    with _LOCK:
        if _CACHE["key"] != key:
            _CACHE["key"], _CACHE["users"] = key, read_users(path)
        return _CACHE["users"]


def auth_metadata() -> dict:
    """Metadata that configures datasette-auth-passwords from the users file (nothing without one)."""
    users = current_users()
    return {"plugins": {"datasette-auth-passwords": auth_config(users)}} if users is not None else {}


def review_allowed(actor: dict | None) -> bool:
    """The answer to REVIEW_ACTION: only a reviewer (still in the users file, when there is one)."""
    return may_review(actor, current_users())
