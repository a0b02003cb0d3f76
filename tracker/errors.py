"""Errors the library raises on purpose; the CLI turns them into one readable line."""


class TrackerError(Exception):
    """Something the user can fix: a bad path, a bad option, an unreadable database."""


class ExtractionError(TrackerError):
    """A source could not be turned into text; the message names the reason."""


class SearchError(TrackerError):
    """A search query the full-text index cannot take (no words, bad syntax); the message says why."""
