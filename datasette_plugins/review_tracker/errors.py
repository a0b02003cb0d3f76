"""Error responses: 404 for what does not exist, 400 with the reason for bad user input, and for
anything else a 500 that shows only a short id and logs one line with it.

Datasette 0.65's own handler prints a `rich` traceback with every frame's locals (whole numpy
arrays) for every error, 404s included; `handle_exception` in `__init__` is a hook wrapper that
answers with `error_response` instead, so that handler never runs.
"""

from __future__ import annotations

import html
import logging
import secrets
from typing import Any

from datasette.utils import add_cors_headers
from datasette.utils.asgi import Base400, Response
from datasette.views.base import DatasetteError

from tracker.dates import DateError
from tracker.errors import SearchError
from tracker.recommendations import NotFoundError

logger = logging.getLogger("review_tracker")
BAD_REQUEST = (DateError, SearchError)  # the tracker's errors about what the reader asked for
LOGGED_CHARS = 300  # of the error's repr in the log line: an error's message may hold a whole array
TITLES = {400: "Bad request", 403: "Forbidden", 404: "Not found", 500: "Server error"}


def classify(exception: BaseException) -> tuple[int, str]:
    """(HTTP status, message for the reader); the message of a 500 is never the error's own text."""
    if isinstance(exception, Base400):
        return exception.status, str(exception.args[0]) if exception.args else TITLES.get(exception.status, "Error")
    if isinstance(exception, DatasetteError):
        return exception.status, str(exception.message)
    if isinstance(exception, NotFoundError):
        return 404, str(exception)
    if isinstance(exception, BAD_REQUEST):
        return 400, str(exception)
    return 500, ""


def log_server_error(exception: BaseException, path: str) -> str:
    """Log the error in one line under a new short id, and return the id the page shows."""
    error_id = secrets.token_hex(4)
    text = " ".join(repr(exception).split())
    shown = text if len(text) <= LOGGED_CHARS else text[: LOGGED_CHARS - 3] + "..."
    logger.error("error %s on %s: %s", error_id, path, shown)
    return error_id


def wants_json(request: Any) -> bool:
    """A `.json` route, or a client that asks for JSON and not HTML."""
    accept = request.headers.get("accept", "")
    return request.path.endswith(".json") or ("application/json" in accept and "text/html" not in accept)


def error_page(status: int, message: str) -> str:
    """A plain HTML page: it needs no template, so it renders whatever else is broken."""
    title = f"{TITLES.get(status, 'Error')} ({status})"
    return (
        f'<!DOCTYPE html>\n<html lang="en">\n<head><meta charset="utf-8"><title>{html.escape(title)}</title></head>\n'
        f"<body>\n<h1>{html.escape(title)}</h1>\n<p>{html.escape(message)}</p>\n"
        '<p><a href="/-/tracker/dashboard">Progress dashboard</a> · <a href="/-/tracker/search">Search passages</a></p>\n</body>\n</html>\n'
    )


def error_response(datasette: Any, request: Any, exception: BaseException) -> Response:
    """The response to an error a route raised, as HTML or JSON."""
    status, message = classify(exception)
    error_id = None
    if status >= 500:
        error_id = log_server_error(exception, request.path)
        message = f"Something went wrong on the server (error id {error_id}); the id is in the server's log."
    headers: dict[str, str] = {}
    if datasette.cors:
        add_cors_headers(headers)
    if wants_json(request):
        return Response.json({"ok": False, "status": status, "error": message, "error_id": error_id}, status=status, headers=headers)
    page = error_page(status, message).replace('href="/', f'href="{datasette.urls.path("/")}')
    return Response.html(page, status=status, headers=headers)
