"""The status rules that the README promises, pinned on hand-made evidence."""

from tracker.status import SIGNAL_READING_AUTO, Evidence, decide, decisive, document_signals


def evidence(
    task: str, label: str, method: str, date: str, confirmed: bool = False, assessor: str = "independent", document_id: int = 1, start: int = 0
) -> Evidence:
    return Evidence(
        link_id=f"L-{task}-{label}-{method}-{date}-{document_id}-{start}", task=task, label=label, method=method, score=0.5 if method == "semantic" else None,
        quote="Our own words for a test.", document_id=document_id, document_title="A note", publisher="A publisher", date=date,
        url="https://example.org/note", assessor=assessor, target_date=None, confirmed=confirmed, start=start,
    )  # fmt: skip


ACCEPTED = evidence("position", "accepted", "response_layout", "2023-06-14", assessor="government")


def test_an_unconfirmed_similarity_link_never_decides_a_status():
    status = decide(1, [ACCEPTED, evidence("signal", "reversed", "semantic", "2025-01-01")])
    assert status.status == "accepted_no_action_found"
    assert status.deciding is ACCEPTED


def test_a_confirmed_similarity_link_decides():
    reversed_signal = evidence("signal", "reversed", "semantic", "2025-01-01", confirmed=True)
    status = decide(1, [ACCEPTED, reversed_signal])
    assert status.status == "reversed" and status.deciding is reversed_signal and status.confidence == 1.0


def machine(label: str, probability: float, method: str = "semantic") -> Evidence:
    item = evidence("signal", label, method, "2025-01-01")
    item.probability, item.auto_threshold = probability, 0.8
    return item


def test_a_machine_link_below_the_auto_threshold_waits_for_a_person():
    for method in ("semantic", "named"):
        status = decide(1, [ACCEPTED, machine("reversed", 0.79, method)])
        assert status.status == "accepted_no_action_found", method


def test_a_machine_link_at_or_above_the_auto_threshold_decides_alone():
    sure = machine("reversed", 0.8)
    status = decide(1, [ACCEPTED, sure])
    assert status.status == "reversed" and status.deciding is sure
    assert status.confidence == round(0.8 * 0.9, 2)  # the scorer's probability, times the source's confidence


def test_an_explicit_reference_decides_without_a_person():
    signal = evidence("signal", "in_progress", "explicit", "2024-03-01")
    status = decide(1, [ACCEPTED, signal])
    assert status.status == "in_progress" and status.since == "2024-03-01"


def test_a_person_overrides_everything():
    status = decide(1, [ACCEPTED], override={"status": "stalled", "effective": "2025-02-02", "note": "seen at a board meeting"})
    assert status.status == "stalled" and "seen at a board meeting" in status.reason


def test_no_evidence_means_no_position_found():
    assert decide(1, []).status == "no_position_found"


def test_a_page_gives_the_signal_of_its_earliest_passage_not_its_most_repeated():
    news = evidence("signal", "implemented", "explicit", "2025-01-01", start=0)  # the headline: the grant was paid
    later = [evidence("signal", "planned", "explicit", "2025-01-01", start=start) for start in (400, 800, 1200)]  # "will", "next year"
    assert decide(1, [ACCEPTED, *later, news]).status == "implemented"
    assert [item.link_id for item in document_signals([*later, news])] == [news.link_id]


def test_a_setback_anywhere_on_a_page_outweighs_its_earlier_progress():
    plans = evidence("signal", "planned", "explicit", "2025-02-10", start=0)  # the watchdog recounts the plan
    verdict = evidence("signal", "stalled", "explicit", "2025-02-10", start=900)  # then gives its verdict
    assert decide(1, [ACCEPTED, plans, verdict]).status == "stalled"


def test_a_confirmed_passage_speaks_for_its_page_and_each_page_counts_once():
    confirmed = evidence("signal", "stalled", "semantic", "2025-01-01", confirmed=True, start=900)
    other_page = evidence("signal", "planned", "explicit", "2025-01-01", document_id=2, start=50)
    chosen = document_signals([evidence("signal", "implemented", "explicit", "2025-01-01", start=10), confirmed, other_page])
    assert {item.link_id for item in chosen} == {confirmed.link_id, other_page.link_id}


def test_between_pages_the_newest_then_the_most_severe_decides():
    older = evidence("signal", "reversed", "explicit", "2024-01-01", document_id=1)
    newer = evidence("signal", "in_progress", "explicit", "2025-01-01", document_id=2)
    same_day = evidence("signal", "stalled", "explicit", "2025-01-01", document_id=3)
    assert decide(1, [ACCEPTED, older, newer]).status == "in_progress"
    assert decide(1, [ACCEPTED, older, newer, same_day]).status == "stalled"


def test_a_machine_signal_decides_alone_only_when_the_reader_is_sure_of_its_label_too():
    sure_link = machine("implemented", 0.95)
    assert decisive(sure_link)  # no reader probability recorded (a database linked before it was kept): the link decides
    sure_link.reading_probability = SIGNAL_READING_AUTO - 0.01
    assert not decisive(sure_link) and decide(1, [ACCEPTED, sure_link]).status == "accepted_no_action_found"
    sure_link.reading_probability = SIGNAL_READING_AUTO
    assert decide(1, [ACCEPTED, sure_link]).status == "implemented"
    position = machine("accepted", 0.95)
    position.task, position.reading_probability = "position", 0.1
    assert decisive(position)  # positions are not gated by the reader
    confirmed = evidence("signal", "stalled", "semantic", "2025-01-01", confirmed=True)
    confirmed.reading_probability = 0.1
    assert decisive(confirmed)  # a person's confirmation always decides
