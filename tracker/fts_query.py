"""What a reader types, as an FTS5 MATCH expression FTS5 always parses.

Every word and every "quoted phrase" becomes one FTS5 string, so operators, column filters and
stray quotes are searched as text, never parsed as syntax; control characters (a NUL ends an FTS5
string early) become spaces and an unclosed quote runs to the end, as in sqlite-utils' `quote_fts`.
A query that leaves nothing to search, or an FTS5 error that still gets through, is a `SearchError`
with a readable message: one line in the CLI, HTTP 400 in the plugin.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from .errors import SearchError

CONTROL = re.compile(r"[\x00-\x1f\x7f]")
TERM = re.compile(r'"([^"]*)"|([^\s"]+)')
# The starts of the messages SQLite gives for a MATCH expression it cannot parse.
FTS_SYNTAX = ("fts5:", "unterminated string", "unknown special query", "no such column")


def shown(query: str, width: int = 40) -> str:
    """The query as a message quotes it: repr (control characters visible), cut to `width`."""
    text = repr(query)
    return text if len(text) <= width else text[: width - 3] + "..."


def match_terms(query: str) -> list[str]:
    """Each word and quoted phrase of `query` as a quoted FTS5 string, in order; [] when none."""
    text = CONTROL.sub(" ", query)
    if text.count('"') % 2:
        text += '"'
    terms = (" ".join((phrase or word).split()) for phrase, word in TERM.findall(text))
    return [f'"{term}"' for term in terms if term]


def query_terms(query: str) -> list[str]:
    """`match_terms`, or a SearchError when the query has nothing to search for (a lone quote, a NUL)."""
    terms = match_terms(query)
    if not terms:
        raise SearchError(f"search {shown(query)} has no words to search for")
    return terms


@contextmanager
def readable_errors(query: str) -> Iterator[None]:
    """Inside: an FTS5 syntax error becomes a SearchError naming the query."""
    try:
        yield
    except Exception as error:  # OperationalError of sqlite3 or of pysqlite3 (Datasette's): one class per driver
        if type(error).__name__ != "OperationalError" or not str(error).startswith(FTS_SYNTAX):
            raise
        raise SearchError(f"search {shown(query)} could not be read by the full-text index ({error})") from error
