"""Whole-site concerns: every HTML page says it is in English, and the search model and the passage
vectors (the memory-mapped index of a large database, `tracker.vector_index`) are loaded when the
server starts (in the background) so that the first search is not the one that waits for them.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from sqlite_utils.db import sqlite3

import tracker.search
import tracker.vector_index

Asgi = Callable[[dict, Callable, Callable], Awaitable[None]]
MODEL = {"state": "idle", "error": None}  # idle | loading | ready | failed
WARM_ENV = "TRACKER_WARM_MODEL"  # set by `tracker serve`: load the model at startup
LOADING_NOTE = (
    "The meaning model is still loading (about ten seconds after the server starts): these are word matches only. "
    "Search again in a moment for results by meaning too."
)


def set_language(app: Asgi) -> Asgi:
    """ASGI middleware: `<html>` becomes `<html lang="en">` in every HTML response (Datasette's
    own base template sets no language, which screen readers need)."""

    async def wrapped(scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        state = {"html": False, "done": False}

        async def patched(message: dict) -> None:
            if message["type"] == "http.response.start":
                headers = message.get("headers") or []
                content_type = next((value for key, value in headers if key.lower() == b"content-type"), b"")
                state["html"] = content_type.startswith(b"text/html")
                if state["html"]:  # the body grows: drop a stated length
                    message = {**message, "headers": [(k, v) for k, v in headers if k.lower() != b"content-length"]}
            elif message["type"] == "http.response.body" and state["html"] and not state["done"]:
                body = message.get("body", b"")
                if b"<html>" in body:
                    message = {**message, "body": body.replace(b"<html>", b'<html lang="en">', 1)}
                    state["done"] = True
            await send(message)

        await app(scope, receive, patched)

    return wrapped


def open_vectors(path: str) -> None:
    """Open the database's passage vectors once: cached per database file, so Datasette's connections
    find them. A failure here is left for the first search to meet and report."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        try:
            tracker.vector_index.vector_store(conn)
        finally:
            conn.close()
    except (sqlite3.Error, OSError, ValueError):
        return


def load_model() -> None:
    """Load the query embedder once (what the first search would otherwise wait for)."""
    try:
        tracker.search.embed_query("integrated care systems")
        MODEL["state"] = "ready"
    except tracker.search.MODEL_ERRORS as error:  # search says so itself and falls back to words
        MODEL["state"], MODEL["error"] = "failed", str(error)


def warm_up(datasette: Any) -> Callable[[], Awaitable[None]]:
    """At startup (when `tracker serve` asks, through TRACKER_WARM_MODEL=1), load the model and open
    the passage vectors in background threads if a database holds vectors (without them search never
    embeds a query). Searches meanwhile get word matches and a note rather than a wait."""

    async def inner() -> None:
        if MODEL["state"] != "idle" or os.environ.get(WARM_ENV) != "1":
            return
        for database in datasette.databases.values():
            if database.name.startswith("_") or database.is_memory:
                continue
            tables = await database.table_names()
            found = "embeddings" in tables and (await database.execute("select 1 from embeddings limit 1")).first()
            if found:
                MODEL["state"] = "loading"
                threading.Thread(target=open_vectors, args=(database.path,), name="tracker-vectors-warm-up", daemon=True).start()
                threading.Thread(target=load_model, name="tracker-model-warm-up", daemon=True).start()
                return

    return inner


def model_loading() -> bool:
    return MODEL["state"] == "loading"
