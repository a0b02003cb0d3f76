"""The review-tracker Datasette plugin: a progress dashboard that filters, a page per recommendation,
what changed (with Atom feeds), evidence downloads, a Method page, hybrid search, a review queue for
signed-in reviewers with its audit trail, badges and links in table cells, `lang="en"` on every
page, and SQL functions.

This module only registers the hooks; the routes are in `pages`, `feeds` and `review` (who may
write: `access`), the data in `data` and `recommendation`, the look in `rendering` and `chart`,
responses in `responses`, error responses in `errors`, SQL functions in `functions`, whole-site
concerns (language, model warm-up) in `site`, and the templates in `templates/` (found by
Datasette because they sit inside the plugin package).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from datasette import hookimpl

from .access import REVIEW_ACTION, auth_metadata, review_allowed
from .errors import error_response
from .feeds import changes_view, evidence_download, method_view, recommendation_feed
from .functions import cosine, embed_similarity, reference_number_sql
from .pages import dashboard_view, recommendation_view, search_view
from .rendering import cell
from .responses import rec_url
from .review import audit_download, decide_view, review_view
from .site import set_language, warm_up


@hookimpl
def register_routes() -> list[tuple[str, Any]]:
    return [
        (r"^/-/tracker/search(?P<format>\.json)?$", search_view),
        (r"^/-/tracker/dashboard(?P<format>\.json)?$", dashboard_view),
        (r"^/-/tracker/changes(?P<format>\.json|\.atom)?$", changes_view),
        (r"^/-/tracker/method(?P<format>\.json)?$", method_view),
        (r"^/-/tracker/evidence(?P<format>\.csv|\.json)$", evidence_download),
        (r"^/-/tracker/recommendation/(?P<key>[^/]+?)/changes\.atom$", recommendation_feed),
        (r"^/-/tracker/recommendation/(?P<key>[^/]+?)(?P<format>\.json)?$", recommendation_view),
        (r"^/-/tracker/review(?P<format>\.json)?$", review_view),
        (r"^/-/tracker/review/decide$", decide_view),
        (r"^/-/tracker/audit(?P<format>\.csv|\.json)$", audit_download),
    ]


@hookimpl
def menu_links(datasette: Any) -> list[dict[str, str]]:
    return [
        {"href": datasette.urls.path("/-/tracker/dashboard"), "label": "Progress dashboard"},
        {"href": datasette.urls.path("/-/tracker/changes"), "label": "What changed"},
        {"href": datasette.urls.path("/-/tracker/search"), "label": "Search passages"},
        {"href": datasette.urls.path("/-/tracker/review"), "label": "Review links"},
        {"href": datasette.urls.path("/-/tracker/method"), "label": "Method"},
    ]


@hookimpl
def permission_allowed(actor: dict | None, action: str) -> bool | None:
    """Only reviewers may decide links (anonymous visitors read everything and write nothing)."""
    return review_allowed(actor) if action == REVIEW_ACTION else None


@hookimpl
def get_metadata() -> dict:
    """Sign-in accounts for datasette-auth-passwords, from the tracker's users file."""
    return auth_metadata()


@hookimpl
def render_cell(value: Any, column: str, table: str | None, row: Any, database: str | None, datasette: Any) -> Any:
    def link(rec_id: int) -> str:
        return rec_url(datasette, rec_id) + (f"?db={database}" if database else "")

    return cell(value, column, table, row, link if datasette is not None else None)


@hookimpl
def prepare_connection(conn: Any) -> None:
    conn.create_function("tracker_similarity", 2, cosine, deterministic=True)
    conn.create_function("tracker_embed_similarity", 2, embed_similarity, deterministic=True)
    conn.create_function("tracker_reference_number", 1, reference_number_sql, deterministic=True)  # for canned queries


@hookimpl
def startup(datasette: Any) -> Any:
    return warm_up(datasette)


@hookimpl
def asgi_wrapper() -> Any:
    return set_language


@hookimpl(wrapper=True)
def handle_exception(datasette: Any, request: Any, exception: Exception) -> Generator[None, list[Any], list[Any]]:
    """Every error answered by `errors.error_response`: a wrapper, not a plain hook, because Datasette
    awaits every hook's answer and its default one prints a traceback with locals for each request."""
    yield  # the other hooks' answers (Datasette's default among them) are dropped unawaited
    return [error_response(datasette, request, exception)]
