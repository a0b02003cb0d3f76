"""The status rules that the README promises, pinned on hand-made evidence."""

from tracker.status import Evidence, decide


def evidence(task: str, label: str, method: str, date: str, confirmed: bool = False, assessor: str = "independent") -> Evidence:
    return Evidence(
        link_id=f"L-{task}-{label}-{method}-{date}", task=task, label=label, method=method, score=0.5 if method == "semantic" else None,
        quote="Our own words for a test.", document_id=1, document_title="A note", publisher="A publisher", date=date,
        url="https://example.org/note", assessor=assessor, target_date=None, confirmed=confirmed,
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
