"""The reading rules, pinned on sentences written for these tests: who speaks, lead-ins, page
furniture, names without numbers, the direction an item asks for, and one vote per sentence."""

import numpy as np
import pytest

from tracker import readers
from tracker.attribution import government_acts, names_government, speaker, without_government
from tracker.classify import Verdict
from tracker.context import is_boilerplate, lead_ins, with_lead_in
from tracker.learn import LogisticModel
from tracker.names import ACRONYM, Name, name_forms
from tracker.readers import read, sentences, strongest


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
    ("text", "direction", "expected"),
    [
        ("ICBs completed the cut in running costs last year.", "stop", "reversed"),
        ("The prevention budget was cut by a fifth.", "more", "reversed"),
        ("The prevention budget was increased by a fifth.", "more", "in_progress"),
        ("The number of national targets was reduced to eighteen.", "less", "in_progress"),
        ("The planned cuts to running costs were paused.", "stop", "stalled"),
        ("The ringfence on the development funding pots was scrapped.", "less", "implemented"),
        ("The new duty was scrapped.", "new", "reversed"),
        ("Boards were told to halve their running costs.", "stop", "reversed"),
        ("Ministers plan to reduce the number of national targets next year.", "less", "planned"),
    ],
)
def test_evidence_is_measured_against_the_direction_asked(text, direction, expected):
    assert read("signal", text, direction=direction).label == expected


@pytest.mark.parametrize(
    "text",
    [
        "The grant has been cut in real terms since 2015.",  # a trend over years is background
        "The grant has been cut in real terms since 2015. This has meant fewer clinics.",  # and so is what it led to
        "Pots move into core allocations to increase the freedoms systems have.",  # a purpose, not an event
        "Systems should publish their prevention spend.",  # a call
        "Systems were asked to set out their plans.",
        "Is the tariff being scrapped? No.",  # a question votes for nothing
        "The department will look at this.",  # a bare "will" is not a dated plan
    ],
)
def test_what_is_not_an_event_is_not_a_signal(text):
    assert read("signal", text, direction="more").label == "mention"


def test_a_change_beside_its_background_still_counts():
    assert read("signal", "The allocation rose by 3% this year, after years of cuts.", direction="more").label == "in_progress"


def test_a_dated_will_is_a_plan_and_will_not_is_a_stall():
    assert read("signal", "The guidance will be published in June 2026.").label == "planned"
    assert read("signal", "Boards will not be given a rating in 2025/26.").label == "stalled"


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


def test_regretting_a_government_refusal_supports_the_item():
    stance = read("stance", "We are disappointed that ministers have turned down the prevention target.")
    assert stance.label == "support" and stance.cues == ("disappointed + turned down",)


WORKFORCE_PLAN = ("social care workforce strategy", "care workforce plan", "workforce plan for social care")


@pytest.mark.parametrize(
    "sentence",
    [
        "The absence of a credible care workforce plan is still a glaring omission in the reforms.",
        "Providers regret the lack of a workforce plan for social care, which would steady recruitment.",
        "Yet the social care workforce strategy is still missing, two years on.",
    ],
)
def test_regretting_that_the_item_is_missing_supports_it(sentence):
    stance = read("stance", sentence, names=WORKFORCE_PLAN)
    assert stance.label == "support" and stance.cues[0].endswith("+ item")


def test_a_missing_thing_that_is_not_the_item_is_no_support():
    assert read("stance", "The lack of detail on funding is a worry for providers.", names=WORKFORCE_PLAN).label == "concern"
    assert read("stance", "The absence of a credible care workforce plan is a glaring omission.").label != "support"  # no names, no rule


def test_a_caveat_does_not_turn_support_into_concern():
    assert read("stance", "We welcome the review. However, we are concerned about funding.").label == "support"
    assert read("stance", "We are concerned about funding for the new duty.").label == "concern"


def test_the_author_s_view_of_a_government_act_is_read_without_the_act():
    assert without_government("The government has agreed to set up a peer review offer.").strip().startswith("to set up")
    assert read("stance", "The government has agreed to set up a peer review offer.").label == "neutral"
    assert read("stance", "That the government has accepted the need for a review is promising, but we await detail.").label == "support"
    assert read("stance", "Unclear accountability risks holding back progress.").label == "concern"  # "holding back" is not backing


@pytest.mark.parametrize(
    ("sentence", "lead_in", "expected"),
    [
        ("Government is reluctant to commit to the recommendations on representation.", None, "noted"),
        ("The Government has not given an explicit commitment to the peer review offer the report proposed.", None, "noted"),
        ("The government recognised the benefit of fewer national priorities.", None, "accepted"),
        ("Confirms that national targets will be reviewed and cut.", "In its response, the department:", "accepted"),
        ("Confirms that national targets will be reviewed and cut.", "Other themes were:", None),
        ("The government's commitment to the review's approach is clear.", None, None),  # a noun is too weak to report
    ],
)
def test_reported_positions(sentence, lead_in, expected):
    reading = read("position", sentence, lead_in=lead_in, reported=True)
    assert (reading.label if reading else None) == expected
    assert names_government("In its response, the department:") and not names_government("Other themes were:")


class FixedModel(LogisticModel):
    def __init__(self, probabilities: dict[str, float]) -> None:
        super().__init__(list(probabilities), np.zeros((1, 1)), np.zeros(1), np.zeros(1), np.ones(1))
        self.fixed = np.array([list(probabilities.values())])

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        return self.fixed


def test_cues_decide_and_the_model_alone_needs_to_be_very_sure(monkeypatch):
    vector = np.ones(384, dtype=np.float32)
    below = readers.MODEL_ALONE["signal"] - 0.05  # just short of what the model needs to name a label alone
    unsure = {"stalled": below, "implemented": 0.2, "mention": round(0.8 - below, 2)}
    monkeypatch.setattr(readers, "reader_models", lambda: {"signal": FixedModel(unsure)})
    assert read("signal", "The guidance was published in March.", vector).label == "implemented"  # the cue, though the model says stalled
    assert read("signal", "The board met on Tuesday.", vector).label == "mention"
    sure = {"stalled": 0.97, "implemented": 0.02, "mention": 0.01}
    monkeypatch.setattr(readers, "reader_models", lambda: {"signal": FixedModel(sure)})
    reading = read("signal", "The board met on Tuesday.", vector)
    assert reading.label == "stalled" and reading.probability == 0.97
