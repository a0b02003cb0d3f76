"""How values look: coloured badges, safe links, highlighted search text and Datasette table cells.

Everything returned as `Markup` is built from escaped parts, so document text (which may hold HTML)
is always shown, never run.
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup, escape

from tracker.search import HIGHLIGHT

from .data import NO_STATUS, loads

# (background, text) colours per value, shared by the badges, the dashboard and the chart.
COLOURS: dict[str, tuple[str, str]] = {
    "awaiting_response": ("#e5e7eb", "#374151"),
    "under_consideration": ("#fde68a", "#78350f"),
    "not_accepted": ("#fca5a5", "#7f1d1d"),
    "accepted_no_progress": ("#a5f3fc", "#164e63"),
    "planned": ("#c7d2fe", "#312e81"),
    "in_progress": ("#86efac", "#14532d"),
    "implemented": ("#15803d", "#ffffff"),
    "stalled": ("#fdba74", "#7c2d12"),
    "reversed": ("#991b1b", "#ffffff"),
    NO_STATUS: ("#f3f4f6", "#6b7280"),
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
    "noted": ("#e5e7eb", "#374151"),
    "mention": ("#f3f4f6", "#6b7280"),
    # other small vocabularies
    "government": ("#dbeafe", "#1e3a8a"),
    "independent": ("#ede9fe", "#4c1d95"),
    "confirm": ("#bbf7d0", "#14532d"),
    "reject": ("#fecaca", "#7f1d1d"),
}
DEFAULT_COLOUR = ("#e5e7eb", "#374151")
BADGE_COLUMNS = {"status", "from_status", "to_status", "stance", "signal", "position", "decision", "assessor"}
URL_COLUMNS = {"url", "source", "source_url"}


def humanise(value: str) -> str:
    return value.replace("_", " ")


def badge(value: Any, title: str | None = None) -> Markup:
    """A coloured pill for a status, stance, position or signal value; HTML-escaped."""
    if value is None or value == "":
        return Markup("")
    text = str(value)
    background, colour = COLOURS.get(text, DEFAULT_COLOUR)
    title_attr = Markup(' title="{}"').format(title) if title else ""
    return Markup('<span class="tr-badge" style="background:{};color:{}"{}>{}</span>').format(background, colour, title_attr, humanise(text))


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


def highlighted(text: str | None) -> Markup:
    """Escape text, then turn the FTS highlight markers (`tracker.search.HIGHLIGHT`) into <mark>."""
    escaped = str(escape(text or ""))
    return Markup(escaped.replace(HIGHLIGHT[0], "<mark>").replace(HIGHLIGHT[1], "</mark>"))


def plain(text: str | None) -> str:
    """Text without the FTS highlight markers, for JSON."""
    return (text or "").replace(HIGHLIGHT[0], "").replace(HIGHLIGHT[1], "")


def cell(value: Any, column: str, table: str | None) -> Markup | None:
    """A Datasette table cell as a badge or a link where the column holds one; None keeps the default."""
    if isinstance(value, str) and (column in BADGE_COLUMNS or (column == "label" and table == "links")) and value in COLOURS:
        return badge(value)
    if (column in URL_COLUMNS or column.endswith("_url")) and safe_url(value):
        return url_link(value)
    if column == "sources" and table == "recommendations" and isinstance(value, str) and value.startswith("["):
        urls = [u for u in loads(value, []) if isinstance(u, str)]
        if urls:
            return Markup("<br>").join(url_link(u) for u in urls)
    return None
