"""Document identity (issue 13, item 1) and metadata on unchanged bytes (item 5): a source is known by
its resolved absolute path or URL and its bytes; two different files never replace each other, and
the result says which document was updated and why."""

from __future__ import annotations

from pathlib import Path

import tracker
from tracker.cli import cli


def note(title: str, body: str) -> str:
    return f"---\ntitle: {title}\nkind: evidence\n---\n\n{body}\n"


def texts(db) -> list[str]:
    return [row[0] for row in db.execute("select text from documents order by id")]


def test_two_files_named_alike_in_two_folders_stay_two_documents(cli_runner, tmp_path, monkeypatch):
    (tmp_path / "north").mkdir()
    (tmp_path / "south").mkdir()
    (tmp_path / "north" / "note.md").write_text(note("North note", "The northern pier reopened in May."))
    (tmp_path / "south" / "note.md").write_text(note("South note", "The southern ferry was cancelled in June."))
    db_path = tmp_path / "t.db"
    monkeypatch.chdir(tmp_path / "north")
    first = cli_runner.invoke(cli, ["ingest", str(db_path), "note.md"])
    monkeypatch.chdir(tmp_path / "south")
    second = cli_runner.invoke(cli, ["ingest", str(db_path), "note.md"])
    assert first.exit_code == 0 and second.exit_code == 0, second.output
    assert second.stdout.startswith("ingested"), second.stdout  # not "updated": another file
    db = tracker.open_db(db_path)
    assert len(texts(db)) == 2
    assert any("northern pier" in text for text in texts(db)) and any("southern ferry" in text for text in texts(db))
    paths = {row[0] for row in db.execute("select source_path from documents")}
    assert paths == {str((tmp_path / "north" / "note.md").resolve()), str((tmp_path / "south" / "note.md").resolve())}


def test_changed_file_says_which_document_it_replaced_and_why(db, tmp_path):
    path = tmp_path / "note.md"
    path.write_text(note("Ferry note", "The first version says the pier is open."))
    first = tracker.ingest(db, str(path))
    path.write_text(note("Ferry note", "The second version says the pier is closed."))
    second = tracker.ingest(db, str(path))
    assert second.status == "updated"
    assert second.document_id == first.document_id  # the same document, read again
    assert f"document {first.document_id} replaced" in second.note and "changed since it was ingested" in second.note
    assert texts(db) == ["The second version says the pier is closed."]


def test_one_file_under_different_spellings_is_one_document(db, tmp_path, monkeypatch):
    folder = tmp_path / "docs"
    folder.mkdir()
    path = folder / "note.md"
    path.write_text(note("Ferry note", "The first version."))
    monkeypatch.chdir(tmp_path)
    assert tracker.ingest(db, "docs/note.md").status == "ingested"
    path.write_text(note("Ferry note", "The second version."))
    assert tracker.ingest(db, "./docs/../docs/note.md").status == "updated"
    path.write_text(note("Ferry note", "The third version."))
    assert tracker.ingest(db, str(path)).status == "updated"
    assert texts(db) == ["The third version."]


def test_same_bytes_from_another_path_are_named(db, tmp_path):
    (tmp_path / "a.md").write_text(note("Shared", "Identical words in two files."))
    (tmp_path / "b.md").write_bytes((tmp_path / "a.md").read_bytes())
    first = tracker.ingest(db, str(tmp_path / "a.md"))
    again = tracker.ingest(db, str(tmp_path / "b.md"))
    assert again.status == "unchanged" and again.document_id == first.document_id
    assert f"document {first.document_id}" in again.note and str((tmp_path / "a.md").resolve()) in again.note


def test_cli_reports_the_replaced_document(cli_runner, tmp_path):
    path = tmp_path / "note.md"
    db_path = tmp_path / "t.db"
    path.write_text(note("Ferry note", "Version one."))
    cli_runner.invoke(cli, ["ingest", str(db_path), str(path)])
    path.write_text(note("Ferry note", "Version two."))
    result = cli_runner.invoke(cli, ["ingest", str(db_path), str(path)])
    [line] = [line for line in result.stdout.splitlines() if str(path) in line]
    assert line.startswith("updated") and "document 1 replaced" in line and "changed" in line


def test_legacy_relative_path_is_healed_when_bytes_match(db, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("old.md").write_text(note("Old", "Stored by an older tracker."))
    result = tracker.ingest(db, "old.md")
    db.execute("update documents set source_path = 'old.md' where id = ?", [result.document_id])  # as older versions stored it
    again = tracker.ingest(db, "old.md")
    assert again.status == "unchanged"
    assert db.execute("select source_path from documents").fetchone()[0] == str((tmp_path / "old.md").resolve())


# --- metadata given for unchanged bytes (item 5) -----------------------------------------------------


def test_changed_date_on_unchanged_file_updates_the_metadata(cli_runner, tmp_path):
    path = tmp_path / "plain.txt"
    path.write_text("A plain note about ferries.\n")
    db_path = tmp_path / "t.db"
    args = ["ingest", str(db_path), str(path), "--kind", "evidence"]
    assert cli_runner.invoke(cli, [*args, "--date", "2023-04-04"]).exit_code == 0
    result = cli_runner.invoke(cli, [*args, "--date", "2023-05"])
    assert result.exit_code == 0, result.output
    [line] = [line for line in result.stdout.splitlines() if str(path) in line]
    assert line.startswith("updated") and "metadata updated" in line and "2023-05" in line
    db = tracker.open_db(db_path)
    assert db.execute("select published, date_precision from documents").fetchone() == ("2023-05", "month")
    assert db.execute("select count(*) from passages").fetchone()[0] == 1  # not read again


def test_impossible_date_is_checked_even_for_unchanged_bytes(cli_runner, tmp_path):
    path = tmp_path / "plain.txt"
    path.write_text("A plain note about ferries.\n")
    db_path = tmp_path / "t.db"
    assert cli_runner.invoke(cli, ["ingest", str(db_path), str(path), "--kind", "evidence"]).exit_code == 0
    result = cli_runner.invoke(cli, ["ingest", str(db_path), str(path), "--kind", "evidence", "--date", "2023-02-30"])
    assert result.exit_code == 1
    assert "February 2023 has 28 days" in result.stderr and "Traceback" not in result.output


def test_changed_kind_reads_the_document_again(db, tmp_path):
    path = tmp_path / "plain.txt"
    path.write_text("A plain note about ferries.\n")
    first = tracker.ingest(db, str(path), {"kind": "evidence"})
    again = tracker.ingest(db, str(path), {"kind": "stakeholder_response"})
    assert again.status == "updated" and again.document_id == first.document_id
    assert "kind changed from 'evidence' to 'stakeholder_response'" in again.note
    assert db.execute("select kind from documents").fetchone()[0] == "stakeholder_response"
