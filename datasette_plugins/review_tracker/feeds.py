"""The routes around the evidence: what changed (HTML, JSON, Atom, site-wide and per recommendation),
evidence downloads (CSV, JSON) and the Method page. The library does the work (`tracker.changes`,
`tracker.export`, `tracker.method`); these routes pick the database, add URLs and render.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from datasette.utils.asgi import NotFound, Response

from tracker.changes import DEFAULT_WINDOW, WINDOWS, to_atom, what_changed
from tracker.export import evidence_csv, evidence_rows
from tracker.method import method_content
from tracker.provenance import human_date

from .data import database as wrap
from .data import filter_recommendation
from .pages import tracker_database
from .rendering import COLOURS, METHOD_LABELS, badge, host, humanise, url_link
from .responses import atom_response, csv_response, db_query, json_response, page_urls, rec_url, render


def window(request: Any) -> int:
    """The months asked for (3, 6 or 12), the default when the value is anything else."""
    try:
        months = int(request.args.get("months") or DEFAULT_WINDOW)
    except ValueError:
        return DEFAULT_WINDOW
    return months if months in WINDOWS else DEFAULT_WINDOW


async def recommendation_or_404(database: Any, key: str | None) -> dict | None:
    """The recommendation `key` names; None when no key is given; 404 when it names nothing."""
    if not key:
        return None
    rec = await database.execute_fn(lambda conn: filter_recommendation(conn, key))
    if rec is None:
        raise NotFound(f"No recommendation {key}")
    return rec


def absolute(datasette: Any, request: Any, path: str) -> str:
    return datasette.absolute_url(request, path)


async def changes_view(datasette: Any, request: Any) -> Response:
    """/-/tracker/changes: status changes and new evidence of the last 3, 6 or 12 months."""
    database = await tracker_database(datasette, request)
    months = window(request)
    rec = await recommendation_or_404(database, request.args.get("recommendation"))
    rec_id = (rec["parent_id"] or rec["id"]) if rec else None
    changed = await database.execute_fn(lambda conn: what_changed(conn, months, recommendation_id=rec_id))
    for entry in changed["entries"]:
        entry["url_page"] = rec_url(datasette, entry["recommendation_id"], request)
    fmt = request.url_vars.get("format")
    if fmt == ".json":
        return json_response({"database": database.name, **changed})
    if fmt == ".atom":
        title = f"Review tracker: changes{' to ' + rec['label'] if rec else ''}"
        feed = absolute(datasette, request, request.path + ("?" + request.query_string if request.query_string else ""))
        return atom_response(to_atom(changed, title, feed, lambda rid: absolute(datasette, request, rec_url(datasette, rid, request))))
    query = db_query(request)
    context = {
        **changed,
        "database": database.name,
        "rec": rec,
        "rec_page": rec_url(datasette, rec_id, request) if rec_id else None,
        "windows": WINDOWS,
        "since_shown": human_date(changed["since"]),
        "today_shown": human_date(date.today().isoformat()),
        "window_url": lambda m: (
            datasette.urls.path("/-/tracker/changes")
            + "?"
            + "&".join(p for p in (f"months={m}", f"recommendation={rec_id}" if rec_id else "", query.lstrip("?")) if p)
        ),
        "feed_url": datasette.urls.path("/-/tracker/changes.atom")
        + (f"?recommendation={rec_id}" if rec_id else "")
        + (("&" if rec_id else "?") + query.lstrip("?") if query else ""),
        "json_url": datasette.urls.path("/-/tracker/changes.json") + ("?" + request.query_string if request.query_string else ""),
        "badge": badge,
        "url_link": url_link,
        "humanise": humanise,
        "method_label": lambda method: METHOD_LABELS.get(method, method),
        "page": page_urls(datasette, database, request, "changes"),
    }
    return await render(datasette, request, "tracker_changes.html", context)


async def recommendation_feed(datasette: Any, request: Any) -> Response:
    """/-/tracker/recommendation/<key>/changes.atom: one recommendation's changes (12 months)."""
    database = await tracker_database(datasette, request)
    rec = await recommendation_or_404(database, request.url_vars["key"])
    assert rec is not None  # a key is always given here
    rec_id = rec["parent_id"] or rec["id"]
    changed = await database.execute_fn(lambda conn: what_changed(conn, window(request), recommendation_id=rec_id))
    feed = absolute(datasette, request, request.path)
    return atom_response(
        to_atom(changed, f"Review tracker: changes to {rec['label']}", feed, lambda rid: absolute(datasette, request, rec_url(datasette, rid, request)))
    )


async def evidence_download(datasette: Any, request: Any) -> Response:
    """/-/tracker/evidence.csv|.json[?recommendation=]: one row per piece of evidence."""
    database = await tracker_database(datasette, request)
    rec = await recommendation_or_404(database, request.args.get("recommendation"))
    rec_id = (rec["parent_id"] or rec["id"]) if rec else None

    def page_url(rid: int) -> str:
        return absolute(datasette, request, rec_url(datasette, rid, request))

    found = await database.execute_fn(lambda conn: evidence_rows(wrap(conn), rec_id, page_url))
    name = f"evidence-{rec['slug'] or rec['label'] if rec else 'all'}"
    if request.url_vars["format"] == ".json":
        return Response(
            json.dumps(found, ensure_ascii=False, indent=1), content_type="application/json; charset=utf-8",
            headers={"content-disposition": f'inline; filename="{name}.json"'},
        )  # fmt: skip
    return csv_response(evidence_csv(found), f"{name}.csv")


async def method_view(datasette: Any, request: Any) -> Response:
    """/-/tracker/method: how statuses are derived and links made, and how well it works."""
    database = await tracker_database(datasette, request)
    content = await database.execute_fn(lambda conn: method_content(wrap(conn)))
    if request.url_vars.get("format"):
        return json_response({"database": database.name, **content})
    context = {
        **content,
        "database": database.name,
        "badge": badge,
        "humanise": humanise,
        "colours": COLOURS,
        "method_label": lambda method: METHOD_LABELS.get(method, method),
        "host": host,
        "page": page_urls(datasette, database, request, "method"),
        "json_url": datasette.urls.path("/-/tracker/method.json") + db_query(request),
    }
    return await render(datasette, request, "tracker_method.html", context)
