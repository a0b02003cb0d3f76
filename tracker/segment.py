"""Split extracted documents into passages with spaCy, and find who is named and which
recommendations are referred to.

One `Analyzer` per process holds the pipeline (blank English + a line-break/abbreviation component +
sentencizer + an EntityRuler whose patterns ship in the package) and the reference Matcher.
Passages never cross a block (heading, paragraph, list item) and keep exact offsets into the stored text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

from .errors import TrackerError
from .extract import Extracted
from .imports import torch_hidden
from .references import MAX_REFERENCE_NUMBER, NUMBER_LIST, REFERENCE_WORDS, REGISTER_REFERENCE, SHORT_REFERENCE, expand_numbers

with torch_hidden():  # thinc would import torch (0.7 s) for a pipeline that never uses it
    import spacy
    from spacy.language import Language
    from spacy.matcher import Matcher
    from spacy.tokens import Doc

ABBREVIATIONS = {
    "para", "paras", "no", "nos", "e.g", "i.e", "eg", "ie", "etc", "dr", "cllr", "mr", "mrs", "ms", "prof",
    "st", "vs", "cf", "approx", "rt", "hon", "fig", "vol", "pp", "ch", "sec", "art", "cl", "reg", "sch",
}  # fmt: skip
MAX_PASSAGE_SENTENCES = 3
MAX_PASSAGE_WORDS = 90


@Language.component("line_breaks")
def line_breaks(doc: Doc) -> Doc:
    """Start a sentence after a line break or a bullet; never after 'para.', 'No.', 'e.g.' and kin;
    keep a bracket that closes a sentence, '... confirmed. (Paragraph 45)', with that sentence."""
    closing: int | None = None  # index of the bracket that ends a trailing parenthetical
    for token in doc[1:]:
        previous = doc[token.i - 1]
        ends_sentence = previous.text.endswith((".", "!", "?")) and previous.lower_.rstrip(".") not in ABBREVIATIONS
        if closing is None and token.text in ("(", "[") and ends_sentence:
            closing = next((t.i for t in doc[token.i + 1 :] if t.text in (")", "]") or "\n" in t.text_with_ws), None)
        if closing is not None:
            token.is_sent_start = False
            if token.i >= closing:
                closing = None
                if token.i + 1 < len(doc) and doc[token.i + 1].is_title:
                    doc[token.i + 1].is_sent_start = True
            continue
        if "\n" in previous.text_with_ws and not token.is_space:
            token.is_sent_start = True
        elif previous.text == "." and previous.i > 0 and not doc[previous.i - 1].whitespace_:
            if doc[previous.i - 1].lower_.rstrip(".") in ABBREVIATIONS:
                token.is_sent_start = False
        elif previous.lower_.rstrip(".") in ABBREVIATIONS and previous.text.endswith("."):
            token.is_sent_start = False
    return doc


@dataclass
class EntitySpan:
    entity: str  # canonical name, e.g. "NHS England"
    label: str
    text: str
    start: int
    end: int


@dataclass
class Mention:
    ref: str  # "12" for a number, or a register slug
    text: str
    start: int
    end: int
    rule: str


@dataclass
class Passage:
    seq: int
    start: int
    end: int
    text: str
    heading_path: str
    page: int | None
    block_kind: str
    entities: list[EntitySpan] = field(default_factory=list)
    mentions: list[Mention] = field(default_factory=list)


def build_pipeline(model: str | None = None) -> Language:
    """Blank English (or an installed trained pipeline by name) with our components added."""
    if model:
        try:
            nlp = spacy.load(model)
        except OSError as error:
            raise TrackerError(f"spaCy pipeline {model!r} is not installed") from error
    else:
        nlp = spacy.blank("en")
    if "tracker_entities" in nlp.pipe_names:  # a pipeline saved from this function: ready as it is
        return nlp
    first = next((name for name in ("sentencizer", "senter", "parser") if name in nlp.pipe_names), None)
    nlp.add_pipe("line_breaks", before=first) if first else nlp.add_pipe("line_breaks")
    if not first:
        nlp.add_pipe("sentencizer")
    ruler = nlp.add_pipe(
        "entity_ruler",
        name="tracker_entities",
        after="ner" if "ner" in nlp.pipe_names else None,
        config={"phrase_matcher_attr": "LOWER", "overwrite_ents": True},
    )
    ruler.from_disk(str(resources.files("tracker") / "data" / "entity_patterns.jsonl"))  # type: ignore[attr-defined]
    return nlp


class Analyzer:
    """The spaCy pipeline plus the reference Matcher: build once per process (see `get_analyzer`)."""

    def __init__(self, model: str | None = None):
        self.nlp = build_pipeline(model)
        self.matcher = Matcher(self.nlp.vocab)
        self.matcher.add(
            "REFERENCE",
            [
                [{"LOWER": {"IN": REFERENCE_WORDS}}, {"TEXT": {"REGEX": r"^\d"}}],
                [{"LOWER": {"IN": REFERENCE_WORDS}}, {"IS_PUNCT": True}, {"TEXT": {"REGEX": r"^\d"}}],
            ],
        )
        self.matcher.add("SHORT_REFERENCE", [[{"TEXT": {"REGEX": SHORT_REFERENCE}}]])

    def references(self, doc: Doc, offset: int = 0) -> list[Mention]:
        """Numbered references: 'Recommendation 1', '(Recommendation 2)', 'recommendations 3 and 4',
        'recs 5–7', 'R12'; plus register citations '(register: slug)'."""
        mentions: list[Mention] = []
        seen_until = -1
        for match_id, start, _end in sorted(self.matcher(doc), key=lambda m: m[1]):
            token = doc[start]
            if token.idx < seen_until:
                continue
            if self.nlp.vocab.strings[match_id] == "SHORT_REFERENCE":
                numbers, end_char = [token.text[1:]], token.idx + len(token.text)
            else:
                rest_at = doc[start + 1].idx if not doc[start + 1].is_punct else doc[start + 2].idx
                found = NUMBER_LIST.match(doc.text, rest_at)
                if not found:
                    continue
                numbers, end_char = expand_numbers(found.group("list")), found.end()
            seen_until = end_char
            for number in numbers:
                if int(re.sub(r"\D", "", number)) <= MAX_REFERENCE_NUMBER:
                    mentions.append(Mention(number, doc.text[token.idx : end_char], offset + token.idx, offset + end_char, "matcher"))
        for found in REGISTER_REFERENCE.finditer(doc.text):
            for slug in re.split(r"\s*,\s*", found.group("slugs")):
                mentions.append(Mention(slug, found.group(0), offset + found.start(), offset + found.end(), "register"))
        return mentions

    def entities(self, doc: Doc, offset: int = 0) -> list[EntitySpan]:
        return [EntitySpan(ent.ent_id_ or ent.text, ent.label_, ent.text, offset + ent.start_char, offset + ent.end_char) for ent in doc.ents]

    def segment(self, extracted: Extracted, text: str) -> list[Passage]:
        """Passages of one to a few sentences per block, with heading path, page, entities, references."""
        return list(self.iter_passages(extracted, text))

    def iter_passages(self, extracted: Extracted, text: str) -> Iterator[Passage]:
        """`segment` one passage at a time, so a large document's passages can be stored as they come."""
        headings: list[tuple[int, str, list[Mention]]] = []
        body_blocks = []
        for block in extracted.blocks:
            if block.kind == "heading":
                while headings and headings[-1][0] >= block.level:
                    headings.pop()
                referred = self.references(self.nlp.make_doc(text[block.start : block.end]), block.start)
                headings.append((block.level, block.text, [Mention(m.ref, m.text, m.start, m.end, "heading") for m in referred]))
            else:
                inherited = next((h[2] for h in reversed(headings) if h[2]), [])
                body_blocks.append((block, " > ".join(h[1] for h in headings), inherited))
        seq = 0
        docs = self.nlp.pipe((text[block.start : block.end] for block, _, _ in body_blocks), batch_size=64)
        for (block, heading_path, inherited), doc in zip(body_blocks, docs):
            block_entities = self.entities(doc, block.start)
            block_mentions = self.references(doc, block.start)
            for sentences in group_sentences(doc):  # a passage without its own reference inherits its heading's
                first, last = sentences[0], sentences[-1]
                start, end = block.start + first.start_char, block.start + last.end_char
                passage = Passage(seq, start, end, text[start:end], heading_path, block.page, block.kind)
                passage.entities = [e for e in block_entities if start <= e.start < end]
                passage.mentions = [m for m in block_mentions if start <= m.start < end] or list(inherited)
                seq += 1
                yield passage


def group_sentences(doc: Doc) -> list[list]:
    """Runs of consecutive sentences of at most MAX_PASSAGE_SENTENCES and about MAX_PASSAGE_WORDS words."""
    groups: list[list] = []
    current: list = []
    words = 0
    for sentence in doc.sents:
        if not sentence.text.strip():
            continue
        size = sum(1 for token in sentence if not token.is_punct and not token.is_space)
        if current and (len(current) >= MAX_PASSAGE_SENTENCES or words + size > MAX_PASSAGE_WORDS):
            groups.append(current)
            current, words = [], 0
        current.append(sentence)
        words += size
    if current:
        groups.append(current)
    return groups


@lru_cache(maxsize=4)
def get_analyzer(model: str | None = None) -> Analyzer:
    return Analyzer(model)
