"""How `tracker eval --texts` scores a page, pinned on hand-made predictions: a status change counts
as right only when the tracker gives the reader's status, and a move the reader does not make counts
against it."""

import sqlite_utils

from tracker.realtext import PageReport, gold_status, moves_to, score_page
from tracker.status import Evidence

GRANT, POTS, PRIORITIES = 1, 2, 3


def link(task: str, label: str, probability: float, start: int = 0) -> Evidence:
    return Evidence(f"L-{task}-{label}-{start}", task, label, "semantic", 0.6, "Our own words.", 1, "", None, None, None, "independent", None,
                    False, None, probability, 0.9, start=start)  # fmt: skip


def recommendations() -> sqlite_utils.Database:
    db = sqlite_utils.Database(memory=True)
    db["recommendations"].insert_all([{"id": i, "slug": slug, "label": slug} for i, slug in ((GRANT, "grant"), (POTS, "pots"), (PRIORITIES, "priorities"))])
    return db


def test_a_page_moves_an_item_by_its_decisive_signal_else_its_decisive_position():
    assert moves_to([link("signal", "implemented", 0.95), link("position", "accepted", 0.95)]) == "implemented"
    assert moves_to([link("signal", "implemented", 0.5), link("position", "accepted", 0.95)]) == "accepted_no_action_found"
    assert moves_to([link("signal", "mention", 0.99), link("position", "accepted", 0.5)]) is None  # below the auto threshold: waits
    assert gold_status({"signal": "stalled", "position": "accepted", "changes_status": True}) == "stalled"
    assert gold_status({"signal": "stalled", "changes_status": False}) is None


def test_a_wrong_status_and_a_move_the_reader_does_not_make_both_count_against_the_tracker():
    gold = {
        GRANT: {"signal": "implemented", "position": None, "changes_status": True},
        POTS: {"signal": "planned", "position": None, "changes_status": True},
        PRIORITIES: {"signal": "mention", "position": None, "changes_status": False},
    }
    predicted = {
        GRANT: {"moves_to": "implemented"},  # right
        POTS: {"moves_to": "in_progress"},  # moved, to the wrong status
        PRIORITIES: {"moves_to": "planned"},  # moved what the reader leaves alone
    }
    report = PageReport(1, [])
    score_page(report, {"id": "page", "kind": "evidence"}, gold, predicted, recommendations())
    status = report.scores["status_change"]
    assert (status.tp, status.fp, status.fn) == (1, 2, 1)
    assert {error["recommendation"] for error in report.errors if error["task"] == "status_change"} == {"pots", "priorities"}
