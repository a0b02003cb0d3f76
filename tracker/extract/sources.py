"""Read the bytes of a source: a local file or an http(s) URL (timeout, size cap, content type)."""

from __future__ import annotations

import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from ..errors import ExtractionError

MAX_BYTES = 50 * 1024 * 1024
URL_TIMEOUT = 20.0
ACCEPTED_CONTENT_TYPES = (
    "text/html",
    "application/xhtml+xml",
    "application/pdf",
    "text/plain",
    "text/markdown",
    "text/x-markdown",
)


@dataclass
class Source:
    name: str  # the path or URL as the user gave it
    data: bytes
    content_type: str | None = None
    is_url: bool = False


def is_url(name: str) -> bool:
    return name.startswith(("http://", "https://"))


def read_source(name: str, timeout: float = URL_TIMEOUT, max_bytes: int = MAX_BYTES) -> Source:
    if is_url(name):
        return _read_url(name, timeout, max_bytes)
    path = Path(name)
    if not path.exists():
        raise ExtractionError("no such file")
    if path.stat().st_size > max_bytes:
        raise ExtractionError(f"file is larger than {max_bytes // (1024 * 1024)} MB")
    return Source(name=str(path), data=path.read_bytes())


def _read_url(url: str, timeout: float, max_bytes: int) -> Source:
    request = urllib.request.Request(url, headers={"User-Agent": "review-tracker/0.1"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            content_type = (response.headers.get_content_type() or "").lower()
            if content_type and content_type not in ACCEPTED_CONTENT_TYPES:
                raise ExtractionError(f"unsupported content type {content_type}")
            length = response.headers.get("Content-Length")
            if length and length.isdigit() and int(length) > max_bytes:
                raise ExtractionError(f"body of {int(length)} bytes exceeds the {max_bytes}-byte cap")
            data = response.read(max_bytes + 1)
    except ExtractionError:
        raise
    except urllib.error.HTTPError as error:
        raise ExtractionError(f"HTTP {error.code} {error.reason}") from error
    except urllib.error.URLError as error:
        raise ExtractionError(f"cannot fetch: {error.reason}") from error
    except TimeoutError as error:
        raise ExtractionError(f"timed out after {timeout:g}s") from error
    except OSError as error:
        raise ExtractionError(f"cannot fetch: {error}") from error
    if len(data) > max_bytes:
        raise ExtractionError(f"body exceeds the {max_bytes}-byte cap")
    return Source(name=url, data=data, content_type=content_type or None, is_url=True)
