"""Choose an extractor from the bytes, the file name and the declared content type."""

from __future__ import annotations

import charset_normalizer

from ..errors import ExtractionError
from .model import Extracted


def decode_text(data: bytes) -> str:
    """Decode UTF-8 (with or without BOM), else the best guess of charset-normalizer."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    windows_punctuation = any(0x91 <= byte <= 0x97 for byte in data)  # curly quotes and dashes in cp1252
    if windows_punctuation or sum(byte < 128 for byte in data) >= 0.9 * len(data):  # English text saved by Windows
        try:
            return data.decode("cp1252")
        except UnicodeDecodeError:
            pass
    best = charset_normalizer.from_bytes(data).best()
    if best is None:
        raise ExtractionError("binary data, not a text document")
    return str(best)


def looks_binary(data: bytes) -> bool:
    sample = data[:4096]
    if b"\x00" in sample:
        return True
    controls = sum(1 for byte in sample if byte < 9 or 13 < byte < 32)
    return controls > len(sample) * 0.05


def detect_format(data: bytes, name: str, content_type: str | None = None) -> str:
    lowered = name.lower().split("?")[0]
    head = data[:1024].lstrip().lower()
    if data[:5] == b"%PDF-" or content_type == "application/pdf" or lowered.endswith(".pdf"):
        return "pdf"
    if content_type in ("text/html", "application/xhtml+xml") or lowered.endswith((".html", ".htm")):
        return "html"
    if head.startswith((b"<!doctype html", b"<html")) or b"<body" in head:
        return "html"
    if lowered.endswith((".md", ".markdown")) or content_type in ("text/markdown", "text/x-markdown"):
        return "markdown"
    return "text"


def extract(data: bytes, name: str, content_type: str | None = None) -> Extracted:
    """Extract blocks from any supported source; raise ExtractionError with the reason otherwise."""
    if not data.strip():
        raise ExtractionError("empty file")
    fmt = detect_format(data, name, content_type)
    if fmt == "pdf":
        from .pdf import extract_pdf

        extracted = extract_pdf(data)
    else:
        if looks_binary(data):
            raise ExtractionError("binary data, not a supported document (HTML, PDF, text, Markdown)")
        text = decode_text(data)
        if fmt == "html":
            from .html import extract_html

            extracted = extract_html(text)
        else:
            from .text import extract_text

            extracted = extract_text(text, markdown=fmt == "markdown")
    if not any(block.text.strip() for block in extracted.blocks):
        raise ExtractionError("no text found")
    return extracted
