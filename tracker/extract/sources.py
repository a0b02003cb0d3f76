"""Read the bytes of a source: a local file or an http(s) URL (timeout, size cap, content type).

A source is known by its resolved absolute path or its normalised URL (`Source.name`), so two files
of the same name in different folders are never taken for one another. Every URL is checked before
anything is fetched: http and https only, a well-formed host, port and escapes, no credentials.
"""

from __future__ import annotations

import http.client
import ipaddress
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

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
FETCHED_SCHEMES = ("http", "https")
# "scheme:" as URLs start (two letters at least, so "C:" stays a path); with "//" or a scheme that
# never names a file, the source is taken for a URL and checked as one.
SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+):")
URL_ONLY_SCHEMES = {"http", "https", "ftp", "ftps", "sftp", "file", "mailto", "data", "javascript", "ws", "wss", "gopher"}
HOST_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")
BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
SAFE_PATH = "/%:@!$&'()*+,;=-._~"


@dataclass
class Source:
    name: str  # the identity: resolved absolute path, or the normalised URL
    data: bytes
    content_type: str | None = None
    is_url: bool = False
    given: str | None = None  # the path or URL as the user wrote it


def looks_like_url(name: str) -> bool:
    match = SCHEME.match(name)
    if match is None:
        return "://" in name[:24]  # "ht tp://...", "://host": a URL gone wrong, not a file name
    return name[match.end() :].startswith("//") or match.group(1).lower() in URL_ONLY_SCHEMES


def is_url(name: str) -> bool:
    """Whether `name` is to be read as a URL (and checked as one) rather than as a local path."""
    return looks_like_url(name) and not Path(name).exists()


def check_host(host: str) -> str:
    """The host in the form to fetch: an IP address, or a name in IDNA (ASCII) form."""
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        pass
    try:
        ascii_host = host.encode("idna").decode("ascii").lower()
    except UnicodeError as error:
        raise ExtractionError(f"malformed URL: bad host {host!r}") from error
    if len(ascii_host) > 253 or not all(HOST_LABEL.match(label) for label in ascii_host.rstrip(".").split(".")):
        raise ExtractionError(f"malformed URL: bad host {host!r}")
    return ascii_host


def check_url(url: str) -> str:
    """The normalised URL (lower-case scheme and host, escaped path, no fragment), or
    ExtractionError saying in one line what is wrong with it, before anything is fetched."""
    match = SCHEME.match(url)
    if match is None:
        raise ExtractionError("malformed URL: no scheme (write http:// or https://)")
    scheme = match.group(1).lower()
    if scheme not in FETCHED_SCHEMES:
        hint = " (give a local file as a path)" if scheme == "file" else ""
        raise ExtractionError(f"unsupported URL scheme {scheme!r}: only http and https are fetched{hint}")
    if re.search(r"[\x00-\x20\x7f]", url):
        raise ExtractionError("malformed URL: it contains a space or a control character")
    if BAD_ESCAPE.search(url):
        raise ExtractionError("malformed URL: '%' not followed by two hexadecimal digits")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:  # "Invalid IPv6 URL", "Port out of range 0-65535", ...
        raise ExtractionError(f"malformed URL: {error}") from error
    if not parts.hostname:
        raise ExtractionError("malformed URL: no host")
    if parts.username is not None or parts.password is not None:
        raise ExtractionError("URL with a user name or password: not fetched (it would be stored)")
    host = check_host(parts.hostname)
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != {"http": 80, "https": 443}[scheme]:
        netloc += f":{port}"
    return urlunsplit((scheme, netloc, quote(parts.path or "/", safe=SAFE_PATH), quote(parts.query, safe=SAFE_PATH + "?"), ""))


def read_source(name: str, timeout: float = URL_TIMEOUT, max_bytes: int = MAX_BYTES) -> Source:
    if is_url(name):
        return _read_url(check_url(name), timeout, max_bytes, given=name)
    path = Path(name)
    try:
        if not path.exists():
            raise ExtractionError("no such file")
        if path.is_dir():
            raise ExtractionError("is a folder with no supported files")
        if path.stat().st_size > max_bytes:
            raise ExtractionError(f"file is larger than {max_bytes // (1024 * 1024)} MB")
        return Source(name=str(path.resolve()), data=path.read_bytes(), given=name)
    except OSError as error:  # permission denied, a name too long, a broken link, ...
        raise ExtractionError(f"cannot read: {error.strerror or error.__class__.__name__}") from error
    except ValueError as error:  # a NUL byte in the path
        raise ExtractionError(f"not a usable path ({error})") from error


class HttpOnlyRedirects(urllib.request.HTTPRedirectHandler):
    """Follow redirects to http(s) URLs only, each checked like the first."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        check_url(newurl)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _read_url(url: str, timeout: float, max_bytes: int, given: str | None = None) -> Source:
    request = urllib.request.Request(url, headers={"User-Agent": "review-tracker/0.1"})
    opener = urllib.request.build_opener(HttpOnlyRedirects)
    try:
        with opener.open(request, timeout=timeout) as response:
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
    except (OSError, http.client.HTTPException, ValueError) as error:  # reset connections, bad responses
        raise ExtractionError(f"cannot fetch: {error.__class__.__name__} {error}".strip()) from error
    if len(data) > max_bytes:
        raise ExtractionError(f"body exceeds the {max_bytes}-byte cap")
    return Source(name=url, data=data, content_type=content_type or None, is_url=True, given=given)
