"""Errors the library raises on purpose; the CLI turns them into one readable line."""


class TrackerError(Exception):
    """Something the user can fix: a bad path, a bad option, an unreadable database."""


class ExtractionError(TrackerError):
    """A source could not be turned into text; the message names the reason."""
