"""The reading rules, pinned on sentences written for these tests: who speaks, lead-ins, page
furniture, names without numbers, the direction an item asks for, and one vote per sentence."""

import numpy as np
import pytest

from tracker.attribution import government_acts, speaker
from tracker.classify import Verdict
from tracker.context import is_boilerplate, lead_ins, with_lead_in
from tracker.readers import against_direction, read, sentences, strongest
from tracker.scorer import ACRONYM, Name, name_forms


@pytest.mark.parametrize(
    ("sentence", "who"),
    [
        ("Ministers have turned down the call for a national pot for prevention.", "government"),
        ("The proposal was rejected by the Department of Health and Social Care.", "government"),
        ("In its reply the government accepted the idea of a peer review offer.", "government"),
        ("We are disappointed that the government has rejected the prevention target.", "author"),
        ('The chief executive said: "this is a missed chance for the whole region."', "reported"),
        ("We welcome the focus on local priorities.", "author"),
    ],
)
def test_who_speaks(sentence, who):
    assert speaker(sentence) == who


def test_a_government_decision_is_read_as_a_position_in_anyone_s_page():
    text = "We are disappointed that the government has rejected the prevention target. It would have moved money upstream."
    position = read("position", text, reported=True)
    assert position is not None and position.label == "not_accepted"
    assert read("position", "Our members welcome the review and its focus on prevention.", reported=True) is None


def test_the_author_s_stance_ignores_what_the_government_does():
    stance = read("stance", "The government rejected the idea of a national target. We strongly support it.")
    assert stance.label == "support"


def test_a_bullet_is_read_with_its_lead_in():
    passages = [
        {"id": 1, "text": "What we liked in the report:", "block_kind": "paragraph", "heading_path": "Our view"},
        {"id": 2, "text": "fewer national targets for systems", "block_kind": "list_item", "heading_path": "Our view"},
        {"id": 3, "text": "a peer review offer", "block_kind": "list_item", "heading_path": "Our view"},
        {"id": 4, "text": "a list under another heading", "block_kind": "list_item", "heading_path": "Elsewhere"},
    ]
    leads = lead_ins(passages)
    assert leads == {2: "What we liked in the report:", 3: "What we liked in the report:"}
    assert with_lead_in("a peer review offer", leads[3]) == "What we liked in the report: a peer review offer"
    welcomed = read("stance", "fewer national targets for systems", lead_in="We warmly welcome the following proposals:")
    assert welcomed.label == "support"


@pytest.mark.parametrize(
    "text",
    [
        "Subscribe to our newsletter for the latest updates.",
        "Home News About Contact Events",
        "We use cookies to improve your experience on this site.",
        "The Example Federation is the membership body for community health providers in England.",
    ],
)
def test_page_furniture_is_never_linkable(text):
    assert is_boilerplate(text)


def test_policy_prose_is_not_furniture():
    assert not is_boilerplate("Systems should be free to set most of their own priorities, with only a handful set nationally.")


@pytest.mark.parametrize(
    ("alias", "text", "found"),
    [
        ("national peer review offer", "A national peer-review offers for systems.", True),
        ("peer review", "Systems would join a national peer-review programme.", True),
        ("ringfenced pots", "Fewer ring-fenced pots of money.", True),
        ("social care workforce", "Care workforce in social settings", False),
        ("small in-year funding pots", "Fewer small, in-year funding pots would help planning.", True),
        ("SDF", "The SDF allocations were cut this year.", True),
        ("SDF", "The sdf allocations", False),
        ("overview and scrutiny committees", "Council overview and scrutiny committee members will look at ICSs.", True),
        ("national peer review offer", "A national review of pay was announced.", False),
    ],
)
def test_names_without_numbers(alias, text, found):
    assert Name.parse(alias).found(name_forms(text), set(ACRONYM.findall(text))) is found


@pytest.mark.parametrize(
    ("label", "text", "direction", "expected"),
    [
        ("implemented", "ICBs completed the cut in running costs last year.", "stop", "reversed"),
        ("implemented", "The prevention budget was cut by a fifth.", "more", "reversed"),
        ("implemented", "The prevention budget was increased by a fifth.", "more", "implemented"),
        ("implemented", "Pots move into core allocations to increase the freedoms systems have.", "less", "implemented"),
        ("implemented", "The number of national targets was reduced to eighteen.", "less", "implemented"),
        ("stalled", "The planned cuts to running costs were paused.", "stop", "in_progress"),
    ],
)
def test_evidence_is_measured_against_the_direction_asked(label, text, direction, expected):
    assert against_direction(label, text, direction) == expected


def test_one_vote_per_sentence_and_strength_before_repetition():
    votes = [(0, Verdict("in_progress", ("consultation",), 1.0)), (1, Verdict("in_progress", ("consultation",), 1.0)),
             (2, Verdict("in_progress", ("consultation",), 1.0)), (3, Verdict("stalled", ("paused",), 2.0))]  # fmt: skip
    assert strongest(votes).label == "stalled"
    assert strongest([(0, Verdict("planned", ("will",), 1.0)), (1, Verdict("implemented", ("published",), 1.0))]).label == "implemented"


def test_a_repeated_word_in_one_sentence_is_one_vote():
    text = "The consultation on the consultation about consultation closed. The guidance was then scrapped."
    assert len(sentences(text)) == 2
    assert read("signal", text).label == "reversed"


def test_readers_use_the_model_when_a_vector_is_given():
    from tracker.readers import reader_models

    models = reader_models()
    assert set(models) == {"stance", "signal", "position"}
    reading = read("signal", "The framework was published in March.", vector=np.ones(384, dtype=np.float32) / np.sqrt(384))
    assert reading.probability is not None and 0 <= reading.probability <= 1 and reading.rule.endswith(";model")


def test_the_government_acting_is_found_in_active_and_passive_sentences():
    assert government_acts("DHSC said it would not impose a national shift in spending.")
    assert government_acts("The target was turned down by ministers last week.")
    assert not government_acts("Our members welcome the focus on prevention in the report.")


def test_scrapping_what_an_item_wanted_less_of_is_progress():
    assert against_direction("reversed", "The ringfence on the development funding pots was scrapped.", "less") == "implemented"
    assert against_direction("reversed", "The new duty was scrapped.", "new") == "reversed"
