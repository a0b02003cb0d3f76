"""Find a review's numbered recommendations in extracted blocks.

Handles what real reviews print: a summary list near the front and the same recommendations again in
the chapters (counted once, the fuller text kept, every location recorded); labels as headings, bold
runs, callouts or paragraph starts; parts (a)/(b)/(i) and bullet lists; numbering that restarts per
chapter (detected, not assumed); and select-committee "Conclusions and recommendations" lists, where
only some numbered paragraphs call for action.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .extract import Block, Extracted
from .extract.text import BULLET as BULLET_MARKER
from .references import LABEL

if TYPE_CHECKING:
    from .segment import Analyzer

PART_MARKER = re.compile(r"^\s*(?:\((?P<a>[a-z]{1,2}|[ivx]{1,5})\)|(?P<b>[a-z]|[ivx]{1,5})\))\s+", re.IGNORECASE)
INLINE_PARTS = re.compile(r"(?:^|\s)\((?P<marker>[a-h]|[ivx]{1,4})\)\s+")
SUMMARY_HEADING = re.compile(r"summary of (?:the )?recommendations|list of recommendations|^recommendations$", re.IGNORECASE)
CHAPTER_HEADING = re.compile(r"^\s*(?:chapter|part)\s+(?:\d+|[ivx]+|one|two|three|four|five|six|seven|eight|nine|ten)\b", re.IGNORECASE)
COMMITTEE_HEADING = re.compile(r"conclusions and recommendations", re.IGNORECASE)
COMMITTEE_PARAGRAPH = re.compile(r"^\s*(?P<number>\d{1,3})\.\s+(?P<rest>.+)$", re.DOTALL)
PARAGRAPH_REF = re.compile(r"\((?:paragraphs?|paras?\.?)\s+(?P<ref>[\d,\s–-]+(?:and\s+\d+)?)\)\s*$", re.IGNORECASE)
DIRECTIVE = re.compile(r"\b(?:we recommend|recommend that|we call on|we urge|should|must|needs? to|is asked to)\b", re.IGNORECASE)
ADDRESSEE_VERBS = re.compile(r"\b(?:should|must|will need to|needs? to|ought to|is asked to|are asked to|shall)\b", re.IGNORECASE)
RESTART_SIMILARITY = 0.25
RECOMMEND_THAT = re.compile(r"\brecommends?\s+that\s+", re.IGNORECASE)
# Capitalised names joined by "and", commas or "the": the subject of "We recommend that ..." without a modal.
BODY_RUN = re.compile(r"(?:(?:the|and|of|for|,|&)\s+|[A-Z][\w'’]*(?:\s+|$))*")


@dataclass
class Occurrence:
    number: int
    text: str
    parts: list[tuple[str, str]]
    chapter: str | None
    chapter_index: int
    section: str | None
    where: str  # summary | body | conclusions
    page: int | None
    start: int
    end: int
    paragraph_ref: str | None = None


@dataclass
class ParsedRecommendation:
    key: str
    number: int
    label: str
    text: str
    parts: list[tuple[str, str]]
    chapter: str | None
    section: str | None
    addressees: list[str]
    locations: list[dict] = field(default_factory=list)


def words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]{3,}", text.lower()))


def similarity(a: str, b: str) -> float:
    wa, wb = words(a), words(b)
    return len(wa & wb) / len(wa | wb) if wa and wb else 0.0


def label_match(block: Block) -> re.Match | None:
    """A block that opens with a recommendation label (not a sentence that merely mentions one)."""
    found = LABEL.match(block.text)
    if not found:
        return None
    if found.group("sep") is None and block.kind != "heading" and found.group(0).strip() != block.text.strip():
        return None
    return found


def part_of(block: Block) -> tuple[str, str] | None:
    """(marker, text) when the block is a part of the recommendation above it."""
    marker = PART_MARKER.match(block.text)
    if marker:
        return (marker.group("a") or marker.group("b")).lower(), block.text[marker.end() :].strip()
    if block.kind == "list_item":
        numbered = re.match(r"^\s*(\d{1,2})\.\s+", block.text)
        if numbered:
            return numbered.group(1), block.text[numbered.end() :].strip()
        bullet = BULLET_MARKER.match(block.text)
        text = block.text[bullet.end() :].strip() if bullet else block.text.strip()
        marked = PART_MARKER.match(text)
        if marked:
            return (marked.group("a") or marked.group("b")).lower(), text[marked.end() :].strip()
        return "", text
    return None


def inline_parts(text: str) -> list[tuple[str, str]]:
    """Parts printed inside one paragraph: '... should: (a) do x; (b) do y'."""
    markers = list(INLINE_PARTS.finditer(text))
    if len(markers) < 2:
        return []
    parts = []
    for index, marker in enumerate(markers):
        end = markers[index + 1].start() if index + 1 < len(markers) else len(text)
        parts.append((marker.group("marker").lower(), text[marker.end() : end].strip(" ;,")))
    return parts


def sequence_parts(parts: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Unmarked bullets become parts 'a', 'b', ... in order."""
    letters = iter("abcdefghijklmnopqrstuvwxyz")
    return [(marker or next(letters), text) for marker, text in parts]


def next_label_number(blocks: list[Block], index: int) -> int:
    """Number of the label right after this heading (0 if prose comes first). A chapter grouping inside
    a summary continues the numbering; a chapter of the body repeats numbers already listed."""
    following = next((b for b in blocks[index + 1 :] if b.kind != "heading"), None)
    found = label_match(following) if following is not None else None
    return int(found.group("number")) if found else 0


def find_occurrences(blocks: list[Block]) -> list[Occurrence]:
    occurrences: list[Occurrence] = []
    chapter: str | None = None
    chapter_index = 0
    section: str | None = None
    where = "body"
    summary_level = 0
    summary_top = 0  # highest number listed in the summary so far
    uses_chapter_labels = any(b.kind == "heading" and CHAPTER_HEADING.match(b.text) for b in blocks)
    index = 0
    while index < len(blocks):
        block = blocks[index]
        found = label_match(block)
        if block.kind == "heading" and not found:
            if SUMMARY_HEADING.search(block.text):
                where, section, summary_level = "summary", block.text, block.level
            elif where == "summary" and (block.level > summary_level or next_label_number(blocks, index) > summary_top):
                section = block.text  # a chapter grouping inside the summary list
            elif CHAPTER_HEADING.match(block.text) if uses_chapter_labels else 1 < block.level <= 2:
                chapter, chapter_index, section, where = block.text, chapter_index + 1, None, "body"
            else:
                section, where = block.text, "body" if block.level <= summary_level else where
            index += 1
            continue
        if not found:
            index += 1
            continue
        text = (found.group("rest") or "").strip()
        first, last = block, block
        index += 1
        if not text and index < len(blocks) and blocks[index].kind != "heading" and not label_match(blocks[index]):
            text, last = blocks[index].text, blocks[index]
            index += 1
        parts: list[tuple[str, str]] = []
        while index < len(blocks) and blocks[index].kind != "heading" and not label_match(blocks[index]):
            part = part_of(blocks[index])
            if part is None:
                break
            parts.append(part)
            last = blocks[index]
            index += 1
        if parts:
            parts = sequence_parts(parts)
            full = text + " " + " ".join(f"({marker}) {part}" for marker, part in parts)
        else:
            parts, full = inline_parts(text), text
        if where == "summary":
            summary_top = max(summary_top, int(found.group("number")))
        occurrences.append(
            Occurrence(
                int(found.group("number")), full.strip(), parts, chapter, chapter_index, section,
                where, first.page, first.start, last.end,
            )
        )  # fmt: skip
    return occurrences


def committee_occurrences(blocks: list[Block]) -> list[Occurrence]:
    """Numbered paragraphs under 'Conclusions and recommendations' that call for action."""
    occurrences: list[Occurrence] = []
    inside = False
    level = 0
    for block in blocks:
        if block.kind == "heading":
            if COMMITTEE_HEADING.search(block.text):
                inside, level = True, block.level
            elif inside and block.level <= level:
                inside = False
            continue
        if not inside:
            continue
        numbered = COMMITTEE_PARAGRAPH.match(block.text)
        if not numbered or not DIRECTIVE.search(numbered.group("rest")):
            continue
        text = numbered.group("rest").strip()
        reference = PARAGRAPH_REF.search(text)
        if reference:
            text = text[: reference.start()].strip()
        occurrences.append(
            Occurrence(
                int(numbered.group("number")), text, inline_parts(text), "Conclusions and recommendations", 1,
                None, "conclusions", block.page, block.start, block.end,
                reference.group("ref").strip() if reference else None,
            )
        )  # fmt: skip
    return occurrences


def numbering_restarts(occurrences: list[Occurrence]) -> bool:
    """True when the same number labels unlike recommendations in different chapters."""
    by_number: dict[int, list[Occurrence]] = {}
    for occurrence in occurrences:
        if occurrence.where == "body":
            by_number.setdefault(occurrence.number, []).append(occurrence)
    return any(
        a.chapter_index != b.chapter_index and similarity(a.text, b.text) < RESTART_SIMILARITY
        for group in by_number.values()
        for i, a in enumerate(group)
        for b in group[i + 1 :]
    )


def occurrence_key(occurrence: Occurrence, restart: bool, body: list[Occurrence]) -> str:
    if not restart:
        return str(occurrence.number)
    if occurrence.where == "summary":
        same = [b for b in body if b.number == occurrence.number]
        best = max(same, key=lambda b: similarity(b.text, occurrence.text), default=None)
        return f"{best.chapter_index}.{occurrence.number}" if best else f"0.{occurrence.number}"
    return f"{occurrence.chapter_index}.{occurrence.number}"


def addressees(text: str, analyzer: Analyzer) -> list[str]:
    """Bodies named as the subject of a call to act: 'NHS England and DHSC should ...'."""
    found: list[str] = []
    doc = analyzer.nlp(text)
    for sentence in doc.sents:
        verb = ADDRESSEE_VERBS.search(sentence.text)
        that = RECOMMEND_THAT.search(sentence.text)
        if verb:
            cut = sentence.start_char + verb.start()
        elif that:  # "We recommend that DHSC and DLUHC bring forward ...": the run of bodies after "that"
            bodies = BODY_RUN.match(sentence.text[that.end() :])  # always matches (possibly empty)
            cut = sentence.start_char + that.end() + (len(bodies.group(0)) if bodies else 0)
        else:
            continue
        for ent in doc.ents:
            if sentence.start_char <= ent.start_char < cut and (ent.ent_id_ or ent.text) not in found:
                found.append(ent.ent_id_ or ent.text)
    return found


def merge(occurrences: list[Occurrence], analyzer: Analyzer, document_id: int | None) -> list[ParsedRecommendation]:
    restart = numbering_restarts(occurrences)
    body = [o for o in occurrences if o.where != "summary"]
    grouped: dict[str, list[Occurrence]] = {}
    for occurrence in occurrences:
        grouped.setdefault(occurrence_key(occurrence, restart, body), []).append(occurrence)
    parsed = []
    for key, group in grouped.items():
        fullest = max(group, key=lambda o: (len(o.parts), len(o.text)))
        placed = next((o for o in group if o.where != "summary"), fullest)
        parsed.append(
            ParsedRecommendation(
                key=key,
                number=fullest.number,
                label=f"R{key}",
                text=fullest.text,
                parts=fullest.parts,
                chapter=placed.chapter,
                section=placed.section if placed.where != "summary" else None,
                addressees=addressees(fullest.text, analyzer),
                locations=[
                    {
                        "document_id": document_id,
                        "where": o.where,
                        "page": o.page,
                        "start": o.start,
                        "end": o.end,
                        "section": o.section,
                        **({"paragraph": o.paragraph_ref} if o.paragraph_ref else {}),
                    }
                    for o in group
                ],
            )
        )
    return sorted(parsed, key=lambda r: [int(n) for n in r.key.split(".")])


def parse_recommendations(extracted: Extracted, analyzer: Analyzer, document_id: int | None = None) -> list[ParsedRecommendation]:
    """All recommendations of a review document, one per number, in order."""
    occurrences = find_occurrences(extracted.blocks)
    if not occurrences:
        occurrences = committee_occurrences(extracted.blocks)
    return merge(occurrences, analyzer, document_id)


def missing_numbers(parsed: list[ParsedRecommendation], expected: int) -> tuple[list[int], list[int]]:
    """(missing, unexpected) numbers against 1..expected."""
    found = {r.number for r in parsed}
    return sorted(set(range(1, expected + 1)) - found), sorted(found - set(range(1, expected + 1)))
