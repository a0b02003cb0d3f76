"""HTML with selectolax: the publication body (gov.uk `.govspeak`, else `main`/`article`/`body`)
as headings, paragraphs and list items in document order; scripts, styles and site chrome dropped.
trafilatura is the fallback when the structural walk finds almost nothing (unusual markup)."""

from __future__ import annotations

import re

from selectolax.lexbor import LexborHTMLParser as HTMLParser
from selectolax.lexbor import LexborNode as Node

from .model import Block, Extracted

DROP = (
    "script, style, noscript, template, svg, iframe, form, nav, header, footer, aside, "
    "button, [hidden], .gem-c-cookie-banner, .govuk-skip-link, .cookie-banner, [role=navigation]"
)
BODY_SELECTORS = (".govspeak", "main", "article", "[role=main]", "body")
HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
PARAGRAPHS = {"p", "pre", "dt", "dd", "figcaption", "caption", "summary"}
LISTS = {"ul", "ol"}
INLINE = {"a", "abbr", "b", "strong", "i", "em", "span", "sup", "sub", "small", "code", "mark", "q", "u", "s", "time", "cite", "br", "img"}
MIN_STRUCTURED_CHARS = 200


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def node_text(node: Node) -> str:
    return squash(node.text(deep=True, separator=" ") if node.tag != "-text" else node.text_content or "")


def ordered_marker(node: Node, index: int) -> str:
    """The visible marker of the index-th item of an ordered list: 1. / (a) / (i)."""
    kind = (node.attributes.get("type") or "1").strip()
    start = int(node.attributes.get("start") or 1) if (node.attributes.get("start") or "1").isdigit() else 1
    number = start + index
    if kind == "a":
        return f"({chr(ord('a') + number - 1)})"
    if kind == "A":
        return f"({chr(ord('A') + number - 1)})"
    if kind in ("i", "I"):
        numerals = ["i", "ii", "iii", "iv", "v", "vi", "vii", "viii", "ix", "x", "xi", "xii"]
        numeral = numerals[number - 1] if number <= len(numerals) else str(number)
        return f"({numeral.upper() if kind == 'I' else numeral})"
    return f"{number}."


class Walker:
    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self.inline: list[str] = []

    def flush(self) -> None:
        text = squash(" ".join(self.inline))
        self.inline.clear()
        if text:
            self.blocks.append(Block("paragraph", text))

    def add(self, kind: str, text: str, level: int = 0) -> None:
        self.flush()
        if text:
            self.blocks.append(Block(kind, text, level=level))

    def walk(self, node: Node) -> None:
        child = node.child
        while child is not None:
            self.visit(child)
            child = child.next

    def visit(self, node: Node) -> None:
        tag = node.tag
        if tag == "-text":
            text = node.text_content or ""
            if text.strip():
                self.inline.append(text)
        elif tag in HEADINGS:
            self.add("heading", node_text(node), HEADINGS[tag])
        elif tag in PARAGRAPHS:
            self.add("paragraph", node_text(node))
        elif tag in LISTS:
            self.flush()
            self.visit_list(node)
        elif tag == "tr":
            cells = [node_text(cell) for cell in node.iter() if cell.tag in ("td", "th")]
            self.add("paragraph", " | ".join(cell for cell in cells if cell))
        elif tag in INLINE:
            text = node_text(node)
            if text:
                self.inline.append(text)
        elif tag in ("-comment",):
            return
        else:
            self.flush()
            self.walk(node)
            self.flush()

    def visit_list(self, node: Node) -> None:
        items = [child for child in node.iter() if child.tag == "li"]
        for index, item in enumerate(items):
            marker = ordered_marker(node, index) if node.tag == "ol" else "-"
            nested = [child for child in item.iter() if child.tag in LISTS]
            own_text = squash(" ".join(node_text(c) for c in item.iter(include_text=True) if c.tag not in LISTS))
            self.add("list_item", f"{marker} {own_text}" if own_text else "")
            for sub in nested:
                self.visit_list(sub)


def extract_html(html: str) -> Extracted:
    tree = HTMLParser(html)
    title_node = tree.css_first("title")
    page_title = squash(title_node.text()) if title_node else None
    for node in tree.css(DROP):
        if node.parent is not None and node.parent.tag != "-document":  # never the root (<html hidden>)
            node.decompose()
    roots = next((found for selector in BODY_SELECTORS if (found := tree.css(selector))), [])
    walker = Walker()
    for root in roots:
        walker.walk(root)
    walker.flush()
    blocks = walker.blocks
    if sum(len(block.text) for block in blocks) < MIN_STRUCTURED_CHARS:
        fallback = trafilatura_blocks(html)
        if fallback and sum(len(b.text) for b in fallback) > sum(len(b.text) for b in blocks):
            blocks = fallback
    heading = next((b.text for b in blocks if b.kind == "heading" and b.level == 1), None)
    return Extracted(blocks=blocks, format="html", title=heading or page_title)


def trafilatura_blocks(html: str) -> list[Block]:
    """trafilatura's reading of an unusual page; nothing when it cannot read it (a fallback must
    never be why a page fails)."""
    import trafilatura

    from ..errors import ExtractionError
    from .text import extract_text

    try:
        markdown = trafilatura.extract(html, output_format="markdown", include_links=False, include_tables=True)
        return extract_text(markdown, markdown=True).blocks if markdown else []
    except (ExtractionError, ValueError, TypeError, RecursionError, ImportError):  # its front matter, its parser's limits
        return []
