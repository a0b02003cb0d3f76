"""Reported government positions and page-level reading, pinned on sentences written for these tests:
which sentences are about an item, lead-ins the government speaks, the passages besides the carriers
that report a decision, caveats and agreement by litotes, a stance on an evidence page, and the page
view filling only readings without a cue."""

from types import SimpleNamespace

import numpy as np
import pytest

from tracker import link
from tracker.attribution import government_acts, speaks_for_government
from tracker.link import inherit, position_carriers, reading_for, readings
from tracker.names import mentions
from tracker.readers import Reading, focus, read

SHARE = ("prevention share of ICS budgets", "proportion of spend on prevention", "capitation")
DEFINITION = ("definition of preventative spend", "prevention baseline")
CQC = ("CQC", "CQC assessment of integrated care systems")


@pytest.mark.parametrize(
    ("sentence", "names", "expected"),
    [
        ("Ministers turned down a bigger prevention share of ICS budgets.", SHARE, True),
        ("Hewitt wanted a larger proportion of NHS spend to go on prevention.", SHARE, True),  # words in any order
        ("The plan mentions prevention once.", SHARE, False),  # one word of a longer name is not the name
        ("The capital budget was cut again.", SHARE, False),  # one-word names are left out: "capitation" is not "capital"
        ("The CQC will assess systems from April.", CQC, True),  # an acronym as written
        ("Leaders of integrated care systems met today.", CQC, False),
    ],
)
def test_a_sentence_is_about_an_item_when_it_names_it(sentence, names, expected):
    assert mentions(sentence, names) is expected


def test_focus_keeps_the_sentences_that_name_the_item_when_some_do():
    parts = ["Ministers rejected a bigger prevention share of ICS budgets.", "They will consider a definition of preventative spend."]
    assert focus(parts, DEFINITION) == parts[1:]
    assert focus(parts, ("peer review offer", "sector-led improvement")) == parts  # none names it: all count


def test_each_item_takes_the_position_of_the_sentence_that_names_it():
    text = (
        "The department rejected the call to raise the prevention share of ICS budgets. "
        "NHS England and the department will consider a definition of preventative spend with councils."
    )
    assert read("position", text, reported=True, names=SHARE).label == "not_accepted"
    assert read("position", text, reported=True, names=DEFINITION).label == "further_work"  # named, though it cites no recommendation


@pytest.mark.parametrize(
    ("lead_in", "expected"),
    [
        ("In its response, the Department of Health and Social Care:", True),
        ("Ministers have agreed to:", True),
        ("NHS England will lead the recovery of services. Delivery should include:", False),  # an earlier sentence
        ("Our asks of government:", False),
        ("Recommendations to the government include:", False),
        ("We urge the government to:", False),
    ],
)
def test_only_a_lead_in_the_government_speaks_makes_its_bullets_positions(lead_in, expected):
    assert speaks_for_government(lead_in) is expected
    reading = read("position", "Agree a smaller set of national targets for the review's ten priorities.", lead_in=lead_in, reported=True)
    assert (reading is not None) is expected


def test_statutory_duties_are_not_a_government_statement():
    assert not government_acts("Boards are accountable to NHS England for their statutory duties.")
    assert government_acts("NHS England stated that the targets would be cut.")


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("In its reply the government set out its commitment to a national peer review offer, as the review asked.", "accepted"),
        ("The department made a commitment to the peer review offer the report proposed.", "accepted"),
        ("The government has not made a commitment to the peer review offer the report proposed.", "noted"),
        ("We support the government's continued commitment to the approach the review set out.", None),  # the noun alone is too weak
    ],
)
def test_a_commitment_the_government_makes_is_acceptance(sentence, expected):
    reading = read("position", sentence, reported=True)
    assert (reading.label if reading else None) == expected


def test_a_rejection_outranks_further_work_in_one_passage():
    text = "Ministers rejected the review's target on prevention. The department will consider the review's other ideas on prevention."
    assert read("position", text, reported=True).label == "not_accepted"


def test_asking_for_more_detail_is_a_caveat_not_concern():
    assert read("stance", "The new capital review is promising, but we await further detail on timing.").label == "support"


@pytest.mark.parametrize(
    "sentence",
    [
        "Across the report's aims there is not much to disagree with.",
        "Few would argue with a ceiling on national targets.",
        "It is hard to argue with the plan.",
    ],
)
def test_agreement_said_by_denying_disagreement_is_support(sentence):
    assert read("stance", sentence).label == "support"
    assert read("stance", "We disagree with a ceiling on national targets.").label == "oppose"


def fake_view(task: str, overall: Reading | None = None, **arrays) -> SimpleNamespace:
    return SimpleNamespace(task=task, overall=overall, named={}, **arrays)


OVERALL = Reading("stance", "support", 0.9, ("welcome",), "author", rule="cues:stance")
ITEM = {"slug": "prevention-share", "direction": "more", "aliases": '["prevention share of ICS budgets"]'}


def test_the_page_view_fills_only_readings_without_a_cue():
    view = fake_view("stance", OVERALL)
    reading = reading_for(view, ITEM, "The review lists ten proposals in its final chapter.", None, None, {})
    assert reading.label == "support" and reading.rule.endswith(";page-view")
    decided = reading_for(view, ITEM, "The paper sets the proposals out without taking a view.", None, None, {})
    assert decided.label == "neutral" and decided.cues == ("without taking a view",)
    assert inherit(decided, OVERALL).label == "support"  # inherit itself is unconditional; reading_for guards it


def test_an_evidence_page_gives_its_author_s_stance_and_no_loose_positions():
    view = fake_view("signal")
    text = "We welcome the rise in the grant this year. The department agreed the prevention share of ICS budgets for 2025."
    found = {suffix: reading.label for reading, suffix in readings(view, ITEM, text, None, None, True, {})}
    assert found[":stance"] == "support" and ":position" not in found  # naming the item is no answer to the review here
    assert ":stance" not in {suffix for _, suffix in readings(view, ITEM, "The grant was paid in May.", None, None, True, {})}
    stance_page = {suffix: r.label for r, suffix in readings(fake_view("stance", None), ITEM, text, None, None, False, {})}
    assert stance_page == {":position": "accepted"}  # a passage that does not carry the item is read for a position only


def test_the_passages_closest_to_an_item_are_also_read_for_its_position(monkeypatch):
    monkeypatch.setattr(link, "POSITION_ROWS", 2)
    closest = np.array([[0, 1], [1, 0], [0, 2], [0, 1], [2, 0], [2, 1]])
    scores = np.array([[0.8, 0.5], [0.7, 0.6], [0.6, 0.5], [0.5, 0.4], [0.9, 0.2], [0.9, 0.8]])
    view = fake_view("stance", closest=closest, closest_scores=scores)
    view.named = {0: {4: 0.2}}
    extra = position_carriers(view, 0, [(0, "semantic", 0.8, True)])  # row 0 carries it; row 3 is the third closest; row 5 is not near
    assert extra == [(1, "semantic", 0.6), (2, "semantic", 0.6), (4, "named", 0.2)]
