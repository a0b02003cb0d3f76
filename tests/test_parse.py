"""Finding a review's numbered recommendations: gov.uk HTML, a PDF, restarting numbering, committee reports."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import tracker
from tracker.extract import extract
from tracker.extract.model import Block
from tracker.parse import ParsedRecommendation, label_match, missing_numbers, parse_recommendations

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def strip_bullet_markers(text: str) -> str:
    """The parser letters unmarked bullets (a), (b) ...; the spec prints bullet parts without markers."""
    return norm(re.sub(r"\((?:[a-z])\) ", "", text))


def part_text(text: str) -> str:
    return norm(text).rstrip(" ;,.")


@pytest.fixture(scope="module")
def spec(fixture_file) -> dict:
    return json.loads(fixture_file("review_spec.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def spec_recs(spec) -> dict[int, dict]:
    return {r["number"]: r for r in spec["recommendations"]}


@pytest.fixture(scope="module", params=["html", "pdf"])
def review(request, fixture_file, analyzer):
    """(source kind, Extracted, parsed recommendations) for the gov.uk HTML and the generated PDF."""
    if request.param == "html":
        path = fixture_file("review_govuk.html")
    else:
        path = request.getfixturevalue("review_pdf")
    extracted = extract(path.read_bytes(), path.name)
    extracted.render()
    return request.param, extracted, parse_recommendations(extracted, analyzer)


def test_exactly_36_recommendations_numbered_1_to_36(review):
    _, _, recs = review
    assert len(recs) == 36
    assert [r.number for r in recs] == list(range(1, 37))
    assert [r.key for r in recs] == [str(n) for n in range(1, 37)]
    assert [r.label for r in recs] == [f"R{n}" for n in range(1, 37)]


def test_addressees_match_spec(review, spec_recs):
    _, _, recs = review
    wrong = {r.number: (r.addressees, spec_recs[r.number]["addressees"]) for r in recs
             if set(r.addressees) != set(spec_recs[r.number]["addressees"])}  # fmt: skip
    assert wrong == {}


def test_number_of_parts_matches_spec(review, spec_recs):
    _, _, recs = review
    assert {r.number: len(r.parts) for r in recs} == {n: len(s["parts"]) for n, s in spec_recs.items()}
    assert sum(len(r.parts) for r in recs) == sum(len(s["parts"]) for s in spec_recs.values()) > 0


@pytest.mark.parametrize("number", [3, 7, 14, 17, 22, 33])
def test_part_texts_match_spec(review, spec_recs, number):
    _, _, recs = review
    rec = next(r for r in recs if r.number == number)
    expected = spec_recs[number]["parts"]
    assert [part_text(text) for _, text in rec.parts] == [part_text(p["text"]) for p in expected]
    letters = "abcdefghij"
    assert [marker for marker, _ in rec.parts] == [p["label"] or letters[i] for i, p in enumerate(expected)]


def test_full_texts_match_spec_chapter_version(review, spec_recs):
    _source, _, recs = review
    mismatched = {}
    for rec in recs:
        expected = spec_recs[rec.number]
        if expected.get("part_style") == "bullet":
            got, want = strip_bullet_markers(rec.text), norm(expected["full_text"])
        else:
            got, want = norm(rec.text), norm(expected["full_text"])
        if got != want:
            mismatched[rec.number] = (got, want)
    assert mismatched == {}


def test_fuller_chapter_text_is_kept_over_summary(review, spec_recs):
    _, _, recs = review
    longer = [n for n, s in spec_recs.items() if norm(s["full_text"]) != norm(s["summary_text"])]
    assert len(longer) >= 5
    for rec in recs:
        if rec.number in longer:
            assert norm(spec_recs[rec.number]["summary_text"]) != norm(rec.text)
            assert len(rec.text) >= len(spec_recs[rec.number]["summary_text"]) - 5


def test_html_rec_26_labelled_bullets_not_doubled(fixture_file, analyzer, spec_recs):
    path = fixture_file("review_govuk.html")
    recs = parse_recommendations(extract(path.read_bytes(), path.name), analyzer)
    rec = next(r for r in recs if r.number == 26)
    assert "(a) (a)" not in rec.text
    assert [text for _, text in rec.parts] == [p["text"] for p in spec_recs[26]["parts"]]
    assert norm(rec.text) == norm(spec_recs[26]["full_text"])


def test_pdf_rec_9_text_has_no_following_heading(review_pdf, analyzer, spec_recs):
    recs = parse_recommendations(extract(review_pdf.read_bytes(), review_pdf.name), analyzer)
    rec = next(r for r in recs if r.number == 9)
    assert "Chapter 2" not in rec.text
    assert norm(rec.text) == norm(spec_recs[9]["full_text"])


def test_chapter_names(review, spec, spec_recs):
    _, _, recs = review
    titles = {ch["number"]: f"Chapter {ch['number']}: {ch['title']}" for ch in spec["chapters"]}
    assert {r.number: r.chapter for r in recs} == {n: titles[s["chapter"]] for n, s in spec_recs.items()}


def test_sections_are_the_chapter_sections(review, spec):
    _source, _, recs = review
    expected = {n: s["title"] for ch in spec["chapters"] for s in ch["sections"] for n in s["recommendations"]}
    assert len(expected) >= 20
    assert {r.number: r.section for r in recs if r.number in expected} == expected


def test_pdf_first_section_heading_after_chapter_heading(review_pdf, spec):
    extracted = extract(review_pdf.read_bytes(), review_pdf.name)
    headings = [b.text for b in extracted.blocks if b.kind == "heading"]
    paragraphs = [b.text for b in extracted.blocks if b.kind == "paragraph"]
    first_section = spec["chapters"][0]["sections"][0]["title"]
    assert first_section in headings
    assert not any(p.startswith(first_section + " 1.1") for p in paragraphs)


def test_every_recommendation_has_a_summary_and_a_body_location(review):
    source, extracted, recs = review
    text = extracted.render()
    for rec in recs:
        assert sorted(loc["where"] for loc in rec.locations) == ["body", "summary"], rec.number
        summary = next(loc for loc in rec.locations if loc["where"] == "summary")
        body = next(loc for loc in rec.locations if loc["where"] == "body")
        assert summary["start"] < body["start"]
        for loc in rec.locations:
            assert re.match(rf"\s*Recommendation {rec.number}\b", text[loc["start"] : loc["end"]])
        if source == "pdf":
            assert isinstance(summary["page"], int) and isinstance(body["page"], int)
            assert 1 <= summary["page"] < body["page"]
        else:
            assert summary["page"] is None and body["page"] is None


def test_foreword_inline_references_are_not_labels(review):
    _, extracted, recs = review
    text = extracted.render()
    assert "Recommendation 12 asks" in text  # the foreword's inline mention is there ...
    assert len(recs) == 36  # ... but not counted as a recommendation
    rec12 = next(r for r in recs if r.number == 12)
    assert all(text[loc["start"] : loc["end"]].find("Recommendation 12 asks") < 0 for loc in rec12.locations)
    assert "recommendations 3 and 4" in text


@pytest.mark.parametrize("source", ["html", "pdf"])
def test_foreword_and_chapter_mentions_recorded_when_ingested(source, tmp_path, fixture_file, request):
    path = fixture_file("review_govuk.html") if source == "html" else request.getfixturevalue("review_pdf")
    db = tracker.open_db(tmp_path / "t.db")
    result = tracker.ingest(db, str(path), {"kind": "review"}, expect=36)
    assert result.status == "ingested" and result.recommendations == 36 and result.warnings == []
    rows = list(
        db.query(
            """select m.ref, m.ref_text, p.text, r.number from mentions m join passages p on p.id = m.passage_id
            left join recommendations r on r.id = m.recommendation_id"""
        )
    )
    foreword = [r for r in rows if "Recommendation 12 asks" in r["text"]]
    assert [(r["ref"], r["number"]) for r in foreword] == [("12", 12)]
    both = [r for r in rows if r["ref_text"] == "recommendations 3 and 4"]
    assert sorted((r["ref"], r["number"]) for r in both) == [("3", 3), ("4", 4)]
    assert db.execute("select count(*) from recommendations where parent_id is null").fetchone()[0] == 36


def test_label_match_rules():
    assert label_match(Block("paragraph", "Recommendation 4: HM Treasury should act.")) is not None
    assert label_match(Block("paragraph", "Recommendation 4 – HM Treasury should act.")) is not None
    assert label_match(Block("paragraph", "Recommendation 4")) is not None
    assert label_match(Block("heading", "Recommendation 4")) is not None
    assert label_match(Block("paragraph", "Recommendation 12 asks the regulator to look again.")) is None
    assert label_match(Block("paragraph", "Recommendations 3 and 4 matter.")) is None


# --- numbering that restarts per chapter ------------------------------------------------------------

RESTARTING = """---
title: A small review of island ferries
---

# A small review of island ferries

## Chapter 1: Timetables

Winter timetables are published late and change often.

Recommendation 1: The harbour board should publish winter timetables by August each year.

Recommendation 2: Ferry operators should post cancellations online within thirty minutes.

## Chapter 2: Fares

Fares have risen faster than wages on every route.

Recommendation 1: The island council should cap resident fares at their 2020 level in real terms.

Recommendation 2: Ministers must fund a concessionary pass for carers who travel with patients.
"""


def test_numbering_restarting_per_chapter_gets_chapter_keys(analyzer):
    recs = parse_recommendations(extract(RESTARTING.encode(), "ferries.md"), analyzer)
    assert [r.key for r in recs] == ["1.1", "1.2", "2.1", "2.2"]
    assert [r.number for r in recs] == [1, 2, 1, 2]
    assert [r.label for r in recs] == ["R1.1", "R1.2", "R2.1", "R2.2"]
    assert [r.chapter for r in recs] == ["Chapter 1: Timetables"] * 2 + ["Chapter 2: Fares"] * 2
    assert recs[0].text.startswith("The harbour board should publish")
    assert recs[2].text.startswith("The island council should cap")
    assert recs[3].addressees == ["government"]


def test_restarting_numbering_with_a_summary_matches_summary_to_chapter(analyzer):
    summary = "\n## Summary of recommendations\n\n" + "\n\n".join(line for line in RESTARTING.splitlines() if line.startswith("Recommendation"))
    source = RESTARTING.replace("\n## Chapter 1", summary + "\n\n## Chapter 1", 1)
    recs = parse_recommendations(extract(source.encode(), "ferries.md"), analyzer)
    assert [r.key for r in recs] == ["1.1", "1.2", "2.1", "2.2"]
    assert all(sorted(loc["where"] for loc in r.locations) == ["body", "summary"] for r in recs)


NO_RESTART = """---
title: A small review of island ferries
---

# A small review of island ferries

## Summary of recommendations

Recommendation 1: The harbour board should publish winter timetables by August each year.

Recommendation 2: Ferry operators should post cancellations online within thirty minutes.

Recommendation 3: The island council should cap resident fares at their 2020 level.

## Chapter 1: Timetables

Timetables are a recurring complaint from residents of all three islands.

Recommendation 1: The harbour board should publish winter timetables by August each year, starting next year.

Recommendation 2: Ferry operators should post cancellations online within thirty minutes of deciding.

## Chapter 2: Fares

Fares have risen faster than wages on every route.

Recommendation 3: The island council should cap resident fares at their 2020 level in real terms.
"""


def test_summary_and_chapters_repeating_numbers_do_not_restart(analyzer):
    extracted = extract(NO_RESTART.encode(), "ferries.md")
    extracted.render()
    recs = parse_recommendations(extracted, analyzer)
    assert [r.key for r in recs] == ["1", "2", "3"]
    assert recs[0].text.endswith("starting next year.")  # the fuller chapter text
    assert [r.chapter for r in recs] == ["Chapter 1: Timetables", "Chapter 1: Timetables", "Chapter 2: Fares"]
    assert all(sorted(loc["where"] for loc in r.locations) == ["body", "summary"] for r in recs)


def test_chapter_starting_with_a_label_ends_the_summary(analyzer):
    source = re.sub(r"\n(Timetables are|Fares have)[^\n]*\n", "\n", NO_RESTART)
    assert "Fares have" not in source
    recs = parse_recommendations(extract(source.encode(), "ferries.md"), analyzer)
    assert [r.key for r in recs] == ["1", "2", "3"]
    assert [r.chapter for r in recs] == ["Chapter 1: Timetables", "Chapter 1: Timetables", "Chapter 2: Fares"]
    assert all(sorted(loc["where"] for loc in r.locations) == ["body", "summary"] for r in recs)


def test_missing_numbers():
    parsed = [ParsedRecommendation(str(n), n, f"R{n}", "t", [], None, None, []) for n in (1, 2, 4, 41)]
    assert missing_numbers(parsed, 5) == ([3, 5], [41])


# --- select-committee layout ------------------------------------------------------------------------


def committee_expected() -> dict:
    path = FIXTURES / "select_committee_expected.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {"recommendations": []}


@pytest.fixture(scope="module")
def committee(fixture_file, analyzer):
    path = fixture_file("select_committee.html")
    fixture_file("select_committee_expected.json")
    extracted = extract(path.read_bytes(), path.name)
    extracted.render()
    return extracted, parse_recommendations(extracted, analyzer)


def test_committee_only_recommendation_paragraphs(committee):
    expected = committee_expected()
    _, recs = committee
    assert [r.number for r in recs] == [r["number"] for r in expected["recommendations"]]
    assert not {r.number for r in recs} & set(expected["conclusions"])
    assert all(r.key == str(r.number) for r in recs)


def test_committee_paragraph_refs_in_locations(committee):
    expected = {r["number"]: r for r in committee_expected()["recommendations"]}
    extracted, recs = committee
    text = extracted.render()
    for rec in recs:
        [location] = rec.locations
        assert location["where"] == "conclusions"
        assert location["paragraph"] == str(expected[rec.number]["paragraph_ref"])
        assert text[location["start"] : location["end"]].startswith(f"{rec.number}. ")
        assert "(Paragraph" not in rec.text
        assert rec.chapter == "Conclusions and recommendations"


@pytest.mark.parametrize(
    "number",
    [
        r["number"] for r in committee_expected()["recommendations"]
    ],
)  # fmt: skip
def test_committee_addressees(committee, number):
    expected = {r["number"]: r for r in committee_expected()["recommendations"]}
    _, recs = committee
    rec = next(r for r in recs if r.number == number)
    assert set(rec.addressees) == set(expected[number]["addressees"])


# --- a summary-only review page (reconcile_review.html) ---------------------------------------------


def test_summary_only_review_page(fixture_file, analyzer):
    path = fixture_file("reconcile_review.html")
    extracted = extract(path.read_bytes(), path.name)
    text = extracted.render()
    recs = parse_recommendations(extracted, analyzer)
    assert [r.key for r in recs] == [str(n) for n in range(1, 11)]
    assert all([loc["where"] for loc in r.locations] == ["summary"] for r in recs)
    assert "TEST FIXTURE" not in text and "essential cookies" not in text  # comment and banner dropped
    addressees = {r.number: set(r.addressees) for r in recs}
    assert addressees[1] == {"ICSs", "NHS England", "DHSC"}  # two sentences, each naming who should act
    assert addressees[2] == {"CQC"}
    assert addressees[3] == {"NHS England"}
    assert addressees[5] == {"DHSC"}
    assert addressees[8] == {"DHSC", "HM Treasury"}
    assert addressees[10] == {"government"}
