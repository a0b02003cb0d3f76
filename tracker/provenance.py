"""Whose words a text is, and how its date may be shown: what a reader needs before citing it.

The corpus digests are the project's own writing (Markdown with front matter, README "The bundled
corpus"); an outside document arrives as HTML, PDF or plain text and is quoted as it was extracted.
So a text from a Markdown document is a *tracker summary* and must never be shown as a quotation;
text from any other document is a *verbatim quote* of its publisher. The rule lives here once, in
Python (`wording`) and in SQL (`WORDING_SQL`), for the views, the pages, the exports and the feeds.

`(register: slug)` tags are data (the linker reads them) but never shown: `shown_text` drops them.
Dates keep the precision they were written with: "April 2023", never a made-up first of the month.
"""

from __future__ import annotations

import re
from datetime import date

from .references import REGISTER_REFERENCE

SUMMARY, QUOTE = "summary", "quote"
WORDING_LABELS = {SUMMARY: "Tracker summary", QUOTE: "Quote"}
# Which wording a document's text is: `d` is the documents table's alias in the SQL that uses it.
WORDING_SQL = f"case when d.format = 'markdown' then '{SUMMARY}' else '{QUOTE}' end"
REGISTER_SUMMARY = "register_summary"  # a recommendation known only from the register, in our words
OFFICIAL_TEXT = "official_text"  # a recommendation parsed from the ingested review
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December")


def wording(document_format: str | None) -> str:
    """SUMMARY for the project's Markdown digests and notes, QUOTE for an ingested outside document."""
    return SUMMARY if document_format == "markdown" else QUOTE


def recommendation_wording(origin: str | None) -> str:
    """A register item's text is the register's summary until the official text is ingested."""
    return OFFICIAL_TEXT if origin in ("parsed", "reconciled") else REGISTER_SUMMARY


_SPACE_BEFORE_PUNCTUATION = re.compile(r"\s+([.,;:!?)])")


def shown_text(text: str | None) -> str:
    """Text as a page shows it: `(register: slug)` tags removed, the spaces they leave tidied."""
    if not text:
        return ""
    cleaned = REGISTER_REFERENCE.sub("", text)
    cleaned = _SPACE_BEFORE_PUNCTUATION.sub(r"\1", cleaned)
    return re.sub(r"[ \t]{2,}", " ", cleaned).strip()


def precision_of(iso: str | None, precision: str | None = None) -> str | None:
    """The precision to show: the stored one, else what the written date holds (2023 -> year)."""
    if not iso:
        return None
    if precision in ("day", "month", "year"):
        return precision
    return {4: "year", 7: "month"}.get(len(iso[:10]), "day")


def human_date(iso: str | None, precision: str | None = None, undated: str = "undated") -> str:
    """'4 April 2023', 'April 2023' or '2023' by precision; '(unverified)' is said, not hidden."""
    if not iso:
        return undated
    shown = precision_of(iso, precision)
    try:
        year, month, day = (int(part) for part in (iso[:10].split("-") + ["1", "1"])[:3])
        date(year, month, day)
    except ValueError:
        return iso
    text = {"year": f"{year}", "month": f"{MONTHS[month - 1]} {year}"}.get(shown or "day", f"{day} {MONTHS[month - 1]} {year}")
    return f"{text} (date unverified)" if precision == "unverified" else text


def location(page: int | None = None, heading_path: str | None = None, seq: int | None = None) -> str:
    """Where a passage sits in its document, for a citation: page, section, paragraph."""
    parts = []
    if page:
        parts.append(f"page {page}")
    if heading_path:
        parts.append(f"section “{shown_text(heading_path)}”")
    if seq is not None and not page:
        parts.append(f"passage {seq + 1}")
    return ", ".join(parts)
