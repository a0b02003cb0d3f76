"""Ingest through the library and the CLI: idempotence, replacement, listings, folders, seeds, and a kill test."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import tracker
from tracker.cli import cli
from tracker.ingest import expand_sources

RESPONSE_MD = """---
title: A response from the Harbour Trust
kind: stakeholder_response
publisher: Harbour Trust
date: 2024-04-02
---

# A response from the Harbour Trust

We strongly support Recommendation 3 and hope HM Treasury will fund it.

The regulator's new role (Recommendation 12) is welcome, and so are recommendations 20 and 21.
"""


def counts(db) -> dict[str, int]:
    return {
        table: db.execute(f"select count(*) from [{table}]").fetchone()[0]
        for table in ("documents", "passages", "recommendations", "mentions", "entities", "reviews")
    }


def lines_with(output: str, needle: str) -> list[str]:
    return [line for line in output.splitlines() if needle in line]


# --- library -----------------------------------------------------------------------------------------


@pytest.fixture
def review_html(fixture_file) -> Path:
    return fixture_file("review_govuk.html")


def test_library_ingest_review(db, review_html):
    result = tracker.ingest(db, str(review_html), {"kind": "review"}, expect=36)
    assert result.status == "ingested"
    assert result.kind == "review"
    assert result.recommendations == 36 and result.warnings == []
    assert result.title == "The Marlow Review: an independent review of regional care partnerships"
    numbers = counts(db)
    assert numbers["documents"] == 1 and numbers["reviews"] == 1
    assert numbers["passages"] == result.passages > 36
    assert db.execute("select count(*) from recommendations where parent_id is null").fetchone()[0] == 36
    document = db.execute("select id, kind, format, text, source_path from documents").fetchone()
    assert document[0] == result.document_id and document[1] == "review" and document[2] == "html"
    assert "Recommendation 99" not in document[3]
    assert document[4] == str(review_html)
    for start, end, text in db.execute("select start, end, text from passages"):
        assert document[3][start:end] == text
    review = db.execute("select slug, expected_count from reviews").fetchone()
    assert review[1] == 36
    assert db.execute("select count(distinct review) from recommendations").fetchone()[0] == 1
    assert db.execute("select review from recommendations limit 1").fetchone()[0] == review[0]


def test_library_parts_stored_as_children(db, review_html):
    tracker.ingest(db, str(review_html), {"kind": "review"})
    rows = list(db.query("select key, label, part, parent_id from recommendations where parent_id is not null order by id"))
    assert len(rows) == 18
    three = [r for r in rows if r["key"].startswith("3") and r["key"][1:].isalpha()]
    assert [(r["key"], r["label"], r["part"]) for r in three] == [("3a", "R3(a)", "a"), ("3b", "R3(b)", "b"), ("3c", "R3(c)", "c")]
    parent = db.execute("select id from recommendations where key = '3'").fetchone()[0]
    assert {r["parent_id"] for r in three} == {parent}


def test_library_reingest_same_bytes_is_unchanged(db, review_html):
    first = tracker.ingest(db, str(review_html), {"kind": "review"})
    before = counts(db)
    second = tracker.ingest(db, str(review_html), {"kind": "review"})
    assert second.status == "unchanged"
    assert second.document_id == first.document_id
    assert counts(db) == before


def test_library_replace_refreshes_with_same_counts(db, review_html):
    first = tracker.ingest(db, str(review_html), {"kind": "review"})
    before = counts(db)
    again = tracker.ingest(db, str(review_html), {"kind": "review"}, replace=True)
    assert again.status == "updated"
    assert again.document_id == first.document_id
    assert counts(db) == before


def test_library_changed_file_at_same_path_replaces_old_version(db, tmp_path):
    note = tmp_path / "note.md"
    note.write_text("---\ntitle: Ferry note\nkind: evidence\n---\n\nThe first version says the pier is open.\n")
    first = tracker.ingest(db, str(note))
    note.write_text("---\ntitle: Ferry note\nkind: evidence\n---\n\nThe second version says the pier is closed.\n")
    second = tracker.ingest(db, str(note))
    assert (first.status, second.status) == ("ingested", "updated")
    assert db.execute("select count(*) from documents").fetchone()[0] == 1
    assert "pier is closed" in db.execute("select text from documents").fetchone()[0]
    assert [r[0] for r in db.execute("select text from passages")] == ["The second version says the pier is closed."]


def test_library_front_matter_metadata(db, tmp_path):
    path = tmp_path / "response.md"
    path.write_text(RESPONSE_MD)
    result = tracker.ingest(db, str(path))
    assert result.status == "ingested" and result.kind == "stakeholder_response"
    row = db.execute("select title, publisher, published, date_precision, format from documents").fetchone()
    assert row == ("A response from the Harbour Trust", "Harbour Trust", "2024-04-02", "day", "markdown")


def test_library_command_line_metadata_wins_over_front_matter(db, tmp_path):
    path = tmp_path / "response.md"
    path.write_text(RESPONSE_MD)
    tracker.ingest(db, str(path), {"kind": "evidence", "publisher": "Someone else"})
    assert db.execute("select kind, publisher from documents").fetchone() == ("evidence", "Someone else")


def test_response_mentions_resolve_to_review_recommendations(db, review_html, tmp_path):
    tracker.ingest(db, str(review_html), {"kind": "review"})
    path = tmp_path / "response.md"
    path.write_text(RESPONSE_MD)
    result = tracker.ingest(db, str(path))
    rows = list(
        db.query(
            "select m.ref, r.number, r.parent_id from mentions m left join recommendations r on r.id = m.recommendation_id "
            "where m.document_id = ? order by m.start, m.ref",
            [result.document_id],
        )
    )
    assert [(r["ref"], r["number"]) for r in rows] == [("3", 3), ("12", 12), ("20", 20), ("21", 21)]
    assert all(r["parent_id"] is None for r in rows)
    review = db.execute("select review from documents where kind = 'review'").fetchone()[0]
    assert db.execute("select review from documents where id = ?", [result.document_id]).fetchone()[0] == review
    entity = db.execute("select entity from entities where document_id = ? and entity = 'HM Treasury'", [result.document_id])
    assert entity.fetchone() is not None


def test_stored_locations_carry_the_document_id(db, review_html):
    result = tracker.ingest(db, str(review_html), {"kind": "review"})
    for (locations,) in db.execute("select locations from recommendations where parent_id is null"):
        assert {loc["document_id"] for loc in json.loads(locations)} == {result.document_id}


def test_replacing_the_review_keeps_other_documents_mentions(db, review_html, tmp_path):
    tracker.ingest(db, str(review_html), {"kind": "review"})
    path = tmp_path / "response.md"
    path.write_text(RESPONSE_MD)
    response = tracker.ingest(db, str(path))
    query = "select count(*) from mentions where document_id = ?"
    assert db.execute(query, [response.document_id]).fetchone()[0] == 4
    assert tracker.ingest(db, str(review_html), {"kind": "review"}, replace=True).status == "updated"
    assert db.execute(query, [response.document_id]).fetchone()[0] == 4


def test_new_version_of_review_from_another_path_with_existing_mentions(db, review_html, tmp_path):
    tracker.ingest(db, str(review_html), {"kind": "review"})
    path = tmp_path / "response.md"
    path.write_text(RESPONSE_MD)
    tracker.ingest(db, str(path))
    second = tmp_path / "review_v2.html"
    second.write_bytes(review_html.read_bytes().replace(b"</main>", b"<p>A short erratum paragraph.</p></main>"))
    result = tracker.ingest(db, str(second), {"kind": "review"})
    assert result.status == "ingested"  # another path is another document; its recommendations replace the first's by key
    assert db.execute("select count(*) from recommendations where parent_id is null").fetchone()[0] == 36


def test_expand_sources_is_recursive_and_filters_suffixes(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    for name in ("one.md", "a/two.txt", "a/b/three.html", "a/b/four.PDF", "a/skip.png", "a/b/skip.json"):
        (tmp_path / name).write_text("x")
    found = [Path(p).relative_to(tmp_path).as_posix() for p in expand_sources([str(tmp_path)])]
    assert sorted(found) == ["a/b/four.PDF", "a/b/three.html", "a/two.txt", "one.md"]
    assert expand_sources(["https://example.org/x", "plain.txt"]) == ["https://example.org/x", "plain.txt"]


# --- CLI ---------------------------------------------------------------------------------------------


def test_cli_init(cli_runner, tmp_path):
    path = tmp_path / "new.db"
    result = cli_runner.invoke(cli, ["init", str(path)])
    assert result.exit_code == 0, result.output
    assert "ready" in result.stdout and str(path) in result.stdout
    db = tracker.open_db(path, create=False)
    assert {"documents", "passages", "recommendations", "mentions", "entities", "_sqlite_migrations"} <= set(db.table_names())
    again = cli_runner.invoke(cli, ["init", str(path)])  # idempotent
    assert again.exit_code == 0


def test_cli_ingest_expect_36_no_warning(cli_runner, tmp_path, review_html):
    path = tmp_path / "t.db"
    result = cli_runner.invoke(cli, ["ingest", str(path), str(review_html), "--kind", "review", "--expect", "36"])
    assert result.exit_code == 0, result.output
    assert "warning" not in result.output
    assert lines_with(result.stdout, str(review_html))[0].startswith("ingested")
    assert "36 recommendations" in result.stdout
    assert "1 ingested, 0 updated, 0 unchanged, 0 failed" in result.stderr


def test_cli_ingest_expect_40_warns_about_missing(cli_runner, tmp_path, review_html):
    path = tmp_path / "t.db"
    result = cli_runner.invoke(cli, ["ingest", str(path), str(review_html), "--kind", "review", "--expect", "40"])
    assert result.exit_code == 0, result.output
    [warning] = lines_with(result.stderr, "warning")
    assert str(review_html) in warning
    assert "expected 40 recommendations, found 36" in warning
    assert "missing 37, 38, 39, 40" in warning


def test_cli_reingest_unchanged_then_replace(cli_runner, tmp_path, review_html):
    path = tmp_path / "t.db"
    args = ["ingest", str(path), str(review_html), "--kind", "review"]
    assert cli_runner.invoke(cli, args).exit_code == 0
    before = counts(tracker.open_db(path))
    again = cli_runner.invoke(cli, args)
    assert again.exit_code == 0
    assert "unchanged" in again.stdout and "document 1" in again.stdout
    assert counts(tracker.open_db(path)) == before
    replaced = cli_runner.invoke(cli, [*args, "--replace"])
    assert replaced.exit_code == 0
    assert lines_with(replaced.stdout, str(review_html))[0].startswith("updated")
    assert "0 ingested, 1 updated, 0 unchanged, 0 failed" in replaced.stderr
    assert counts(tracker.open_db(path)) == before


def test_cli_ingest_json_output(cli_runner, tmp_path, review_html):
    result = cli_runner.invoke(cli, ["ingest", str(tmp_path / "t.db"), str(review_html), "--kind", "review", "--json"])
    assert result.exit_code == 0
    payload = json.loads(result.stdout)
    [entry] = payload["results"] if isinstance(payload, dict) else payload
    assert entry["status"] == "ingested" and entry["recommendations"] == 36 and entry["kind"] == "review"


def test_cli_documents_and_recommendations_json(cli_runner, tmp_path, review_html):
    path = tmp_path / "t.db"
    response = tmp_path / "response.md"
    response.write_text(RESPONSE_MD)
    assert cli_runner.invoke(cli, ["ingest", str(path), str(review_html), "--kind", "review"]).exit_code == 0
    assert cli_runner.invoke(cli, ["ingest", str(path), str(response)]).exit_code == 0
    db = tracker.open_db(path)

    documents = json.loads(cli_runner.invoke(cli, ["documents", str(path), "--json"]).stdout)
    assert len(documents) == 2
    assert sum(d["passages"] for d in documents) == db.execute("select count(*) from passages").fetchone()[0]
    assert {d["kind"] for d in documents} == {"review", "stakeholder_response"}
    only = json.loads(cli_runner.invoke(cli, ["documents", str(path), "--kind", "review", "--json"]).stdout)
    assert [d["kind"] for d in only] == ["review"]

    recs = json.loads(cli_runner.invoke(cli, ["recommendations", str(path), "--json"]).stdout)
    assert len(recs) == 36
    assert [r["number"] for r in recs] == list(range(1, 37))
    assert all(isinstance(r["addressees"], list) for r in recs)
    assert set(next(r for r in recs if r["number"] == 4)["addressees"]) == {"HM Treasury", "DHSC"}
    with_parts = json.loads(cli_runner.invoke(cli, ["recommendations", str(path), "--parts", "--json"]).stdout)
    assert len(with_parts) == 36 + 18

    table = cli_runner.invoke(cli, ["recommendations", str(path)])
    assert table.exit_code == 0 and "R36" in table.stdout


def test_cli_listing_a_missing_database_is_a_clear_error(cli_runner, tmp_path):
    result = cli_runner.invoke(cli, ["documents", str(tmp_path / "none.db")])
    assert result.exit_code == 1
    assert "no such database" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "none.db").exists()


def test_cli_folder_ingestion_is_recursive(cli_runner, tmp_path):
    folder = tmp_path / "corpus"
    (folder / "responses" / "2024").mkdir(parents=True)
    (folder / "evidence").mkdir()
    (folder / "top.md").write_text("---\ntitle: Top level note\nkind: evidence\n---\n\nA note at the top level.\n")
    (folder / "responses" / "2024" / "deep.md").write_text(RESPONSE_MD)
    (folder / "evidence" / "plain.txt").write_text("A plain text note about ferry timetables.\n")
    (folder / "evidence" / "picture.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    path = tmp_path / "t.db"
    result = cli_runner.invoke(cli, ["ingest", str(path), str(folder), "--kind", "evidence"])
    assert result.exit_code == 0, result.output
    assert "3 ingested" in result.stderr
    sources = {Path(r[0]).name for r in tracker.open_db(path).execute("select source_path from documents")}
    assert sources == {"top.md", "deep.md", "plain.txt"}


# --- seeds (real documents, read at run time) ---------------------------------------------------------

SEED_FILES = (
    "hewitt-2023-01-18-letter-draft-principles.txt",
    "impower-2023-04-05-case-for-glaziers.txt",
    "kingsfund-2023-04-14-six-key-takeaways.txt",
    "livi-2023-key-considerations.txt",
    "mip-2023-04-04-response.txt",
)


@pytest.fixture(scope="module")
def seeds_db(seeds_dir, tmp_path_factory, analyzer):
    missing = [name for name in SEED_FILES if not (seeds_dir / name).exists()]
    if missing:
        pytest.skip(f"seed files missing: {missing}")
    db = tracker.open_db(tmp_path_factory.mktemp("seeds") / "seeds.db")
    results = [tracker.ingest(db, str(seeds_dir / name), {"kind": "stakeholder_response"}, analyzer=analyzer) for name in SEED_FILES]
    return db, results


def seed_document(db, prefix: str) -> dict:
    return next(db.query("select * from documents where source_path like ?", [f"%/{prefix}%"]))


def test_seeds_all_ingested(seeds_db):
    db, results = seeds_db
    assert [r.status for r in results] == ["ingested"] * 5
    assert all(r.passages > 5 for r in results)
    assert db.execute("select count(*) from documents where kind = 'stakeholder_response'").fetchone()[0] == 5


def test_seed_passages_slice_back(seeds_db):
    db, _ = seeds_db
    rows = list(db.query("select p.start, p.end, p.text, d.text as document from passages p join documents d on d.id = p.document_id"))
    assert len(rows) > 50
    assert all(row["document"][row["start"] : row["end"]] == row["text"] for row in rows)
    for start, end, text, document in db.execute("select e.start, e.end, e.text, d.text from entities e join documents d on d.id = e.document_id"):
        assert document[start:end] == text


def test_seed_impower_mentions_and_bodies(seeds_db):
    db, _ = seeds_db
    document = seed_document(db, "impower")
    mentions = list(db.query("select * from mentions where document_id = ? order by start", [document["id"]]))
    assert [(m["ref"], m["ref_text"]) for m in mentions] == [("1", "Recommendation 1"), ("2", "Recommendation 2")]
    text = document["text"]
    second = mentions[1]
    assert text[second["start"] - 1] == "(" and text[second["end"]] == ")"  # written "(Recommendation 2)"
    for mention in mentions:
        assert text[mention["start"] : mention["end"]] == mention["ref_text"]
        passage = db.execute("select start, end from passages where id = ?", [mention["passage_id"]]).fetchone()
        assert passage[0] <= mention["start"] < passage[1]
        entities = {row[0] for row in db.execute("select entity from entities where passage_id = ?", [mention["passage_id"]])}
        assert entities, f"no bodies named in the passage holding {mention['ref_text']}"
    first_entities = {row[0] for row in db.execute("select entity from entities where passage_id = ?", [mentions[0]["passage_id"]])}
    assert "County Councils Network" in first_entities


def test_seed_boilerplate_and_titles(seeds_db):
    db, _ = seeds_db
    for title, text, source in db.execute("select title, text, source_path from documents"):
        assert "Skip to navigation" not in text, source
        assert "Skip to main content" not in text, source
        assert title and not title.lower().startswith("skip to"), source
    assert seed_document(db, "impower")["title"].startswith("Hewitt review")


def test_seed_kingsfund_links_leave_no_urls(seeds_db):
    db, _ = seeds_db
    text = seed_document(db, "kingsfund")["text"]
    assert "(https://" not in text
    assert "(/publications" not in text


# --- kill test ---------------------------------------------------------------------------------------

KILL_SCRIPT = """
import sys
import tracker
module = sys.modules["tracker.ingest"]
original = module.resolve_review  # the first call inside the write transaction
def marked(*args, **kwargs):
    print("WRITING", flush=True)
    return original(*args, **kwargs)
module.resolve_review = marked
db = tracker.open_db(sys.argv[1])
print("OPEN", flush=True)
result = tracker.ingest(db, sys.argv[2], {"kind": "evidence"})
print("DONE", result.status, result.passages, flush=True)
"""


def generate_document(path: Path, size: int) -> None:
    rng = random.Random(20240312)
    subjects = ["The harbour board", "Each ferry operator", "The island council", "Residents", "The review panel",
                "Local schools", "The regional transport body", "NHS England", "HM Treasury"]  # fmt: skip
    verbs = ["should publish", "reported on", "will consider", "has reviewed", "must explain", "agreed to fund"]
    objects = ["the winter timetable", "its annual accounts", "the fare structure", "a new pier", "staff training plans"]
    parts, total, n = [], 0, 0
    while total < size:
        n += 1
        sentences = [f"{rng.choice(subjects)} {rng.choice(verbs)} {rng.choice(objects)} in item {n}." for _ in range(rng.randint(2, 6))]
        if n % 50 == 0:
            sentences.append(f"See Recommendation {n % 36 + 1}.")
        paragraph = " ".join(sentences) if n % 40 else f"Section {n // 40} on island services"
        parts.append(paragraph)
        total += len(paragraph) + 2
    path.write_text("\n\n".join(parts), encoding="utf-8")


def run_and_kill(db_path: Path, source: Path, mode: str, delay: float, outcome: dict) -> None:
    """mode 'write': SIGKILL `delay` s after the write transaction starts; 'early': `delay` s after opening;
    'none': let it finish."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-c", KILL_SCRIPT, str(db_path), str(source)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=db_path.parent,
    )  # fmt: skip
    seen = []
    wait_for = {"write": "WRITING", "early": "OPEN"}.get(mode)
    try:
        for line in process.stdout:
            seen.append(line.strip())
            if wait_for and line.startswith(wait_for):
                time.sleep(delay)
                process.send_signal(signal.SIGKILL)
                break
        process.wait(timeout=180)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    outcome.update(returncode=process.returncode, seen=seen, stderr=process.stderr.read())


def test_kill_during_ingest_never_leaves_a_partial_document(tmp_path, analyzer):
    source = tmp_path / "large.txt"
    generate_document(source, 1_500_000)
    # SIGKILL once while segmenting (before any write) and twice inside the write transaction.
    plans = [("early", "early", 0.5), ("w0", "write", 0.0), ("w1", "write", 0.03)]
    outcomes: dict[str, dict] = {name: {} for name, _, _ in plans}
    threads = [threading.Thread(target=run_and_kill, args=(tmp_path / f"{name}.db", source, mode, delay, outcomes[name])) for name, mode, delay in plans]
    for thread in threads:
        thread.start()
    clean_db = tracker.open_db(tmp_path / "clean.db")  # the reference: a clean ingest of the same file
    assert tracker.ingest(clean_db, str(source), {"kind": "evidence"}, analyzer=analyzer).status == "ingested"
    reference = counts(clean_db)
    assert reference["documents"] == 1 and reference["passages"] > 1000 and reference["entities"] > 0
    for thread in threads:
        thread.join(timeout=240)
    assert outcomes["early"]["returncode"] == -signal.SIGKILL, outcomes["early"]
    for name, mode, _ in plans:
        outcome = outcomes[name]
        assert outcome["returncode"] in (0, -signal.SIGKILL), outcome.get("stderr")
        if mode == "write":
            assert "WRITING" in outcome["seen"], outcome.get("stderr")
        db = tracker.open_db(tmp_path / f"{name}.db", create=False)
        assert db.execute("pragma integrity_check").fetchone()[0] == "ok"
        found = counts(db)
        if found["documents"] == 0:
            assert (found["passages"], found["entities"], found["mentions"]) == (0, 0, 0), name
            assert outcome["returncode"] == -signal.SIGKILL
        else:
            assert found == reference, name  # all of it, never part of it
        if name == "early":
            assert found["documents"] == 0  # killed long before the write transaction
        orphans = db.execute("select count(*) from passages where document_id not in (select id from documents)")
        assert orphans.fetchone()[0] == 0


# --- the government response and evidence fixtures -----------------------------------------------------


def test_government_response_ingested_against_the_review(db, review_html, fixture_file):
    expected = json.loads(fixture_file("government_response_expected.json").read_text(encoding="utf-8"))
    response_path = fixture_file("government_response.html")
    tracker.ingest(db, str(review_html), {"kind": "review"})
    result = tracker.ingest(db, str(response_path), {"kind": "government_response"})
    assert result.status == "ingested" and result.kind == "government_response"
    assert result.recommendations == 0  # only a review's recommendations are parsed
    assert db.execute("select count(*) from recommendations where parent_id is null").fetchone()[0] == 36
    text = db.execute("select text from documents where id = ?", [result.document_id]).fetchone()[0]
    assert "essential cookies" not in text and "Fictional government response" not in text
    for number in expected:
        rows = db.execute(
            "select count(*) from passages where document_id = ? and heading_path like ?",
            [result.document_id, f"%> Recommendation {number} > Government response"],
        ).fetchone()[0]
        assert rows >= 1, number
    refs = {row[0]: row[1] for row in db.execute(
        """select m.ref, r.number from mentions m join recommendations r on r.id = m.recommendation_id
        where m.document_id = ?""", [result.document_id])}  # fmt: skip
    assert set(expected) <= set(refs)
    assert all(str(number) == ref for ref, number in refs.items())


def test_evidence_fixtures_ingested_with_their_metadata_and_mentions(cli_runner, tmp_path, fixture_file):
    expected = json.loads(fixture_file("evidence_expected.json").read_text(encoding="utf-8"))
    files = {name: fixture_file(name) for name in expected if not name.startswith("_")}
    db_path = tmp_path / "t.db"
    review = fixture_file("review_govuk.html")
    assert cli_runner.invoke(cli, ["ingest", str(db_path), str(review), "--kind", "review"]).exit_code == 0
    # The fixtures declare finer kinds (guidance, monitoring_report, ...) than the tracker's; store them as evidence.
    result = cli_runner.invoke(cli, ["ingest", str(db_path), *map(str, files.values()), "--kind", "evidence"])
    assert result.exit_code == 0, result.output
    db = tracker.open_db(db_path)
    for name, path in files.items():
        row = db.execute("select id, kind, published, assessor, url from documents where source_path = ?", [str(path)]).fetchone()
        assert row is not None, name
        assert row[1] == "evidence"
        assert row[2] and row[4].startswith("https://")
        assert row[3] == expected["_assessor"][name]
        refs = {r[0] for r in db.execute("select ref from mentions where document_id = ?", [row[0]])}
        assert set(expected[name]) <= refs, name
        targets = expected.get("_target_dates", {}).get(name, {})
        text = db.execute("select text from documents where id = ?", [row[0]]).fetchone()[0]
        assert all(target["text"] in text for target in targets.values()), name
