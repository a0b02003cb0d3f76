"""People who may sign in to a served tracker and review its links.

Anonymous visitors read everything and write nothing; a reviewer signs in at `/-/login` (the
maintained datasette-auth-passwords plugin) and may confirm or reject links. The users file holds
names, roles and password hashes made by that plugin's `hash_password` (PBKDF2-SHA256): the tracker
keeps no password and hashes nothing itself. It lives beside the database, outside it, so a
published snapshot never carries it. `tracker serve` hands its path to the plugin (TRACKER_USERS).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path

from datasette_auth_passwords.utils import hash_password

from .errors import TrackerError

ROLES = ("reviewer",)  # may confirm and reject links
USERS_ENV = "TRACKER_USERS"
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]{0,39}")
MIN_PASSWORD = 10


def users_path(db_path: str | Path, given: str | Path | None = None) -> Path:
    """The users file: the one given, else `DB.users.json` beside the database."""
    if given:
        return Path(given)
    path = Path(db_path)
    return path.with_name(path.stem + ".users.json")


def read_users(path: str | Path) -> dict[str, dict]:
    """Name: {"roles": [...], "password_hash": ...}; none when the file does not exist."""
    path = Path(path)
    if not path.exists():
        return {}
    try:
        users = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise TrackerError(f"{path}: not a users file ({error})") from error
    if not isinstance(users, dict):
        raise TrackerError(f"{path}: not a users file (expected an object of names)")
    return users


def write_users(path: str | Path, users: dict[str, dict]) -> None:
    """Replace the file whole (a temporary file renamed over it), readable by its owner only."""
    path = Path(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(users, out, indent=2, sort_keys=True)
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def add_user(path: str | Path, name: str, password: str, roles: tuple[str, ...] = ROLES) -> bool:
    """Add or replace `name`; True when it is new."""
    if not NAME.fullmatch(name) or "_password_hash" in name:
        raise TrackerError(f"{name!r}: a user name is 1-40 letters, digits, dots or hyphens, starting with a letter or digit")
    if len(password) < MIN_PASSWORD:
        raise TrackerError(f"the password is too short: at least {MIN_PASSWORD} characters")
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise TrackerError(f"unknown role {', '.join(sorted(unknown))}; choose from {', '.join(ROLES)}")
    users = read_users(path)
    new = name not in users
    users[name] = {"roles": list(roles), "password_hash": hash_password(password)}
    write_users(path, users)
    return new


def remove_user(path: str | Path, name: str) -> None:
    users = read_users(path)
    if name not in users:
        raise TrackerError(f"no user {name!r} in {path}")
    del users[name]
    write_users(path, users)


def auth_config(users: dict[str, dict]) -> dict:
    """The datasette-auth-passwords configuration for these users: a hash and an actor (with roles) each."""
    config: dict = {f"{name}_password_hash": user["password_hash"] for name, user in users.items()}
    config["actors"] = {name: {"id": name, "roles": list(user.get("roles", []))} for name, user in users.items()}
    return config


def may_review(actor: dict | None, users: dict[str, dict] | None = None) -> bool:
    """A signed-in actor with the reviewer role; when `users` is given, still in it with that role
    (a removed user's cookie stops working at once)."""
    if not actor or "reviewer" not in (actor.get("roles") or []):
        return False
    return users is None or "reviewer" in users.get(str(actor.get("id")), {}).get("roles", [])
