"""Rule-based readers of a passage: a stakeholder's stance, the government's position, an evidence
signal, and target dates. Rules are data (`data/cues.json`); every verdict returns the cues that
decided it so a person can check it."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

MONTHS = "january|february|march|april|may|june|july|august|september|october|november|december"
TARGET_DATE = re.compile(
    rf"\b(?:by|before|from|no later than|until|within|due in|due by|(?:slipped|moved|pushed back|deferred|postponed|delayed) (?:to|until))\s+(?:the\s+)?"
    rf"(?:(?:end|start|beginning|spring|summer|autumn|winter|first|second|third|fourth)(?:\s+quarter)?\s+of\s+)?"
    rf"(?P<when>(?:\d{{1,2}}\s+)?(?:{MONTHS})\s+\d{{4}}|\d{{4}}/\d{{2}}|\d{{4}}(?!\s*%)|"
    rf"(?:one|two|three|four|five|six|seven|eight|nine|ten|twelve|eighteen|\d+)\s+(?:months|years|weeks))\b",
    re.IGNORECASE,
)
MONTH_NUMBER = {name: index for index, name in enumerate(MONTHS.split("|"), start=1)}
# When something is to happen: what makes a bare "will" a plan ("a dated plan or commitment to act").
WHEN = re.compile(
    rf"\b(?:(?:in|by|from|until|before|during|after|within|for|next|this|early|late|later|the\s+end\s+of)\s+(?:the\s+)?"
    rf"(?:(?:\d{{1,2}}\s+)?(?:{MONTHS})(?:\s+\d{{4}})?|\d{{4}}(?:/\d{{2}})?|q[1-4]|(?:spring|summer|autumn|winter|year|month|quarter|financial\s+year|parliament))"
    rf"|later\s+this\s+(?:year|month)|in\s+the\s+coming\s+(?:weeks|months|years)|over\s+the\s+next\b|from\s+next\b)\b",
    re.IGNORECASE,
)
# A trend over years is background to an event, not the event: "the grant has been cut since 2015".
BACKGROUND = re.compile(
    r"\b(?:since|between)\s+(?:(?:\w+\s+)?(?:19|20)\d{2})\b|\bover\s+the\s+(?:past|last)\s+(?:\w+\s+)?(?:years|decade)|\byears\s+of\b|\bhistoric(?:al)?(?:ly)?\b",
    re.IGNORECASE,
)
CONNECTIVE = re.compile(r"\b(?:after|following|despite|but|although|though|while|whereas)\b", re.IGNORECASE)
FORWARD_NEGATION = re.compile(r"\s+(?:not|never|no\s+longer)\b(?!\s+only)", re.IGNORECASE)


@dataclass(frozen=True)
class Verdict:
    label: str
    cues: tuple[str, ...]
    score: float
    found: tuple[str, ...] = ()  # every label the sentence had cues for, the winner's included


@lru_cache(maxsize=1)
def rules() -> dict:
    return json.loads((resources.files("tracker") / "data" / "cues.json").read_text(encoding="utf-8"))


def cue_pattern(cue: str) -> re.Pattern:
    escaped = re.escape(cue).replace(r"\*", r"\w*").replace(r"\ ", r"\s+")
    return re.compile(rf"(?<![\w-]){escaped}(?![\w-])", re.IGNORECASE)


@lru_cache(maxsize=8)
def compiled(task: str) -> list[tuple[str, str, re.Pattern, float]]:
    spec = rules()[task]
    weights = spec.get("weights", {})
    entries = [(label, cue, cue_pattern(cue), weights.get(cue, 1.0)) for label, cues in spec["labels"].items() for cue in cues]
    return sorted(entries, key=lambda entry: -len(entry[1]))  # longer phrases claim their words first


def is_negated(text: str, start: int, end: int | None = None) -> bool:
    """A negator within three words before the cue, or straight after an auxiliary cue ("will not")."""
    before = re.findall(r"[\w']+", text[max(0, start - 40) : start].lower())[-3:]
    negators = rules()["negators"]
    joined = " ".join(before)
    if any(word in negators or word.endswith("n't") for word in before) or any(" " in n and n in joined for n in negators):
        return True
    return end is not None and FORWARD_NEGATION.match(text, end) is not None


def unrealised(text: str, start: int, label: str, spec: dict) -> bool:
    """A cue right after a modal or an infinitive "to" is a call or a purpose, not an event ("systems
    should publish", "to increase their freedom"); an instruction is kept ("told to cut")."""
    before = re.findall(r"[\w']+", text[max(0, start - 40) : start].lower())[-3:]
    for rule in spec.get("unrealised", ()):
        if label not in rule["labels"]:
            continue
        for word in rule["before"]:
            size = len(word.split())
            for at in range(max(0, len(before) - size - 1), len(before) - size + 1):
                if before[at : at + size] == word.split() and not (at and before[at - 1] in rule.get("unless", ())):
                    return True
    return False


def background_spans(text: str) -> list[tuple[int, int]]:
    """The parts of a sentence that tell a trend over years ("after years of cuts", "since 2015"): a
    change there is background, not what happened. A sentence is cut at its connectives first."""
    spans, start = [], 0
    for connective in [*CONNECTIVE.finditer(text), None]:
        end = connective.start() if connective else len(text)
        if BACKGROUND.search(text, start, end):
            spans.append((start, end))
        start = end
    return spans


def classify(text: str, task: str, changes_item: Callable[[str, int, int], bool] | None = None) -> Verdict | None:
    """The label of the weightiest cue in `text` (ties by priority), or None when no cue is found.
    Read one sentence at a time (`tracker.readers`): one sentence is one vote. `changes_item` says
    whether a change of quantity at a span is done to the item ("reduce pressure on services" is not)."""
    spec = rules()[task]
    scores: dict[str, float] = {}
    cues: dict[str, list[str]] = {}
    claimed: list[tuple[int, int]] = []
    dated = set(spec.get("dated", ())) if WHEN.search(text) is None else set()  # a cue that needs a date
    changes, background = set(spec.get("by_direction", ())), background_spans(text)
    for label, cue, pattern, weight in compiled(task):
        for found in pattern.finditer(text):
            if cue in dated or any(found.start() < end and start < found.end() for start, end in claimed):
                continue
            claimed.append((found.start(), found.end()))
            if unrealised(text, found.start(), label, spec) or (label in changes and any(a <= found.start() < b for a, b in background)):
                continue
            if label in changes and changes_item is not None and not changes_item(text, found.start(), found.end()):
                continue
            final = spec["negated"].get(label, label) if is_negated(text, found.start(), found.end()) else label
            shown = f"not {found.group(0)}" if final != label else found.group(0)
            scores[final] = max(scores.get(final, 0.0), weight)  # a word said again is not more evidence
            cues.setdefault(final, []).append(shown.lower())
    if "neutral" not in spec["labels"]:
        scores.pop("neutral", None)  # a negated cue that cancels out
    if not scores:
        return None
    order = spec["priority"]
    best = max(scores, key=lambda label: (scores[label], -order.index(label) if label in order else -99))
    return Verdict(best, tuple(cues[best]), scores[best], tuple(scores))


def target_dates(text: str) -> list[tuple[str, str | None]]:
    """Target dates as (phrase, ISO date or None): 'by April 2024' -> ('by April 2024', '2024-04-30')."""
    found = []
    for match in TARGET_DATE.finditer(text):
        found.append((match.group(0), iso_deadline(match.group("when"))))
    return found


def iso_deadline(when: str) -> str | None:
    """The last day a phrase allows: 'April 2024' -> 2024-04-30, '2025/26' -> 2026-03-31, '2028' -> 2028-12-31."""
    import calendar

    when = when.strip().lower()
    month_year = re.fullmatch(rf"(?:(\d{{1,2}})\s+)?({MONTHS})\s+(\d{{4}})", when)
    if month_year:
        day, month, year = month_year.groups()
        month_number, year_number = MONTH_NUMBER[month], int(year)
        last = int(day) if day else calendar.monthrange(year_number, month_number)[1]
        return f"{year_number:04d}-{month_number:02d}-{last:02d}"
    financial = re.fullmatch(r"(\d{4})/(\d{2})", when)
    if financial:
        return f"{int(financial.group(1)) + 1:04d}-03-31"
    if re.fullmatch(r"\d{4}", when):
        return f"{when}-12-31"
    return None
