"""Evidence signals, pinned on sentences written for these tests: the words each label is said in, a
first step is not the whole job, a call is not an event, and a change of quantity counts only when it
is done to the item."""

import pytest

from tracker.classify import classify
from tracker.readers import near_item, read

RUNNING_COSTS = ("ICB running cost allowance", "running costs of integrated care boards", "RCA")
GRANT = ("public health grant", "council public health budgets")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The department has set up a joint unit for the programme.", "implemented"),
        ("The regulator now requires every board to publish its plan.", "implemented"),
        ("Updated guidance was sent to councils in May.", "implemented"),
        ("The agreement was signed by both parties in March.", "implemented"),
        ("Work on the new strategy started in October.", "in_progress"),
        ("The shift to shared roles is gaining pace across the region.", "in_progress"),
        ("The charity has been working with five areas on the model.", "in_progress"),
        ("The department introduced the first phase of the scheme.", "in_progress"),  # a first step is not the whole job
        ("The national board has met twice since the summer.", "in_progress"),
        ("The minister welcomed the proposal to introduce longer budgets.", "planned"),
        ("The letter confirmed the direction of travel for the sector.", "planned"),  # a direction is not a result
        ("The absence of a funded plan remains a glaring omission.", "stalled"),
    ],
)
def test_each_label_is_read_in_its_own_words(text, expected):
    assert read("signal", text).label == expected


def test_a_call_is_a_mention_not_an_event():
    reading = read("signal", "Councils have urged ministers to leave the arrangements alone.")
    assert (reading.label, reading.cues) == ("mention", ("urged",))
    assert read("signal", "Councils urged ministers to act, and new rules were introduced in May.").label != "mention"  # any event outweighs a call


@pytest.mark.parametrize(
    ("text", "names", "expected"),
    [
        ("Boards have been told to cut their running costs by half.", RUNNING_COSTS, "reversed"),
        ("The RCA was reduced by a third.", RUNNING_COSTS, "reversed"),  # the acronym as written
        ("The public health grant was cut again this year.", GRANT, "reversed"),  # the head word of a name
        ("The new plans aim to reduce duplication across the system.", RUNNING_COSTS, "mention"),
        ("The settlement will help reduce pressure on health services.", GRANT, "mention"),
    ],
)
def test_a_change_counts_only_when_done_to_the_item(text, names, expected):
    assert read("signal", text, direction="more" if names is GRANT else "stop", names=names).label == expected


@pytest.mark.parametrize(
    ("text", "direction", "expected"),
    [
        ("The department has published the new allowance rules.", "stop", "reversed"),
        ("Boards are rolling out the new allowance across every region.", "stop", "reversed"),
        ("The department will introduce the new allowance in April 2026.", "stop", "reversed"),
        ("The department has published the new allowance rules.", "new", "implemented"),
        ("Boards are rolling out the new allowance across every region.", "new", "in_progress"),
    ],
)
def test_progress_of_a_plan_the_item_asks_to_stop_is_a_reversal(text, direction, expected):
    """An item that asks for a plan to be paused loses ground as that plan goes ahead, whatever the verb."""
    assert read("signal", text, direction=direction).label == expected


def test_without_names_every_change_counts():
    assert read("signal", "The new plans reduce duplication across the system.", direction="stop").label == "reversed"


def test_the_object_is_looked_for_in_the_clause_of_the_change():
    check = near_item(GRANT)
    text = "Councils welcomed the public health grant, but said it would do little to reduce pressure."
    start = text.index("reduce")
    assert not check(text, start, start + len("reduce"))
    assert classify(text, "signal", check) is None


@pytest.mark.parametrize(
    "question",
    [
        "To ask the Secretary of State for Health and Social Care whether his Department plans to cut the ICB running cost allowance.",
        "Question to the Department of Health and Social Care: To ask the Secretary of State, what plans there are to abolish the RCA.",
        "Will the running costs of integrated care boards be cut again next year?",
    ],
)
def test_a_question_is_no_event_even_without_a_question_mark(question):
    assert read("signal", question, direction="stop", names=RUNNING_COSTS).label == "mention"


def test_the_answer_to_a_written_question_is_read():
    text = (
        "To ask the Secretary of State whether his Department plans to review the ICB running cost allowance. "
        "Boards have been told to cut their running costs by half."
    )
    reading = read("signal", text, direction="stop", names=RUNNING_COSTS)
    assert (reading.label, reading.cues) == ("reversed", ("cut",))
