"""What surrounds a passage: the lead-in a bullet hangs from, and whether the passage is page furniture.

Real pages put their judgement in a lead-in ("Further positive elements include:") and the topic in
the bullets beneath it, and wrap both in navigation, cookie notices and "about us" paragraphs. A
bullet is read with its lead-in; furniture is never linked.
"""

from __future__ import annotations

import re

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


def lead_ins(passages: list[dict]) -> dict[int, str]:
    """passage id -> the lead-in of a list item: the nearest paragraph before its run of bullets, under
    the same heading, when it announces a list (ends with a colon) or is short."""
    found: dict[int, str] = {}
    lead: str | None = None
    heading: str | None = None
    for passage in passages:
        if passage["block_kind"] == "list_item":
            if lead is not None and passage["heading_path"] == heading:
                found[passage["id"]] = lead
            continue
        text = passage["text"].strip()
        announces = text.endswith(":") or len(text.split()) <= LEAD_IN_MAX_WORDS
        lead, heading = (text, passage["heading_path"]) if announces and not is_boilerplate(text) else (None, None)
    return found


def with_lead_in(text: str, lead_in: str | None) -> str:
    """The words a reader takes in for a bullet: its lead-in, then the bullet."""
    return f"{lead_in.rstrip()} {text}" if lead_in else text
