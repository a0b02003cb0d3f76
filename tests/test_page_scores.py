"""How `tracker eval --texts` scores a page, pinned on hand-made predictions: a status change counts
as right only when the tracker gives the reader's status, and a move the reader does not make counts
against it."""

import json
from pathlib import Path

from tracker.realtext import PageReport, agreement, gold_status, moves_to, score_page
from tracker.status import Evidence

GRANT, POTS, PRIORITIES = "grant", "pots", "priorities"


def link(task: str, label: str, probability: float, start: int = 0) -> Evidence:
    return Evidence(f"L-{task}-{label}-{start}", task, label, "semantic", 0.6, "Our own words.", 1, "", None, None, None, "independent", None,
                    False, None, probability, 0.9, start=start)  # fmt: skip


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
    score_page(report, {"id": "page", "kind": "evidence"}, gold, predicted)
    status = report.scores["status_change"]
    assert (status.tp, status.fp, status.fn) == (1, 2, 1)
    assert {error["recommendation"] for error in report.errors if error["task"] == "status_change"} == {"pots", "priorities"}


def test_a_second_reading_is_scored_as_the_tracker_is_against_the_first():
    page = {"id": "page", "kind": "stakeholder_response"}
    first = [
        {
            **page,
            "items": [
                {"recommendation": GRANT, "stance": "support", "position": None, "signal": None, "changes_status": False},
                {"recommendation": POTS, "stance": "concern", "position": "accepted", "signal": None, "changes_status": True},
            ],
        },
        {"id": "unread", "kind": "evidence", "items": [{"recommendation": GRANT, "signal": "implemented", "changes_status": True}]},
    ]
    second = [
        {
            "id": "page",
            "items": [
                {"recommendation": GRANT, "stance": "support", "position": None, "signal": None, "changes_status": False},
                {"recommendation": PRIORITIES, "stance": "oppose", "position": None, "signal": None, "changes_status": False},
            ],
        }
    ]
    report = agreement(first, second)
    assert report.pages == 1  # the page only the first reader read is left out
    link, stance = report.scores["link"], report.scores["stance"]
    assert (link.tp, link.fp, link.fn) == (1, 1, 1)
    assert (stance.tp, stance.fn) == (1, 1)  # the second reader gives no stance on an item it does not link
    assert (report.scores["status_change"].tp, report.scores["status_change"].fn) == (0, 1)


def test_tracker_agreement_scores_the_second_reading_of_the_report_half(tmp_path):
    from click.testing import CliRunner

    from tracker.cli import cli

    gold = Path(__file__).parent / "gold"
    result = CliRunner().invoke(cli, ["agreement", str(gold / "real_pages.jsonl"), str(gold / "second_reading.jsonl"), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["pages"] == 30 and set(report["scores"]) >= {"link", "stance", "signal", "status_change"}
    broken = tmp_path / "broken.jsonl"
    broken.write_text("not json\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["agreement", str(broken), str(gold / "second_reading.jsonl")])
    assert result.exit_code != 0 and "not a page gold file" in result.output and "Traceback" not in result.output
    result = CliRunner().invoke(cli, ["agreement", str(gold / "real_pages.jsonl"), str(gold / "second_reading.jsonl"), "--split", "tune"])
    assert result.exit_code != 0 and "no page of" in result.output  # the second reading read no tuning page
