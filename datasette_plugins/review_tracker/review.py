"""The review queue page (`/-/tracker/review`), the decision it posts (`/-/tracker/review/decide`)
and the audit trail download (`/-/tracker/audit.csv|.json`).

Anyone may read the queue; only a signed-in reviewer may decide (checked here, server-side, on
every POST; Datasette checks the CSRF token before the view runs). A decision is written through
`tracker.audit` on Datasette's write thread, and the page then shows what it changed.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from datasette.utils.asgi import Response

from tracker.audit import MAX_NOTE, AlreadyDecided, DecisionError, audit_csv, audit_rows, decide_link
from tracker.locking import TrackerDatabase
from tracker.provenance import human_date
from tracker.recommendations import NotFoundError, resolve
from tracker.review import context, pending

from .access import REVIEW_ACTION
from .data import database
from .feeds import recommendation_or_404
from .pages import tracker_database
from .rendering import badge, humanise, url_link
from .responses import csv_response, download_urls, json_response, page_urls, rec_url, render

QUEUE_FILTERS = ("recommendation", "document", "method")
UPCOMING = 10  # queued links listed after the one shown
MAX_SKIPPED = 200


def queue_args(request: Any) -> tuple[dict, list[str]]:
    """(filters, skipped link ids) from the query string or the posted form's copy of it."""
    args = request.args
    filters = {key: (args.get(key) or "").strip() for key in QUEUE_FILTERS}
    skipped = [s for s in (args.get("skip") or "").split(",") if s][:MAX_SKIPPED]
    return filters, skipped


def queue_url(datasette: Any, request: Any, filters: dict, skipped: list[str], **extra: str) -> str:
    params = {**{k: v for k, v in filters.items() if v}, **({"skip": ",".join(skipped)} if skipped else {}), **extra}
    if request.args.get("db"):
        params["db"] = request.args["db"]
    return datasette.urls.path("/-/tracker/review") + ("?" + urllib.parse.urlencode(params) if params else "")


def queue_data(conn: Any, filters: dict, skipped: list[str], decided: str | None) -> dict:
    """The first queued link in full context, the next few, the count, and a decision just made."""
    db = database(conn)
    document = int(filters["document"]) if filters["document"].isdigit() else None
    queue = pending(db, skip=tuple(skipped), limit=UPCOMING + 1, recommendation=filters["recommendation"] or None, document=document,
                    method=filters["method"] if filters["method"] in ("named", "semantic") else None)  # fmt: skip
    first = queue.items[0] if queue.items else None
    shown = context(db, first.link) if first else None
    if shown:
        shown["date_shown"] = human_date(shown["document"].get("date"), shown["document"].get("date_precision"))
    just = [row for row in audit_rows(db) if str(row["id"]) == decided] if decided else []
    return {"item": first, "shown": shown, "upcoming": queue.items[1:], "total": queue.total, "skipped": len(skipped),
            "decided": just[0] if just else None}  # fmt: skip


async def review_view(datasette: Any, request: Any) -> Response:
    database_ = await tracker_database(datasette, request)
    filters, skipped = queue_args(request)
    if filters["recommendation"]:
        try:
            await database_.execute_fn(lambda conn: resolve(database(conn), filters["recommendation"]))
        except NotFoundError:
            filters["recommendation"] = ""
    data = await database_.execute_fn(lambda conn: queue_data(conn, filters, skipped, request.args.get("decided")))
    return await review_page(datasette, request, database_, filters, skipped, data)


async def review_page(datasette: Any, request: Any, database_: Any, filters: dict, skipped: list[str], data: dict,
                      error: str | None = None, status: int = 200) -> Response:  # fmt: skip
    if request.url_vars.get("format"):
        item = data["item"]
        return json_response({"total": data["total"], "link": item.link if item else None, "context": data["shown"], "error": error,
                              "status_now": item.status_now if item else None, "if_confirmed": item.if_confirmed if item else None,
                              "if_rejected": item.if_rejected if item else None, "decided": data["decided"]})  # fmt: skip
    item = data["item"]
    context_ = {
        **data,
        "database": database_.name,
        "error": error,
        "filters": filters,
        "can_review": await datasette.permission_allowed(request.actor, REVIEW_ACTION, default=False),
        "writable": database_.is_mutable,
        "actor": request.actor,
        "max_note": MAX_NOTE,
        "skip_url": queue_url(datasette, request, filters, skipped + [item.link["id"]]) if item else None,
        "reset_url": queue_url(datasette, request, filters, []),
        "skip_value": ",".join(skipped),
        "decide_url": datasette.urls.path("/-/tracker/review/decide") + (f"?db={urllib.parse.quote(request.args['db'])}" if request.args.get("db") else ""),
        "login_url": datasette.urls.path("/-/login"),
        "rec_url": lambda rec_id: rec_url(datasette, rec_id, request),
        "page": page_urls(datasette, database_, request, current="review"),
        "json_url": queue_url(datasette, request, filters, skipped).replace("/-/tracker/review", "/-/tracker/review.json", 1),
        "audit_urls": download_urls(datasette, request, path="/-/tracker/audit"),
        "badge": badge,
        "humanise": humanise,
        "url_link": url_link,
    }
    response = await render(datasette, request, "tracker_review.html", context_)
    response.status = status
    response.headers["x-frame-options"] = "DENY"  # a page with write buttons is never framed (clickjacking)
    return response


async def decide_view(datasette: Any, request: Any) -> Response:
    """A reviewer's decision: refused (403) unless signed in as a reviewer on a live database;
    a bad note, an unknown link or one decided meanwhile is answered on the page with nothing written."""
    if request.method != "POST":
        return Response.text("Decisions are sent with POST from the review page.", status=405, headers={"allow": "POST"})
    database_ = await tracker_database(datasette, request)
    form = await request.post_vars()
    filters = {key: (form.get(key) or "").strip() for key in QUEUE_FILTERS}
    skipped = [s for s in (form.get("skip") or "").split(",") if s][:MAX_SKIPPED]
    if not await datasette.permission_allowed(request.actor, REVIEW_ACTION, default=False):
        login = datasette.urls.path("/-/login")
        return Response.html(f"<p>Only a signed-in reviewer may decide links: <a href='{login}'>sign in</a>.</p>", status=403)
    if not database_.is_mutable:
        return Response.html("<p>This is a read-only snapshot: decisions are made on the tracker's live database.</p>", status=403)
    action, link_id = form.get("action") or "", form.get("link_id") or ""
    seen = int(form["seen"]) if (form.get("seen") or "").isdigit() else 0
    try:
        decision = await database_.execute_write_fn(
            lambda conn: decide_link(TrackerDatabase(conn), link_id, action, str(request.actor["id"]), "web", form.get("note"), seen), block=True
        )
    except DecisionError as error:
        data = await database_.execute_fn(lambda conn: queue_data(conn, filters, skipped, None))
        status = 409 if isinstance(error, AlreadyDecided) else 404 if str(error).startswith("no link") else 400
        return await review_page(datasette, request, database_, filters, skipped, data, error=str(error), status=status)
    return Response.redirect(queue_url(datasette, request, filters, skipped, decided=str(decision.id)), status=303)


async def audit_download(datasette: Any, request: Any) -> Response:
    """Every decision (or one recommendation's: ?recommendation=REF) as CSV or JSON."""
    database_ = await tracker_database(datasette, request)
    rec = await recommendation_or_404(database_, request.args.get("recommendation"))
    top_id = (rec["parent_id"] or rec["id"]) if rec else None
    found = await database_.execute_fn(lambda conn: audit_rows(database(conn), top_id))
    if request.url_vars["format"] == ".csv":
        return csv_response(audit_csv(found), "audit.csv")
    return json_response({"database": database_.name, "decisions": found})
