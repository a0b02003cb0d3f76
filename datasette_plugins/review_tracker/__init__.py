"""The review-tracker Datasette plugin: hybrid search, a progress dashboard and a page per
recommendation, badges and links in table cells, and SQL functions.

This module only registers the hooks; the routes are in `pages`, the data in `data`, the look in
`rendering` and `chart`, responses in `responses`, SQL functions in `functions`, and the templates in
`templates/` (found by Datasette because they sit inside the plugin package).
"""

from __future__ import annotations

from typing import Any

from datasette import hookimpl

from .functions import cosine, embed_similarity, reference_number_sql
from .pages import dashboard_view, recommendation_view, search_view
from .rendering import cell


@hookimpl
def register_routes() -> list[tuple[str, Any]]:
    return [
        (r"^/-/tracker/search(?P<format>\.json)?$", search_view),
        (r"^/-/tracker/dashboard(?P<format>\.json)?$", dashboard_view),
        (r"^/-/tracker/recommendation/(?P<key>[^/]+?)(?P<format>\.json)?$", recommendation_view),
    ]


@hookimpl
def menu_links(datasette: Any) -> list[dict[str, str]]:
    return [
        {"href": datasette.urls.path("/-/tracker/dashboard"), "label": "Progress dashboard"},
        {"href": datasette.urls.path("/-/tracker/search"), "label": "Search passages"},
    ]


@hookimpl
def render_cell(value: Any, column: str, table: str | None) -> Any:
    return cell(value, column, table)


@hookimpl
def prepare_connection(conn: Any) -> None:
    conn.create_function("tracker_similarity", 2, cosine, deterministic=True)
    conn.create_function("tracker_embed_similarity", 2, embed_similarity, deterministic=True)
    conn.create_function("tracker_reference_number", 1, reference_number_sql, deterministic=True)  # for canned queries
