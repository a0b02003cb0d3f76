"""Every written form of a recommendation reference, in one place: the labels that open a
recommendation in a review ("Recommendation 12:", "Rec. 12"), the inline references a passage makes
("recommendations 3 and 4", "recs 5–7", "R12", "(register: slug)"), and the normal form a reference
takes before it is resolved (`tracker.recommendations.resolve`)."""

from __future__ import annotations

import re

# "recommendation", "rec" and "rec." are the words that introduce a number everywhere.
LABEL_WORD = r"(?:recommendation|rec\.?)"
REFERENCE_WORDS = ["recommendation", "recommendations", "rec", "recs"]  # the Matcher's token forms

LABEL = re.compile(
    rf"^\s*{LABEL_WORD}\s+(?P<number>\d{{1,3}})\s*(?:(?P<sep>[:.\-–—)])\s*(?P<rest>.*))?$",
    re.IGNORECASE | re.DOTALL,
)
LABEL_START = re.compile(rf"^\s*{LABEL_WORD}\s+\d{{1,3}}\b", re.IGNORECASE)
LABEL_ONLY = re.compile(rf"^\s*{LABEL_WORD}\s+\d{{1,3}}\s*$", re.IGNORECASE)
SHORT_REFERENCE = r"^R\d{1,3}$"
NUMBER_LIST = re.compile(
    r"(?P<list>\d{1,3}(?!\d)[a-z]?(?:\s*(?:-|–|—|to)\s*\d{1,3}(?!\d))?"
    r"(?:\s*(?:,|and|&|or|,\s*and)\s*\d{1,3}(?!\d)[a-z]?(?:\s*(?:-|–|—|to)\s*\d{1,3}(?!\d))?)*)"
)
REGISTER_REFERENCE = re.compile(r"\(register:\s*(?P<slugs>[a-z0-9][a-z0-9-]*(?:\s*,\s*[a-z0-9][a-z0-9-]*)*)\s*\)")
MAX_REFERENCE_NUMBER = 300
_NUMBERED = re.compile(rf"^(?:{LABEL_WORD}\s*|r)?(?P<number>\d{{1,3}})$", re.IGNORECASE)


def expand_numbers(listing: str) -> list[str]:
    """'3 and 4' -> [3, 4]; '5–7' -> [5, 6, 7]; '12a' -> ['12a']."""
    numbers: list[str] = []
    for part in re.split(r"\s*(?:,\s*and|,|and|&|or)\s*", listing):
        bounds = re.split(r"\s*(?:-|–|—|to)\s*", part)
        if len(bounds) == 2 and bounds[0].isdigit() and bounds[1].isdigit() and int(bounds[0]) < int(bounds[1]) <= int(bounds[0]) + 40:
            numbers.extend(str(n) for n in range(int(bounds[0]), int(bounds[1]) + 1))
        elif part:
            numbers.append(bounds[0])
    return numbers


def reference_number(ref: str) -> str | None:
    """The number a reference names, if it names one: '12', 'R12', 'Recommendation 12', 'rec. 12' -> '12'."""
    found = _NUMBERED.match(ref.strip())
    return str(int(found.group("number"))) if found else None
