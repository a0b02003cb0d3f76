"""How values look: coloured badges, safe links, highlighted search text and Datasette table cells.

Everything returned as `Markup` is built from escaped parts, so document text (which may hold HTML)
is always shown, never run.
"""

from __future__ import annotations

import re
import urllib.parse
from typing import Any

from markupsafe import Markup, escape

from tracker.provenance import WORDING_LABELS, shown_text
from tracker.register import REGISTER_METHOD
from tracker.search import HIGHLIGHT
from tracker.status import NO_POSITION

from .data import NO_POSITION_FOUND, NO_STATUS, loads

# (background, text) colours per value, shared by the badges, the dashboard and the chart; every pair
# passes WCAG AA for small text (4.5:1; tests/test_datasette.py checks).
COLOURS: dict[str, tuple[str, str]] = {
    NO_POSITION: ("#e5e7eb", "#374151"),
    "deferred": ("#fde68a", "#78350f"),
    "noted_no_commitment": ("#fef3c7", "#78350f"),
    "not_accepted": ("#fca5a5", "#7f1d1d"),
    "accepted_no_action_found": ("#a5f3fc", "#164e63"),
    "planned": ("#c7d2fe", "#312e81"),
    "in_progress": ("#86efac", "#14532d"),
    "implemented": ("#15803d", "#ffffff"),
    "stalled": ("#fdba74", "#7c2d12"),
    "reversed": ("#991b1b", "#ffffff"),
    NO_STATUS: ("#f3f4f6", "#374151"),
    # stance
    "support": ("#bbf7d0", "#14532d"),
    "concern": ("#fde68a", "#78350f"),
    "oppose": ("#fca5a5", "#7f1d1d"),
    "neutral": ("#e5e7eb", "#374151"),
    # position
    "accepted": ("#86efac", "#14532d"),
    "accepted_in_principle": ("#bbf7d0", "#14532d"),
    "partially_accepted": ("#d9f99d", "#365314"),
    "further_work": ("#fde68a", "#78350f"),
    "noted": ("#fef3c7", "#78350f"),
    NO_POSITION_FOUND: ("#f3f4f6", "#374151"),
    "mention": ("#f3f4f6", "#374151"),
    # other small vocabularies
    "government": ("#dbeafe", "#1e3a8a"),
    "independent": ("#ede9fe", "#4c1d95"),
    "confirm": ("#bbf7d0", "#14532d"),
    "reject": ("#fecaca", "#7f1d1d"),
}
MUTED = ("#ffffff", "#374151")  # an unconfirmed machine reading: outlined, never a status colour
DEFAULT_COLOUR = ("#e5e7eb", "#374151")
BADGE_COLUMNS = {"status", "from_status", "to_status", "stance", "signal", "position", "decision", "assessor"}
URL_COLUMNS = {"url", "source", "source_url"}
TEXT_COLUMNS = {"quote", "what_was_said", "text", "summary", "heading_path", "reason"}  # shown without (register: slug) tags
LONG_TEXT = 2000  # characters of a long text cell shown in a table (Datasette's own default is similar)
# How a link was made, in words a reader understands (the Method page explains each).
METHOD_LABELS = {
    REGISTER_METHOD: "recorded in the register",
    "response_layout": "response layout",
    "explicit": "explicit reference",
    "named": "named reference (machine)",
    "semantic": "similarity (machine)",
}


def humanise(value: str) -> str:
    return value.replace("_", " ")


def badge(value: Any, title: str | None = None, muted: bool = False) -> Markup:
    """A coloured pill for a status, stance, position or signal value; HTML-escaped. `muted` draws
    an outlined pill without the value's colour (an unconfirmed machine reading)."""
    if value is None or value == "":
        return Markup("")
    text = str(value)
    background, colour = MUTED if muted else COLOURS.get(text, DEFAULT_COLOUR)
    title_attr = Markup(' title="{}"').format(title) if title else ""
    cls = "tr-badge tr-badge-muted" if muted else "tr-badge"
    return Markup('<span class="{}" style="background:{};color:{}"{}>{}</span>').format(cls, background, colour, title_attr, humanise(text))


def safe_url(url: Any) -> str | None:
    """The URL when it is http(s); None for anything a link could run (javascript:, data:)."""
    if isinstance(url, str) and url.strip().lower().startswith(("http://", "https://")):
        return url.strip()
    return None


def url_link(url: Any, text: str | None = None) -> Markup:
    href = safe_url(url)
    if not href:
        return escape(url or "")
    shown = text or (href if len(href) <= 70 else href[:67] + "...")
    return Markup('<a href="{}" rel="noopener nofollow" class="tr-source">{}</a>').format(href, shown)


def host(url: Any) -> str:
    """The site a URL is on, as a short link text ("www.cipfa.org")."""
    href = safe_url(url) or ""
    return urllib.parse.urlsplit(href).netloc or str(url or "")


HIGHLIGHTED_TAG = re.compile(r"\s*\(register:[^()]*\)")


def highlighted(text: str | None) -> Markup:
    """Escape text, then turn the FTS highlight markers (`tracker.search.HIGHLIGHT`) into <mark>."""
    untagged = HIGHLIGHTED_TAG.sub("", text or "")  # a tag may hold highlight markers: drop it whole
    escaped = str(escape(shown_text(untagged)))
    return Markup(escaped.replace(HIGHLIGHT[0], "<mark>").replace(HIGHLIGHT[1], "</mark>"))


def plain(text: str | None) -> str:
    """Text without the FTS highlight markers, for JSON."""
    return (text or "").replace(HIGHLIGHT[0], "").replace(HIGHLIGHT[1], "")


def text_cell(value: str, row: Any, column: str) -> Markup:
    """A text cell without register tags; a view's summary is labelled as the tracker's words."""
    text = shown_text(value)
    text = text if len(text) <= LONG_TEXT else text[: LONG_TEXT - 1] + "…"
    wording = row_value(row, "wording") if column in ("quote", "what_was_said") else None
    label = Markup('<span class="tr-wording">{}:</span> ').format(WORDING_LABELS[wording]) if wording in WORDING_LABELS else ""
    return Markup("{}{}").format(label, text)


def row_value(row: Any, key: str) -> Any:
    try:
        return row[key]
    except (IndexError, KeyError, TypeError):
        return None


def cell(value: Any, column: str, table: str | None, row: Any = None, rec_url: Any = None) -> Markup | None:
    """A Datasette table cell as a badge, a link or clean text where the column holds one; None
    keeps Datasette's default. `rec_url(id)` links a recommendation's label to its page."""
    if isinstance(value, str) and (column in BADGE_COLUMNS or (column == "label" and table == "links")) and value in COLOURS:
        return badge(value)
    if (column in URL_COLUMNS or column.endswith("_url")) and safe_url(value):
        return url_link(value)
    if column == "sources" and isinstance(value, str) and value.startswith("["):
        urls = [u for u in loads(value, []) if isinstance(u, str)]
        if urls:
            return Markup("<br>").join(url_link(u) for u in urls)
    if column == "method" and isinstance(value, str) and value in METHOD_LABELS:
        return Markup('<span title="{}">{}</span>').format(value, METHOD_LABELS[value])
    if rec_url is not None and isinstance(value, str | int) and value != "":
        target = recommendation_target(column, table, row)
        if target is not None:
            return Markup('<a href="{}">{}</a>').format(rec_url(target), value)
    if column in TEXT_COLUMNS and isinstance(value, str):
        return text_cell(value, row, column)
    return None


def recommendation_target(column: str, table: str | None, row: Any) -> int | None:
    """The recommendation a `label` cell names (its row's id or recommendation_id), else None."""
    if column != "label" or table in ("links",):
        return None
    rec_id = row_value(row, "recommendation_id")
    if isinstance(rec_id, dict):  # a foreign key Datasette has expanded to {"value", "label"}
        rec_id = rec_id.get("value")
    if rec_id is None and table in ("recommendations", "recommendation_progress"):
        rec_id = row_value(row, "id")
    return rec_id if isinstance(rec_id, int) else None
