"""PDF with pypdf: body text per page with running headers, footers and page numbers removed,
hyphenated line breaks joined, and lines regrouped into headings, list items and paragraphs."""

from __future__ import annotations

import io
import logging
import re
from collections import Counter
from typing import Any

from ..errors import ExtractionError
from ..progress import Progress, no_progress
from ..references import LABEL_ONLY, LABEL_START
from .model import Block, Extracted
from .text import LIST_ITEM

PAGE_NUMBER = re.compile(r"^\s*(?:page\s+)?\d{1,4}(?:\s*(?:of|/)\s*\d{1,4})?\s*$", re.IGNORECASE)
HEADING_START = re.compile(r"^\s*(?:chapter|part|annex|appendix|section)\s+\w+", re.IGNORECASE)
SENTENCE_END = (".", ":", ";", "?", "!", '"', "”", ")")
MIN_CHARS_PER_PAGE = 25
PROGRESS_PAGES = 50  # a progress bar for PDFs from this many pages
PLACEHOLDER_TITLES = {"untitled", "anonymous", "document", "title", "none", "unknown"}


def line_shape(line: str) -> str:
    return re.sub(r"\d+", "#", line.strip().lower())


def running_lines(pages: list[list[str]]) -> set[str]:
    """Shapes of lines that open or close at least half of the pages: headers and footers. A shape
    that fills more than two lines of a page is the body's own pattern (a log, a table), not a header."""
    if len(pages) < 3:
        return set()
    counts: Counter[str] = Counter()
    crowded: set[str] = set()
    for lines in pages:
        shapes = Counter(line_shape(line) for line in lines if line.strip())
        crowded.update(shape for shape, n in shapes.items() if n > 2)
        edges = {line_shape(line) for line in lines[:2] + lines[-2:] if line.strip()}
        counts.update(edges)
    return {shape for shape, count in counts.items() if count >= max(2, len(pages) // 2) and shape not in crowded}


def page_body(lines: list[str], running: set[str]) -> list[str]:
    """A page without its running lines and page numbers, unless those would be most of the page:
    then they are its text (every line of a short page can share the header's shape)."""
    body = [line for line in lines if line_shape(line) not in running and not PAGE_NUMBER.match(line)]
    removed = sum(len(line.strip()) for line in lines) - sum(len(line.strip()) for line in body)
    if removed > 0.5 * sum(len(line.strip()) for line in lines):
        return [line for line in lines if not PAGE_NUMBER.match(line)]
    return body


def join_hyphenated(lines: list[str]) -> list[str]:
    joined: list[str] = []
    for line in lines:
        if joined and re.search(r"[A-Za-z]-$", joined[-1]) and re.match(r"^[a-z]", line.strip()):
            joined[-1] = joined[-1][:-1] + line.strip()
        else:
            joined.append(line.rstrip())
    return joined


def is_heading_line(line: str, previous: str | None) -> bool:
    text = line.strip()
    if HEADING_START.match(text):
        return True
    words = text.split()
    ends_open = not text.endswith(SENTENCE_END)
    prev_closed = previous is None or previous.strip().endswith(SENTENCE_END) or previous.strip() == ""
    return 0 < len(words) <= 10 and ends_open and text[:1].isupper() and prev_closed and not LIST_ITEM.match(text)


def lines_to_blocks(lines: list[str], page: int, width: int) -> list[Block]:
    blocks: list[Block] = []
    current: list[str] = []
    kind = "paragraph"

    def flush() -> None:
        nonlocal current, kind
        if current:
            blocks.append(Block(kind, re.sub(r"\s+", " ", " ".join(current)).strip(), page=page))
        current, kind = [], "paragraph"

    previous: str | None = None
    for line in lines:
        text = line.strip()
        if not text:
            flush()
            previous = ""
            continue
        if LABEL_ONLY.match(text):
            flush()
            blocks.append(Block("paragraph", text, page=page))  # a label printed on its own line
        elif LABEL_START.match(text) or LIST_ITEM.match(text):
            flush()
            kind = "list_item" if LIST_ITEM.match(text) and not LABEL_START.match(text) else "paragraph"
            current = [text]
        elif blocks and blocks[-1].kind == "heading" and not current and text[:1].islower() and len(text.split()) <= 6:
            blocks[-1].text += " " + text  # a heading wrapped onto a second line
            previous = ""
            continue
        elif HEADING_START.match(text) or (is_heading_line(text, previous) and len(text) < width * 0.75):
            flush()
            blocks.append(Block("heading", text, level=2, page=page))
            previous = ""  # a heading closes what came before it, so a sub-heading may follow
            continue
        else:
            if current and previous is not None and previous.strip().endswith((".", "?", "!")) and len(previous) < width * 0.7:
                flush()
            current.append(text)
        previous = text
    flush()
    return blocks


PASSWORD_HINT = "give it with --password or the TRACKER_PDF_PASSWORD environment variable"


def unlock(reader: Any, password: str | None) -> None:
    """Open an encrypted PDF: with no password when only an owner password is set (printing and
    copying limits), else with the one given. The password is never put in a message."""
    from pypdf.errors import DependencyError

    try:
        opened = reader.decrypt(password or "")
        if not opened and password:
            opened = reader.decrypt("")  # the password was not needed after all
    except DependencyError as error:
        raise ExtractionError("encrypted PDF (AES): reading it needs the 'cryptography' package (pip install 'pypdf[crypto]')") from error
    except NotImplementedError as error:
        raise ExtractionError(f"encrypted PDF with an unsupported scheme ({error})") from error
    if not opened:
        if password:
            raise ExtractionError("encrypted PDF, password-protected: the password given does not open it")
        raise ExtractionError(f"encrypted PDF, password-protected: {PASSWORD_HINT}")


def read_pages(data: bytes, password: str | None, progress: Progress) -> tuple[list[str], str | None]:
    """The text of every page and the metadata title; ExtractionError for damaged or locked files."""
    from pypdf import PdfReader

    logging.getLogger("pypdf").setLevel(logging.CRITICAL)  # its repairs and errors: the reason we give is the one line
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            unlock(reader, password)
        page_texts = []
        pages = reader.pages
        with (progress if len(pages) >= PROGRESS_PAGES else no_progress)("Reading pages", len(pages)) as advance:
            for page in pages:
                page_texts.append(page.extract_text() or "")
                advance(1)
        metadata_title = reader.metadata.get("/Title") if reader.metadata else None
    except ExtractionError:
        raise
    except RecursionError as error:
        raise ExtractionError("corrupt or unreadable PDF (nested too deeply)") from error
    except Exception as error:  # pypdf raises many types for damaged files
        name = error.__class__.__name__
        if name == "DependencyError":
            raise ExtractionError("encrypted PDF (AES): reading it needs the 'cryptography' package (pip install 'pypdf[crypto]')") from error
        raise ExtractionError(f"corrupt or unreadable PDF ({name})") from error
    return page_texts, str(metadata_title or "").strip() or None


def extract_pdf(data: bytes, password: str | None = None, progress: Progress = no_progress) -> Extracted:
    page_texts, metadata_title = read_pages(data, password, progress)
    if not page_texts:
        raise ExtractionError("PDF has no pages")
    if sum(len(text.strip()) for text in page_texts) < MIN_CHARS_PER_PAGE * len(page_texts):
        raise ExtractionError("PDF has no text layer (scanned?): OCR is not supported")
    pages = [text.split("\n") for text in page_texts]
    running = running_lines(pages)
    width = max((len(line) for lines in pages for line in lines), default=80)
    blocks: list[Block] = []
    for number, lines in enumerate(pages, start=1):
        body = page_body(lines, running)
        page_blocks = lines_to_blocks(join_hyphenated(body), number, width)
        if blocks and page_blocks and continues(blocks[-1], page_blocks[0]):
            carried = page_blocks.pop(0).text
            hyphenated = re.search(r"[A-Za-z]-$", blocks[-1].text)
            blocks[-1].text = blocks[-1].text[:-1] + carried if hyphenated else blocks[-1].text + " " + carried
        blocks.extend(page_blocks)
    title = metadata_title
    if not title or len(title) < 4 or title.lower() in PLACEHOLDER_TITLES or title.lower().startswith("microsoft word"):
        title = next((b.text for b in blocks if b.kind == "heading"), None)
    return Extracted(blocks=blocks, format="pdf", title=title, pages=len(pages))


def continues(last: Block, first: Block) -> bool:
    """A paragraph cut by a page break: the next page opens in lower case."""
    return last.kind != "heading" and first.kind == "paragraph" and first.text[:1].islower()
