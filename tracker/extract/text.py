"""Plain text and Markdown: front matter, headings, list items and paragraphs; links reduced to text."""

from __future__ import annotations

import re

import yaml

from ..errors import ExtractionError
from .model import Block, Extracted

FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n---[ \t]*(?:\n|\Z)", re.DOTALL)
ATX_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
# Bullets include the glyphs PDF text layers emit (private-use code points such as U+F0B7).
BULLETS = "-*•▪●◦‣\uf0a7\uf0b7\uf076\uf0d8"
LIST_ITEM = re.compile(rf"^\s*(?:[{BULLETS}]|\d{{1,3}}[.)]|\(?[a-z]\)|\(?[ivx]{{1,4}}\))\s+\S")
BULLET = re.compile(rf"^\s*[{BULLETS}]\s+")
# [text](url) and the "(<url>)" that some exports add after a link; "\(" escapes.
MD_LINK = re.compile(r"\[((?:[^\[\]\\]|\\.)*)\]\((?:[^()\s]|\([^()\s]*\))*(?:\s+\"[^\"]*\")?\)")
BARE_URL = re.compile(r"\s*\((?:https?://|/)[^()\s]*\)")
ANGLE_URL = re.compile(r"\s*\(<https?://[^>]*>\)")
ESCAPE = re.compile(r"\\([()\[\]*_#])")
EMPHASIS = re.compile(r"(\*\*|__)(.+?)\1")
# Site chrome that plain-text captures of web pages keep: not part of the document.
BOILERPLATE = re.compile(
    r"^(?:skip to (?:navigation|main content|content)\b.*|accept (?:all )?cookies|cookie settings|back to top|"
    r"share (?:this|on)\b.*|menu|search|sign in|subscribe|print this page|"
    r"(?:source|sources|read more|link)\s*:\s*<?https?://\S+)$",
    re.IGNORECASE,
)


def clean_inline(text: str, drop_bare_urls: bool = False) -> str:
    """Markdown links to their text; with `drop_bare_urls` (web captures) also '(https://...)' and '(/path)'."""
    text = ANGLE_URL.sub("", text)
    text = MD_LINK.sub(lambda m: m.group(1), text)
    text = ESCAPE.sub(r"\1", text)
    if drop_bare_urls:
        text = BARE_URL.sub("", text)
    text = EMPHASIS.sub(r"\2", text)
    return re.sub(r"[ \t]+", " ", text).strip()


def split_front_matter(text: str) -> tuple[dict, str]:
    match = FRONT_MATTER.match(text)
    if not match:
        return {}, text
    try:
        meta = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as error:
        raise ExtractionError(f"front matter is not valid YAML ({error.__class__.__name__})") from error
    except (ValueError, OverflowError) as error:  # a value YAML reads as an impossible date: "date: 2023-02-30"
        raise ExtractionError(f"front matter holds an impossible value ({error})") from error
    except RecursionError as error:
        raise ExtractionError("front matter is nested too deeply") from error
    if not isinstance(meta, dict):
        raise ExtractionError("front matter is not a mapping")
    return meta, text[match.end() :]


def looks_like_heading(line: str) -> bool:
    """A short stand-alone line without closing punctuation, as plain-text exports print titles."""
    words = line.split()
    return (
        0 < len(words) <= 12
        and len(line) <= 90
        and not line.rstrip().endswith((".", ",", ";", ":", "?", "!", '"', "”"))
        and line[:1].isupper()
        and not LIST_ITEM.match(line)
    )


def extract_text(text: str, markdown: bool = False) -> Extracted:
    def clean(line: str) -> str:  # web captures saved as text carry link residue; our Markdown cites URLs on purpose
        return clean_inline(line, drop_bare_urls=not markdown)

    meta, body = split_front_matter(text) if markdown or text.startswith("---") else ({}, text)
    blocks: list[Block] = []
    for chunk in re.split(r"\n\s*\n", body.replace("\r\n", "\n").replace("\r", "\n")):
        lines = [line for line in chunk.split("\n") if line.strip()]
        paragraph: list[str] = []

        def flush(paragraph: list[str] = paragraph) -> None:
            if paragraph:
                blocks.append(Block("paragraph", clean(" ".join(paragraph))))
                paragraph.clear()

        for line in lines:
            heading = ATX_HEADING.match(line)
            if heading:
                flush()
                blocks.append(Block("heading", clean(heading.group(2)), level=len(heading.group(1))))
            elif LIST_ITEM.match(line):
                flush()
                item = BULLET.sub("- ", line.strip())
                blocks.append(Block("list_item", clean(item)))
            elif blocks and blocks[-1].kind == "list_item" and line.startswith(("  ", "\t")) and not paragraph:
                blocks[-1].text += " " + clean(line)
            else:
                paragraph.append(line.strip())
        if len(lines) == 1 and paragraph and not markdown and looks_like_heading(paragraph[0]):
            blocks.append(Block("heading", clean(paragraph[0]), level=2))
            paragraph.clear()
        flush()
    blocks = [block for block in blocks if block.text and not BOILERPLATE.match(block.text)]
    return Extracted(blocks=blocks, format="markdown" if markdown else "text", title=meta.get("title") or guess_title(blocks), meta=meta)


def guess_title(blocks: list[Block]) -> str | None:
    """The first heading of four words or more among the first few (site names are shorter; logo alt
    text that plain-text captures keep is skipped)."""
    headings = [b.text for b in blocks if b.kind == "heading" and " logo" not in f" {b.text.lower()}"][:5]
    return next((h for h in headings if len(h.split()) >= 4), headings[0] if headings else None)
