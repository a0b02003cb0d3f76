"""What surrounds a passage: the lead-in a bullet hangs from, and whether the passage is page furniture.

Real pages put their judgement in a lead-in ("Further positive elements include:") and the topic in
the bullets beneath it, and wrap both in navigation, cookie notices and "about us" paragraphs. A
bullet is read with its lead-in; furniture is never linked. A government response answers each
recommendation under its label ("Recommendation 4" ... "Government response"). Both are read
passage by passage in document order; `LeadIns` and `ResponseLayout` carry what is open at the end
of one chunk of passages into the next, so a long document is read a chunk at a time.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from .references import LABEL

LEAD_IN_MAX_WORDS = 40
BOILERPLATE = re.compile(
    r"\b(?:cookies?|cookie (?:policy|settings)|subscribe|newsletter|sign up (?:to|for)|log ?in|sign in|register (?:now|here|for)"
    r"|privacy (?:policy|notice)|terms (?:and|&) conditions|all rights reserved|registered (?:charity|company|office)"
    r"|skip to (?:main )?content|follow us|share (?:this|on)|read more|related (?:articles|content|news)|back to top"
    r"|contact us|about us|press office|media enquiries|email us|call us|download (?:the|our) app|sponsored by"
    r"|(?:is|are) (?:the|an?) (?:membership|independent|leading|national|professional|representative)\s+(?:body|organisation|organization|charity|union|voice|association)"
    r"|company (?:number|no\.?)|©|copyright)\b",
    re.IGNORECASE,
)
NAVIGATION_WORDS = {"home", "news", "about", "contact", "menu", "search", "events", "resources", "blog", "login", "jobs"}


def is_boilerplate(text: str) -> bool:
    """Furniture: cookie and subscription notices, navigation runs, organisation self-descriptions."""
    words = re.findall(r"[A-Za-z']+", text)
    if not words:
        return True
    if len(words) <= 12 and sum(w.lower() in NAVIGATION_WORDS for w in words) >= max(2, len(words) // 2):
        return True
    return BOILERPLATE.search(text) is not None and len(words) < 60


@dataclass
class LeadIns:
    """passage id -> the lead-in of a list item: the nearest paragraph before its run of bullets, under
    the same heading, when it announces a list (ends with a colon) or is short. Called on successive
    chunks of a document's passages; the open lead-in carries over."""

    lead: str | None = None
    heading: str | None = None

    def __call__(self, passages: Iterable[dict]) -> dict[int, str]:
        found: dict[int, str] = {}
        for passage in passages:
            if passage["block_kind"] == "list_item":
                if self.lead is not None and passage["heading_path"] == self.heading:
                    found[passage["id"]] = self.lead
                continue
            text = passage["text"].strip()
            announces = text.endswith(":") or len(text.split()) <= LEAD_IN_MAX_WORDS
            self.lead, self.heading = (text, passage["heading_path"]) if announces and not is_boilerplate(text) else (None, None)
        return found


def lead_ins(passages: Iterable[dict]) -> dict[int, str]:
    """`LeadIns` over a whole document."""
    return LeadIns()(passages)


RESPONSE_HEADING = re.compile(r"^(?:the\s+)?(?:government(?:'s|’s)?\s+)?response\b", re.IGNORECASE)


@dataclass
class ResponseLayout:
    """passage id -> recommendation reference, for passages inside a "Government response" answer
    that follows a "Recommendation N" label. Called on successive chunks; the label being answered
    carries over."""

    current: str | None = None
    answering: bool = False

    def __call__(self, passages: Iterable[dict]) -> dict[int, str]:
        mapped: dict[int, str] = {}
        for passage in passages:
            headings = [h.strip() for h in (passage["heading_path"] or "").split(" > ") if h.strip()]
            label_heading = next((LABEL.match(h) for h in reversed(headings) if LABEL.match(h)), None)
            in_answer = bool(headings) and RESPONSE_HEADING.match(headings[-1]) is not None
            label_text = LABEL.match(passage["text"])
            if label_text and (label_text.group("sep") or label_text.group(0).strip() == passage["text"].strip()):
                self.current, self.answering = label_text.group("number"), False
                continue
            if RESPONSE_HEADING.match(passage["text"]) and len(passage["text"].split()) <= 4:
                self.answering = True
                continue
            if label_heading:
                if label_heading.group("number") != self.current:
                    self.current, self.answering = label_heading.group("number"), False
                self.answering = self.answering or in_answer
            if self.current and (self.answering or in_answer):
                mapped[passage["id"]] = self.current
        return mapped


def layout_sections(passages: Iterable[dict]) -> dict[int, str]:
    """`ResponseLayout` over a whole document."""
    return ResponseLayout()(passages)


def with_lead_in(text: str, lead_in: str | None) -> str:
    """The words a reader takes in for a bullet: its lead-in, then the bullet."""
    return f"{lead_in.rstrip()} {text}" if lead_in else text
