"""The three routes: search, dashboard and recommendation, each as HTML or (`.json`) JSON.

Every page takes `?db=NAME`; the default is the first database that is not Datasette's own. The
work is done by the library (`tracker.search`) and by `data`; a page picks the database, checks
permission, adds URLs and renders.
"""

from __future__ import annotations

import urllib.parse
from datetime import date
from typing import Any

from datasette.utils.asgi import NotFound, Response

from tracker.dates import optional_date
from tracker.provenance import human_date, wording
from tracker.search import DEPTH, LIMIT, MODES, RRF_K, Filters, search
from tracker.status import POSITIONS, STATUSES

from .chart import CHART_ORDER, status_chart
from .data import NO_STATUS, dashboard_data, filter_recommendation, search_options
from .recommendation import recommendation_data
from .rendering import COLOURS, METHOD_LABELS, badge, highlighted, host, humanise, url_link
from .responses import download_urls, json_response, page_urls, rec_url, render, search_json, search_url
from .site import LOADING_NOTE, model_loading

FILTERS = ("kind", "publisher", "since", "until", "recommendation")


def pick_database(datasette: Any, request: Any) -> Any:
    """The database named by ?db=, else the first one that is not Datasette's own."""
    name = request.args.get("db")
    if name:
        if name.startswith("_") or name not in datasette.databases:
            raise NotFound(f"Database not found: {name}")
        return datasette.databases[name]
    for candidate in datasette.databases.values():
        if not candidate.name.startswith("_") and not candidate.is_memory:
            return candidate
    raise NotFound("No tracker database is attached")


async def tracker_database(datasette: Any, request: Any) -> Any:
    """The page's database, once the actor may view it."""
    database = pick_database(datasette, request)
    await datasette.ensure_permissions(request.actor, [("view-database", database.name), "view-instance"])
    return database


def search_args(request: Any) -> tuple[str, str, int, dict[str, str]]:
    """(q, mode, limit, raw filter values) from the query string; bad values fall back to defaults."""
    args = request.args
    mode = args.get("mode") if args.get("mode") in MODES else "hybrid"
    try:
        limit = max(1, min(100, int(args.get("limit") or LIMIT)))
    except ValueError:
        limit = LIMIT
    return (args.get("q") or "").strip(), mode, limit, {key: (args.get(key) or "").strip() for key in FILTERS}


async def search_payload(datasette: Any, database: Any, request: Any) -> dict:
    """The search page's data (also its JSON): an unknown recommendation filter is ignored, with a note."""
    q, mode, limit, raw = search_args(request)
    recommendation = await database.execute_fn(lambda conn: filter_recommendation(conn, raw["recommendation"]))
    notes = [f"No recommendation {raw['recommendation']!r}: that filter is ignored."] if raw["recommendation"] and recommendation is None else []
    rec_id = recommendation["id"] if recommendation else None
    dates = {}
    for key in ("since", "until"):  # the one date parser (tracker.dates); a bad date is a 400 with its reason (errors.py)
        parsed = optional_date(raw[key], key)
        dates[key] = parsed.iso if parsed else None
    filters = Filters(raw["kind"] or None, raw["publisher"] or None, dates["since"], dates["until"], rec_id)
    loading = mode != "fts" and q and model_loading()  # do not make the reader wait for the model
    result = (await database.execute_fn(lambda conn: search(conn, q, "fts" if loading else mode, filters, limit))).as_dict()
    if loading:
        result["mode"], notes = mode, notes + [LOADING_NOTE]
    for hit in result["hits"]:
        hit["date_shown"] = human_date(hit["date"], hit.get("date_precision"))
        hit["wording"] = wording(hit.get("format"))
        hit["row_url"] = datasette.urls.row(database.name, "passages", hit["id"])
        hit["document_url"] = datasette.urls.row(database.name, "documents", hit["document_id"])
        for rec in hit["recommendations"]:
            rec["url"] = rec_url(datasette, rec["id"], request)
    result["notes"] = notes + result["notes"]
    return {
        "database": database.name,
        "q": q,
        "filters": {**raw, "recommendation_id": rec_id},
        "recommendation": recommendation,
        **result,
        "rrf_k": RRF_K,
        "depth": DEPTH,
    }


async def search_view(datasette: Any, request: Any) -> Response:
    database = await tracker_database(datasette, request)
    payload = await search_payload(datasette, database, request)
    if request.url_vars.get("format"):
        return search_json(payload)
    for hit in payload["hits"]:
        hit["html"] = highlighted(hit["highlight"] or hit["text"])
    context = {
        **payload,
        "options": await database.execute_fn(search_options),
        "page": page_urls(datasette, database, request, "search"),
        "json_url": datasette.urls.path("/-/tracker/search.json") + ("?" + request.query_string if request.query_string else ""),
        "badge": badge,
        "url_link": url_link,
        "modes": MODES,
    }
    return await render(datasette, request, "tracker_search.html", context)


DASHBOARD_FILTERS = ("chapter", "addressee", "position", "status")


def dashboard_choice(request: Any) -> tuple[dict[str, str], str]:
    """The dashboard's filters and view (grid or list) from the query string."""
    chosen = {key: (request.args.get(key) or "").strip() for key in DASHBOARD_FILTERS}
    return {k: v for k, v in chosen.items() if v}, "list" if request.args.get("view") == "list" else "grid"


def filter_url(datasette: Any, request: Any, chosen: dict[str, str], view: str, **change: str | None) -> str:
    """The dashboard with one filter set (or cleared, with None), the others kept."""
    params = {**chosen, **change, "view": view if view == "list" else None, "db": request.args.get("db")}
    query = urllib.parse.urlencode({k: v for k, v in params.items() if v})
    return datasette.urls.path("/-/tracker/dashboard") + ("?" + query if query else "")


async def dashboard_view(datasette: Any, request: Any) -> Response:
    database = await tracker_database(datasette, request)
    chosen, layout = dashboard_choice(request)
    data = await database.execute_fn(lambda conn: dashboard_data(conn, chosen))
    for rec in data["recommendations"]:
        rec["url"] = rec_url(datasette, rec["id"], request)
    if request.url_vars.get("format"):
        return json_response({"database": database.name, **data})
    context = {
        **data,
        "database": database.name,
        "view": layout,
        "today": date.today().isoformat(),
        "today_shown": human_date(date.today().isoformat()),
        "as_of_shown": human_date(data["as_of"]) if data["as_of"] else None,
        "chart": status_chart(data["timeline"]),
        "chart_order": CHART_ORDER,
        "timeline_statuses": {s for point in data["timeline"] for s, n in point["counts"].items() if n},
        "definitions": STATUSES,
        "position_definitions": POSITIONS,
        "colours": COLOURS,
        "badge": badge,
        "url_link": url_link,
        "humanise": humanise,
        "filter_url": lambda **change: filter_url(datasette, request, chosen, layout, **change),
        "page": page_urls(datasette, database, request, "dashboard"),
        "progress_url": datasette.urls.table(database.name, "recommendation_progress"),
        "json_url": datasette.urls.path("/-/tracker/dashboard.json") + ("?" + request.query_string if request.query_string else ""),
        "downloads": download_urls(datasette, request),
    }
    return await render(datasette, request, "tracker_dashboard.html", context)


async def recommendation_view(datasette: Any, request: Any) -> Response:
    database = await tracker_database(datasette, request)
    key = request.url_vars["key"]
    data = await database.execute_fn(lambda conn: recommendation_data(conn, key))
    if data is None:
        raise NotFound(f"No recommendation {key}")
    rec = data["recommendation"]
    data["row_url"] = datasette.urls.row(database.name, "recommendations", rec["id"])
    for name in ("government_positions", "stakeholder_positions", "evidence"):
        for item in data[name]:
            item["passage_url"] = datasette.urls.row(database.name, "passages", item["passage_id"]) if item["passage_id"] else None
            item["document_url"] = datasette.urls.row(database.name, "documents", item["document_id"]) if item["document_id"] else None
    if request.url_vars.get("format"):
        return json_response({"database": database.name, **data})
    status = data["status"]
    context = {
        **data,
        "database": database.name,
        "nav": {key: rec_url(datasette, data[key], request) if data[key] else None for key in ("previous", "next")},
        "rec": rec,
        "status_colour": COLOURS.get(status["status"] if status else NO_STATUS, COLOURS[NO_STATUS])[0],
        "colours": COLOURS,
        "badge": badge,
        "url_link": url_link,
        "humanise": humanise,
        "host": host,
        "method_label": lambda method: METHOD_LABELS.get(method, method),
        "rec_url": lambda rec_id: rec_url(datasette, rec_id, request),
        "document_row": lambda doc_id: datasette.urls.row(database.name, "documents", doc_id),
        "passage_row": lambda passage_id: datasette.urls.row(database.name, "passages", passage_id),
        "page": page_urls(datasette, database, request),
        "search_url": search_url(datasette, request, rec["id"]),
        "json_url": rec_url(datasette, rec["id"], request, fmt=".json"),
        "feed_url": rec_url(datasette, rec["id"], request, fmt="/changes.atom"),
        "downloads": download_urls(datasette, request, rec["id"]),
        "audit_urls": download_urls(datasette, request, rec["id"], "/-/tracker/audit"),
    }
    return await render(datasette, request, "tracker_recommendation.html", context)
