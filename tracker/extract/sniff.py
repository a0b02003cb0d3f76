"""Choose an extractor from the bytes, the file name and the declared content type, and decode text.

Text may come as UTF-8, UTF-16 or UTF-32 (with or without a byte-order mark), Windows-1252, or any
encoding charset-normalizer recognises. A file of NUL bytes, or one that decodes to control
characters, is still refused as binary.
"""

from __future__ import annotations

import codecs

import charset_normalizer

from ..errors import ExtractionError
from ..progress import Progress, no_progress
from .model import Block, Extracted

BINARY = "binary data, not a supported document (HTML, PDF, text, Markdown)"
BOMS = (  # UTF-32 first: its little-endian mark begins with UTF-16's
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
SAMPLE = 4096
MAX_BLOCK_CHARS = 100_000  # spaCy refuses texts over 1,000,000 characters; passages never cross a block


def control_share(text: str) -> float:
    """Share of characters that no text holds: C0 controls other than tab/newline/form feed, and DEL."""
    sample = text[:SAMPLE]
    if not sample:
        return 0.0
    return sum(1 for ch in sample if (ord(ch) < 32 and ch not in "\t\n\r\f\v") or ch == "\x7f") / len(sample)


def wide_encoding(data: bytes) -> str | None:
    """UTF-16 or UTF-32 without a byte-order mark, told by where the NUL bytes fall in mostly-Latin
    text (every other byte, or three bytes in four)."""
    sample = data[: SAMPLE - SAMPLE % 4]
    if len(sample) < 4:
        return None
    for width, names in ((4, ("utf-32-le", "utf-32-be")), (2, ("utf-16-le", "utf-16-be"))):
        if len(sample) % width:
            continue
        lanes = [sample[i::width] for i in range(width)]
        nul_share = [lane.count(0) / len(lane) for lane in lanes]
        low, high = (0, width - 1)  # the lane holding the character in little- and big-endian order
        if nul_share[low] < 0.1 and all(share > 0.6 for share in nul_share[1:]):
            return names[0]
        if nul_share[high] < 0.1 and all(share > 0.6 for share in nul_share[:-1]):
            return names[1]
    return None


def decode_text(data: bytes) -> str:
    """Decode a text document, or raise ExtractionError when the bytes are not text."""
    for bom, encoding in BOMS:
        if data.startswith(bom):
            return checked(data[len(bom) :], encoding)
    if b"\x00" in data[:SAMPLE]:
        wide = wide_encoding(data)
        if wide is None:
            raise ExtractionError(BINARY)
        return checked(data, wide)
    try:
        return checked(data, "utf-8")
    except ExtractionError:
        pass
    head = data[: SAMPLE * 4]
    ascii_share = sum(byte < 128 for byte in head) / max(1, len(head))
    windows_punctuation = any(0x91 <= byte <= 0x97 for byte in head)  # curly quotes and dashes in cp1252
    if ascii_share >= 0.9 or (windows_punctuation and ascii_share >= 0.5):  # English text saved by Windows
        try:
            return checked(data, "cp1252")
        except ExtractionError:
            pass
    best = charset_normalizer.from_bytes(data).best()
    if best is None:
        raise ExtractionError(BINARY)
    return checked(data, best.encoding)


def checked(data: bytes, encoding: str) -> str:
    """`data` decoded strictly, refused when it does not decode or decodes to control characters."""
    try:
        text = data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as error:
        raise ExtractionError(BINARY) from error
    if "\x00" in text[:SAMPLE] or control_share(text) > 0.05:
        raise ExtractionError(BINARY)
    return text


def detect_format(data: bytes | str, name: str, content_type: str | None = None) -> str:
    """pdf, html, markdown or text: PDF by its magic bytes, HTML by its opening tags, else by name
    and declared type."""
    lowered = name.lower().split("?")[0]
    raw = data[:1024] if isinstance(data, bytes) else data[:1024].encode("utf-8", "replace")
    head = raw.lstrip().lower()
    if raw[:5] == b"%PDF-" or content_type == "application/pdf" or lowered.endswith(".pdf"):
        return "pdf"
    if content_type in ("text/html", "application/xhtml+xml") or lowered.endswith((".html", ".htm")):
        return "html"
    if head.startswith((b"<!doctype html", b"<html")) or b"<body" in head:
        return "html"
    if lowered.endswith((".md", ".markdown")) or content_type in ("text/markdown", "text/x-markdown"):
        return "markdown"
    return "text"


def extract(
    data: bytes,
    name: str,
    content_type: str | None = None,
    password: str | None = None,
    progress: Progress = no_progress,
) -> Extracted:
    """Extract blocks from any supported source; raise ExtractionError with the reason otherwise.
    `password` opens a password-protected PDF; `progress` shows the pages of a long PDF."""
    if not data.strip():
        raise ExtractionError("empty file")
    if detect_format(data, name, content_type) == "pdf":
        from .pdf import extract_pdf

        extracted = extract_pdf(data, password=password, progress=progress)
    else:
        text = decode_text(data)
        if not text.strip():
            raise ExtractionError("empty file")
        fmt = detect_format(text, name, content_type)
        if fmt == "html":
            from .html import extract_html

            extracted = extract_html(text)
        else:
            from .text import extract_text

            extracted = extract_text(text, markdown=fmt == "markdown")
    if not any(block.text.strip() for block in extracted.blocks):
        raise ExtractionError("no text found")
    extracted.blocks = split_long_blocks(extracted.blocks)
    return extracted


def split_long_blocks(blocks: list[Block], limit: int = MAX_BLOCK_CHARS) -> list[Block]:
    """Cut blocks longer than `limit` characters (a text with no blank lines, a giant table cell) at
    sentence ends, else at spaces, so that no later stage meets one unbounded string. NUL characters
    are dropped: SQLite's text functions stop at them, so stored offsets would not slice."""
    out: list[Block] = []
    for block in blocks:
        text = block.text.replace("\x00", "") if "\x00" in block.text else block.text
        while len(text) > limit:
            cut = text.rfind(". ", limit // 2, limit) + 1 or text.rfind(" ", limit // 2, limit)
            cut = cut if cut > 0 else limit
            out.append(Block("paragraph" if block.kind == "heading" else block.kind, text[:cut].strip(), page=block.page))
            text = text[cut:].strip()
        if text:
            out.append(Block(block.kind, text, level=block.level, page=block.page))
    return out
