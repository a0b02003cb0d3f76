"""One parser for every date the tracker is given: command-line options, front matter and query
parameters. A date keeps the precision it was written with (day, month or year), so "2023" is never
stored as an exact day, and an impossible date ("2023-02-30", "2023-13-01") is refused with the reason.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime

from .errors import TrackerError

PRECISIONS = ("day", "month", "year")
# Precisions a curator may declare in front matter besides the three a date can be written in.
DECLARED_PRECISIONS = (*PRECISIONS, "unverified")
# YYYY[-MM[-DD]], and after a day an ISO time ("T10:00:00Z", " 10:00+01:00"), which is ignored.
DATE_PATTERN = re.compile(
    r"(?P<year>\d{4})(?:-(?P<month>\d{1,2})(?:-(?P<day>\d{1,2})(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?)?)?",
    re.ASCII,
)
FORMAT_HINT = "YYYY-MM-DD, YYYY-MM or YYYY"


class DateError(TrackerError):
    """A date that is malformed or does not exist; the message says which and why."""


@dataclass(frozen=True)
class ParsedDate:
    """A date as written: `iso` is "2023-04-04", "2023-04" or "2023"; `precision` says which."""

    iso: str
    precision: str

    @property
    def first_day(self) -> str:
        """The first day the date covers: the lower bound of a `since` filter."""
        return {"day": self.iso, "month": f"{self.iso}-01", "year": f"{self.iso}-01-01"}[self.precision]

    @property
    def last_day(self) -> str:
        """The last day the date covers: what "as of 2023" or "until 2023-06" means."""
        if self.precision == "day":
            return self.iso
        year = int(self.iso[:4])
        month = int(self.iso[5:7]) if self.precision == "month" else 12
        return f"{year:04d}-{month:02d}-{calendar.monthrange(year, month)[1]:02d}"


def parse_date(value: object, what: str = "date") -> ParsedDate:
    """Parse a date, datetime or string (YYYY-MM-DD, YYYY-MM, YYYY, or an ISO timestamp whose date
    part is used). Raises DateError naming `what` and the reason for anything else."""
    if isinstance(value, datetime):
        return ParsedDate(value.date().isoformat(), "day")
    if isinstance(value, date):
        return ParsedDate(value.isoformat(), "day")
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise DateError(f"{what} {value!r} is not {FORMAT_HINT}")
    text = str(value).strip()
    shown = text if len(text) <= 40 else text[:37] + "..."
    match = DATE_PATTERN.fullmatch(text)
    if not match:
        raise DateError(f"{what} {shown!r} is not {FORMAT_HINT}")
    year = int(match["year"])
    if year < 1:
        raise DateError(f"{what} {shown!r} is impossible: there is no year 0")
    if match["month"] is None:
        return ParsedDate(f"{year:04d}", "year")
    month = int(match["month"])
    if not 1 <= month <= 12:
        raise DateError(f"{what} {shown!r} is impossible: month {month} does not exist (months run 01 to 12)")
    if match["day"] is None:
        return ParsedDate(f"{year:04d}-{month:02d}", "month")
    day, days_in_month = int(match["day"]), calendar.monthrange(year, month)[1]
    if not 1 <= day <= days_in_month:
        name = calendar.month_name[month]
        raise DateError(f"{what} {shown!r} is impossible: {name} {year} has {days_in_month} days")
    return ParsedDate(f"{year:04d}-{month:02d}-{day:02d}", "day")


def optional_date(value: object, what: str = "date") -> ParsedDate | None:
    """`parse_date`, with None or an empty string meaning no date."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return parse_date(value, what)


def declared_precision(parsed: ParsedDate, declared: object, what: str = "date_precision") -> str:
    """The precision to store: a curator may declare a coarser one ("2023-06-01" known to the month)
    or "unverified", never a finer one than the date is written in."""
    if declared in (None, ""):
        return parsed.precision
    text = str(declared).strip().lower()
    if text not in DECLARED_PRECISIONS:
        raise DateError(f"{what} {declared!r} is not one of {', '.join(DECLARED_PRECISIONS)}")
    if text in PRECISIONS and PRECISIONS.index(text) < PRECISIONS.index(parsed.precision):
        raise DateError(f"{what} {text!r} is finer than the date {parsed.iso!r}, which is known to the {parsed.precision}")
    return text
