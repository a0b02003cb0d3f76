"""Building responses: the HTML of a page from its template, its `.json` form, and the URLs that
keep `?db=` so links stay on the database the reader chose."""

from __future__ import annotations

import urllib.parse
from typing import Any

from datasette.utils.asgi import Response

from .rendering import plain


def json_response(payload: dict) -> Response:
    return Response.json(payload, default=str)


def search_json(payload: dict) -> Response:
    """Search hits as plain text: no highlight markers and no `highlight` field."""
    for hit in payload["hits"]:
        hit["text"] = plain(hit["text"])
        hit.pop("highlight", None)
    return json_response(payload)


async def render(datasette: Any, request: Any, template: str, context: dict) -> Response:
    """A page from the package's templates/ folder (Datasette loads it for an installed plugin)."""
    context.setdefault("metadata", datasette.metadata())  # the footer: licence, sources, Method
    html = await datasette.render_template(template, context, request=request)
    return Response.html(html)


def db_query(request: Any) -> str:
    """'?db=NAME' when the page was asked for a database by name, so links keep it."""
    name = request.args.get("db")
    return "?" + urllib.parse.urlencode({"db": name}) if name else ""


def rec_url(datasette: Any, rec_id: int, request: Any = None, fmt: str = "") -> str:
    return datasette.urls.path(f"/-/tracker/recommendation/{rec_id}{fmt}") + (db_query(request) if request else "")


def page_urls(datasette: Any, database: Any, request: Any, current: str | None = None) -> dict:
    """The navigation links every page shows."""
    query = db_query(request)
    return {
        "current": current,
        "dashboard": datasette.urls.path("/-/tracker/dashboard") + query,
        "search": datasette.urls.path("/-/tracker/search") + query,
        "database": datasette.urls.database(database.name),
        "changes": datasette.urls.path("/-/tracker/changes") + query,
        "method": datasette.urls.path("/-/tracker/method") + query,
        "review": datasette.urls.path("/-/tracker/review") + query,
    }


def download_urls(datasette: Any, request: Any, recommendation_id: int | None = None, path: str = "/-/tracker/evidence") -> dict[str, str]:
    """The evidence downloads (CSV and JSON; the audit trail's with `path`), of every recommendation or of one."""
    params = {key: value for key, value in {"recommendation": recommendation_id, "db": request.args.get("db")}.items() if value}
    query = "?" + urllib.parse.urlencode(params) if params else ""
    return {fmt: datasette.urls.path(f"{path}.{fmt}") + query for fmt in ("csv", "json")}


def csv_response(text: str, filename: str) -> Response:
    """A CSV download (UTF-8 with a byte order mark, so spreadsheet programs read accents right)."""
    return Response("\ufeff" + text, content_type="text/csv; charset=utf-8", headers={"content-disposition": f'attachment; filename="{filename}"'})


def atom_response(xml: str) -> Response:
    return Response(xml, content_type="application/atom+xml; charset=utf-8")


def search_url(datasette: Any, request: Any, recommendation_id: int) -> str:
    """The search page filtered to one recommendation."""
    params = {"recommendation": recommendation_id, **({"db": request.args["db"]} if request.args.get("db") else {})}
    return datasette.urls.path("/-/tracker/search") + "?" + urllib.parse.urlencode(params)
