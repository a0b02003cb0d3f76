"""Bounded output (issue 13, item 9): the digest `tracker ingest` prints shows at most N links per
recommendation and how many more, naming a `tracker links` command that lists them all."""

from __future__ import annotations

import json
import re

import pytest

import tracker
from tracker import build
from tracker.cli import cli
from tracker.link import LinkReport, documents_to_link
from tracker.links import bound_digest

RECOMMENDATIONS = (1, 2, 3)


def fake_link(db, rebuild=False, settings=None, document_ids=None, progress=None) -> LinkReport:
    """A linker that links every passage of each unlinked document to three recommendations."""
    run_id = int(db["runs"].insert({"command": "link", "version": tracker.__version__, "started_at": "2026-01-01"}).last_pk)
    documents = documents_to_link(db)
    rows = [
        {"id": f"L{passage}-{rec}", "passage_id": passage, "document_id": document, "recommendation_id": rec, "task": "signal",
         "label": "in_progress", "method": "explicit", "quote": text, "run_id": run_id}
        for passage, document, text in db.execute(f"select id, document_id, text from passages where document_id in ({','.join('?' * len(documents))})", documents)
        for rec in RECOMMENDATIONS
    ]  # fmt: skip
    with db.atomic():
        db["links"].insert_all(rows)
        for document in documents:
            db["documents"].update(document, {"linked_run": run_id})
    return LinkReport(run_id, len(documents), len(rows))


@pytest.fixture
def linked_db(register_db, monkeypatch):
    monkeypatch.setattr(build, "link", fake_link)
    db = tracker.open_db(register_db)
    db["runs"].insert({"command": "link", "version": tracker.__version__, "started_at": "2026-01-01"})
    db.close()
    return register_db


def big_note(tmp_path, paragraphs: int = 150):
    path = tmp_path / "big.md"
    body = "\n\n".join(f"Paragraph {n}: the harbour board reported progress on ferry route {n}." for n in range(paragraphs))
    path.write_text(f"---\ntitle: A long progress report\nkind: evidence\ndate: 2025-01-01\n---\n\n{body}\n")
    return path


def test_digest_shows_a_few_links_per_recommendation_and_the_rest_as_a_command(cli_runner, linked_db, tmp_path):
    result = cli_runner.invoke(cli, ["ingest", str(linked_db), str(big_note(tmp_path))])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    links = [line for line in lines if re.match(r"  \S+: signal in_progress", line)]
    assert len(links) == 3 * len(RECOMMENDATIONS)  # 3 per recommendation by default, not 450
    [summary] = [line for line in lines if "more links" in line]
    assert summary == f"  and {150 * 3 - 9:,} more links: run `tracker links {linked_db} --document 1`"
    assert len(lines) < 40
    listed = cli_runner.invoke(cli, ["links", str(linked_db), "--document", "1", "--json"])
    assert listed.exit_code == 0 and len(json.loads(listed.stdout)) == 450  # the command it names exists and lists them all


def test_digest_lines_are_an_option_and_json_is_bounded_too(cli_runner, linked_db, tmp_path):
    result = cli_runner.invoke(cli, ["ingest", str(linked_db), str(big_note(tmp_path)), "--digest-links", "1", "--json"])
    assert result.exit_code == 0, result.output
    changes = json.loads(result.stdout)["changes"]
    assert len(changes["links"]) == 3 and changes["more_links"] == 447 and changes["total_links"] == 450
    assert changes["documents"] == [1]


def test_links_command_filters_by_recommendation(cli_runner, linked_db, tmp_path):
    cli_runner.invoke(cli, ["ingest", str(linked_db), str(big_note(tmp_path, 10))])
    listed = cli_runner.invoke(cli, ["links", str(linked_db), "--recommendation", "R1", "--json"])
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.stdout)
    assert len(rows) == 10 and {row["recommendation"] for row in rows} == {"R1"}
    missing = cli_runner.invoke(cli, ["links", str(linked_db), "--recommendation", "R99"])
    assert missing.exit_code == 1 and "no recommendation 'R99'" in missing.output and "Traceback" not in missing.output
    table = cli_runner.invoke(cli, ["links", str(linked_db), "--limit", "5"])
    assert table.exit_code == 0 and "5 links" in table.stderr


def test_bound_digest_keeps_order_and_counts():
    links = [{"recommendation": rec, "quote": str(n)} for n in range(10) for rec in ("R1", "R2")]
    digest = bound_digest({"links": links, "status_changes": []}, 2, [7])
    assert [(link["recommendation"], link["quote"]) for link in digest["links"]] == [("R1", "0"), ("R2", "0"), ("R1", "1"), ("R2", "1")]
    assert (digest["more_links"], digest["total_links"], digest["documents"]) == (16, 20, [7])
    assert digest["links_per_recommendation"] == {"R1": 10, "R2": 10}
