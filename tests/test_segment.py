"""Segmentation into passages, sentence boundaries, entities and inline references to recommendations."""

from __future__ import annotations

import pytest

from tracker.extract import extract
from tracker.references import expand_numbers
from tracker.segment import MAX_PASSAGE_SENTENCES

DOCUMENT = """---
title: Notes on ferries
---

# Notes on ferries

## Findings

As set out in para. 4 of the plan, the board will act on timetables. It met at No. 10 Harbour Street last week. Some bodies, e.g. this one, are slow to respond. A fourth sentence closes the paragraph.

- NHS England and NHSE both replied to the consultation
- the Department of Health and Social Care did not reply. It said nothing.
- integrated care boards were consulted

### Money

The King’s Fund, HM Treasury and the LGA all commented on funding.

## Next steps

We support Recommendation 3 and (Recommendation 4) but not recs 5–7.
"""


@pytest.fixture(scope="module")
def segmented(analyzer):
    extracted = extract(DOCUMENT.encode(), "notes.md")
    text = extracted.render()
    return extracted, text, analyzer.segment(extracted, text)


def sentences(analyzer, text: str) -> list[str]:
    return [sentence.text.strip() for sentence in analyzer.nlp(text).sents if sentence.text.strip()]


def test_passage_offsets_slice_back_to_stored_text(segmented):
    _, text, passages = segmented
    assert passages
    for passage in passages:
        assert text[passage.start : passage.end] == passage.text
        assert passage.text == passage.text.strip()
        for entity in passage.entities:
            assert text[entity.start : entity.end] == entity.text
        for mention in passage.mentions:
            assert text[mention.start : mention.end] == mention.text


def test_passages_are_numbered_in_order(segmented):
    _, _, passages = segmented
    assert [p.seq for p in passages] == list(range(len(passages)))
    assert [p.start for p in passages] == sorted(p.start for p in passages)


def test_no_passage_crosses_a_block(segmented):
    extracted, _, passages = segmented
    body = [b for b in extracted.blocks if b.kind != "heading"]
    for passage in passages:
        holders = [b for b in body if b.start <= passage.start and passage.end <= b.end]
        assert len(holders) == 1, passage.text
        assert holders[0].kind == passage.block_kind


def test_headings_are_not_passages(segmented):
    _, _, passages = segmented
    assert all(p.text not in ("Findings", "Money", "Next steps", "Notes on ferries") for p in passages)


def test_bullet_list_gives_one_passage_per_item(segmented):
    _, _, passages = segmented
    items = [p for p in passages if p.block_kind == "list_item"]
    assert [p.text for p in items] == [
        "- NHS England and NHSE both replied to the consultation",
        "- the Department of Health and Social Care did not reply. It said nothing.",
        "- integrated care boards were consulted",
    ]


def test_heading_path_is_set(segmented):
    _, _, passages = segmented
    first = next(p for p in passages if p.text.startswith("As set out"))
    assert first.heading_path == "Notes on ferries > Findings"
    money = next(p for p in passages if "King’s Fund" in p.text)
    assert money.heading_path == "Notes on ferries > Findings > Money"
    steps = next(p for p in passages if "Recommendation 3" in p.text)
    assert steps.heading_path == "Notes on ferries > Next steps"  # a level-3 heading is popped by a level-2


def test_long_paragraph_is_split_into_groups_of_sentences(segmented):
    _, _, passages = segmented
    paragraph = [p for p in passages if p.block_kind == "paragraph" and p.heading_path == "Notes on ferries > Findings"]
    assert MAX_PASSAGE_SENTENCES == 3
    assert [p.text for p in paragraph] == [
        (
            "As set out in para. 4 of the plan, the board will act on timetables. It met at No. 10 Harbour Street "
            "last week. Some bodies, e.g. this one, are slow to respond."
        ),
        "A fourth sentence closes the paragraph.",
    ]


def test_mentions_attached_to_their_passage(segmented):
    _, _, passages = segmented
    steps = next(p for p in passages if "Recommendation 3" in p.text)
    assert [m.ref for m in steps.mentions] == ["3", "4", "5", "6", "7"]
    others = [m for p in passages if p is not steps for m in p.mentions]
    assert others == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("As set out in para. 4 of the plan, the board will act. It will report in May.",
         ["As set out in para. 4 of the plan, the board will act.", "It will report in May."]),
        ("The office at No. 10 Harbour Street is open. Visitors are welcome.",
         ["The office at No. 10 Harbour Street is open.", "Visitors are welcome."]),
        ("Some bodies, e.g. this one, are slow. Others are quick.",
         ["Some bodies, e.g. this one, are slow.", "Others are quick."]),
        ("See paras. 12 to 14 and i.e. the annex. Then stop.",
         ["See paras. 12 to 14 and i.e. the annex.", "Then stop."]),
        ("Dr. Jones met Cllr. Smith. They agreed.", ["Dr. Jones met Cllr. Smith.", "They agreed."]),
    ],
)  # fmt: skip
def test_abbreviations_do_not_split_sentences(analyzer, text, expected):
    assert sentences(analyzer, text) == expected


def test_line_break_starts_a_sentence(analyzer):
    assert sentences(analyzer, "First line without a stop\nSecond line without a stop") == [
        "First line without a stop",
        "Second line without a stop",
    ]


@pytest.mark.parametrize(
    ("text", "surface", "canonical"),
    [
        ("We wrote to NHS England last week.", "NHS England", "NHS England"),
        ("We wrote to NHSE last week.", "NHSE", "NHS England"),
        ("We wrote to the Department of Health and Social Care last week.", "Department of Health and Social Care", "DHSC"),
        ("We wrote to integrated care boards last week.", "integrated care boards", "ICBs"),
        ("We wrote to The King’s Fund last week.", "The King’s Fund", "The King's Fund"),
        ("We wrote to The King's Fund last week.", "The King's Fund", "The King's Fund"),
        ("We wrote to HM Treasury last week.", "HM Treasury", "HM Treasury"),
        ("We wrote to the LGA last week.", "LGA", "LGA"),
        ("We wrote to the County Councils Network last week.", "County Councils Network", "County Councils Network"),
    ],
)  # fmt: skip
def test_entities_have_canonical_ids(analyzer, text, surface, canonical):
    found = [(e.text, e.entity) for e in analyzer.entities(analyzer.nlp(text))]
    assert (surface, canonical) in found


def test_entity_offsets_use_block_offset(analyzer):
    text = "HM Treasury agreed."
    [entity] = analyzer.entities(analyzer.nlp(text), offset=100)
    assert (entity.start, entity.end, entity.label) == (100, 111, "ORG")


def test_entities_in_segmented_passages(segmented):
    _, _, passages = segmented
    found = {e.entity for p in passages for e in p.entities}
    assert {"NHS England", "DHSC", "ICBs", "The King's Fund", "HM Treasury", "LGA"} <= found
    item = next(p for p in passages if p.text.startswith("- NHS England"))
    assert [e.entity for e in item.entities] == ["NHS England", "NHS England"]


# --- references -------------------------------------------------------------------------------------


def refs(analyzer, text: str) -> list[tuple[str, str]]:
    return [(m.ref, m.text) for m in analyzer.references(analyzer.nlp(text))]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("We fully support Recommendation 1 and its aims.", [("1", "Recommendation 1")]),
        ("Funding matters (Recommendation 2) more than structure.", [("2", "Recommendation 2")]),
        ("We welcome recommendations 3 and 4 on prevention.",
         [("3", "recommendations 3 and 4"), ("4", "recommendations 3 and 4")]),
        ("The panel's recs 5–7 cover workforce.", [("5", "recs 5–7"), ("6", "recs 5–7"), ("7", "recs 5–7")]),
        ("R12 is the most important.", [("12", "R12")]),
        ("We back recommendations 8, 9 and 10 without reservation.",
         [("8", "recommendations 8, 9 and 10"), ("9", "recommendations 8, 9 and 10"),
          ("10", "recommendations 8, 9 and 10")]),
        ("Recommendations 11, 12, and 13 are about data.",
         [("11", "Recommendations 11, 12, and 13"), ("12", "Recommendations 11, 12, and 13"),
          ("13", "Recommendations 11, 12, and 13")]),
        ("See recommendation 14a for details.", [("14a", "recommendation 14a")]),
    ],
)  # fmt: skip
def test_numbered_references(analyzer, text, expected):
    assert refs(analyzer, text) == expected


def test_reference_offsets(analyzer):
    text = "Funding matters (Recommendation 2) more."
    [mention] = analyzer.references(analyzer.nlp(text), offset=10)
    assert text[mention.start - 10 : mention.end - 10] == "Recommendation 2"
    assert mention.rule == "matcher"


def test_register_references(analyzer):
    text = "Spending on prevention rose (register: prevention-share, harps) last year."
    mentions = analyzer.references(analyzer.nlp(text))
    assert [(m.ref, m.rule) for m in mentions] == [("prevention-share", "register"), ("harps", "register")]
    assert all(text[m.start : m.end] == "(register: prevention-share, harps)" for m in mentions)


@pytest.mark.parametrize(
    "text",
    [
        "The review made the 36 recommendations we expected.",
        "The Recommendation in 2023 was clear.",
        "Recommendation in 2023",
        "The ratio of R2D2 units is odd.",
        "Recommendation 450 is out of range.",
    ],
)
def test_not_references(analyzer, text):
    assert refs(analyzer, text) == []


def test_year_after_reference_is_not_a_reference(analyzer):
    assert refs(analyzer, "Under Recommendation 5, 2024 is the deadline.") == [("5", "Recommendation 5")]


@pytest.mark.parametrize(
    ("listing", "expected"),
    [("3 and 4", ["3", "4"]), ("5–7", ["5", "6", "7"]), ("8, 9 and 10", ["8", "9", "10"]), ("12a", ["12a"]),
     ("1 to 3", ["1", "2", "3"])],
)  # fmt: skip
def test_expand_numbers(listing, expected):
    assert expand_numbers(listing) == expected


def test_an_installed_pipeline_by_name_or_path(tmp_path):
    import spacy

    from tracker.errors import TrackerError
    from tracker.segment import Analyzer, build_pipeline

    saved = spacy.blank("en")
    saved.add_pipe("sentencizer")
    saved.to_disk(tmp_path / "pipeline")
    nlp = build_pipeline(str(tmp_path / "pipeline"))
    assert nlp.pipe_names == ["line_breaks", "sentencizer", "tracker_entities"]
    build_pipeline().to_disk(tmp_path / "tracker-pipeline")
    assert build_pipeline(str(tmp_path / "tracker-pipeline")).pipe_names == ["line_breaks", "sentencizer", "tracker_entities"]
    analyzer = Analyzer(str(tmp_path / "pipeline"))
    doc = analyzer.nlp("NHS England should act. See para. 4 of the plan.")
    assert [e.ent_id_ for e in doc.ents] == ["NHS England"]
    assert len(list(doc.sents)) == 2
    with pytest.raises(TrackerError, match="not installed"):
        build_pipeline("no_such_pipeline_xyz")


def test_trailing_parenthetical_stays_with_its_sentence(analyzer):
    sentences = [s.text for s in analyzer.nlp("One. Two. Three it said. (register: harps) Next one here.").sents]
    assert sentences == ["One.", "Two.", "Three it said. (register: harps)", "Next one here."]
    assert [s.text for s in analyzer.nlp("A point (with a bracket) here. Another.").sents] == ["A point (with a bracket) here.", "Another."]
