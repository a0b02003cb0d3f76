"""Publishing: FTS5 indexes, views, the metadata written in tracker/data/metadata.yaml, and the
publish/serve commands. The published database is conftest's `published_db`."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from conftest import REGISTER

import tracker
import tracker.serve as serving
from datasette_plugins.review_tracker import prepare_connection
from tracker.corpus import load_register
from tracker.publish import FTS_COLUMNS, VIEWS, is_published, metadata, presentation, publish
from tracker.serve import serve_args

GOVERNMENT_QUOTE = "The government did not accept the call to raise the prevention share of budgets by one percentage point over five years."


def connect(path: Path) -> sqlite3.Connection:
    """A connection with the SQL functions the plugin registers (the canned queries use one)."""
    conn = sqlite3.connect(path)
    prepare_connection(conn)
    return conn


def test_publish_builds_fts_and_views(published_db):
    conn = sqlite3.connect(published_db)
    names = {row[0] for row in conn.execute("select name from sqlite_master")}
    for table in FTS_COLUMNS:
        assert f"{table}_fts" in names and f"{table}_ai" in names, table
    assert set(VIEWS) <= names
    # porter stemming: "supporting" finds the passage that says "support"
    hits = conn.execute("select p.text from passages_fts join passages p on p.id = passages_fts.rowid where passages_fts match 'supporting'").fetchall()
    assert [text for (text,) in hits] == ["We strongly support the prevention share: shifting budgets towards prevention is overdue and councils welcome it."]
    progress = conn.execute("select count(*) from recommendation_progress").fetchone()[0]
    assert progress == conn.execute("select count(*) from recommendations where parent_id is null").fetchone()[0] == 30
    rejected = conn.execute(
        "select label, position, quote, url, wording from government_positions where position = 'not_accepted' and method != 'register'"
    ).fetchall()
    assert rejected == [("R1", "not_accepted", GOVERNMENT_QUOTE, "https://example.org/dhsc/response", "summary")]  # a Markdown digest: our words
    recorded = conn.execute(
        "select label, position, method, decides, date, url from government_positions where method = 'register' order by recommendation_id"
    ).fetchall()
    assert len(recorded) == 11 and recorded[0][:5] == ("R1", "not_accepted", "register", 1, "2023-06-14") and recorded[0][5].startswith("https://www.gov.uk/")
    stances = dict(conn.execute("select link_id, stance from stakeholder_positions").fetchall())
    assert stances == {"L-stance-1": "support", "L-stance-2": "concern", "L-stance-3": "neutral"}
    decisions = dict(conn.execute("select link_id, decision from stakeholder_positions where decision is not null").fetchall())
    assert decisions == {"L-stance-3": "reject"}
    timeline = conn.execute("select date, signal, target_date, assessor, decision from evidence_timeline order by link_id").fetchall()
    assert timeline == [("2025-03-13", "reversed", "2025-12-31", "government", None), ("2025-03-13", "implemented", None, "government", "confirm")]


def test_views_carry_what_the_plugin_reads(published_db):
    conn = sqlite3.connect(published_db)
    for view in ("government_positions", "stakeholder_positions", "evidence_timeline"):
        columns = {row[1] for row in conn.execute(f"pragma table_info({view})")}
        assert {"passage_id", "cues", "document_kind", "target_date", "assessor", "decision", "recommendation_id"} <= columns, view
    row = conn.execute("select document_kind, assessor from government_positions where link_id = 'L-pos-1'").fetchone()
    assert row == ("government_response", "government")
    assert conn.execute("select assessor from stakeholder_positions where link_id = 'L-stance-3'").fetchone() == ("independent",)  # no assessor declared


def test_publish_is_idempotent_and_triggers_keep_fts_current(tmp_path):
    db = tracker.open_db(tmp_path / "t.db")
    load_register(db, REGISTER)
    first = publish(db)
    second = publish(db)
    assert first == second and is_published(db)
    db["recommendations"].update(1, {"title": "Zanzibar widget"})
    assert db.execute("select rowid from recommendations_fts where recommendations_fts match 'zanzibar'").fetchall() == [(1,)]
    publish(db, rebuild=True)
    assert db.execute("select count(*) from recommendations_fts where recommendations_fts match 'zanzibar'").fetchone()[0] == 1


def test_a_view_from_an_older_version_is_not_published(tmp_path):
    db = tracker.open_db(tmp_path / "t.db")
    load_register(db, REGISTER)
    publish(db)
    db.create_view("evidence_timeline", "select 1 as date", replace=True)
    assert not is_published(db)
    publish(db)
    assert is_published(db)


def test_publish_checkpoints_the_wal_for_immutable_readers(tmp_path):
    path = tmp_path / "t.db"
    db = tracker.open_db(path)
    load_register(db, REGISTER)
    publish(db)
    reader = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
    assert reader.execute("select count(*) from recommendations").fetchone()[0] == 30


def described(meta: dict) -> dict:
    (database,) = meta["databases"].values()
    return database


def test_metadata_yaml_describes_only_what_exists(published_db):
    """Every table, view, column, facet, sort and label column of data/metadata.yaml exists in a
    published database, and every view is described."""
    conn = sqlite3.connect(published_db)
    names = {row[0] for row in conn.execute("select name from sqlite_master where type in ('table', 'view')")}
    tables = presentation()["database"]["tables"]
    assert set(VIEWS) <= set(tables) and set(tables) <= names
    for table, spec in tables.items():
        columns = {row[1] for row in conn.execute(f"pragma table_xinfo([{table}])")}
        assert spec["description"] and spec["columns"], table
        for column in spec["columns"]:
            assert column in columns, f"{table}.{column} is described but does not exist"
        for column in spec.get("facets", []) + spec.get("sortable_columns", []) + [spec.get("label_column")] * ("label_column" in spec):
            assert column in columns, f"{table}.{column} is configured but does not exist"
        if "fts_table" in spec:
            assert spec["fts_table"] in names and spec["fts_pk"] in columns
    for hidden in presentation()["hidden"]:
        assert hidden in names


@pytest.mark.parametrize(
    ("query", "params", "columns", "expected"),
    [
        (
            "government_rejected",
            {},
            ("label", "method", "wording"),
            [("R1", "register", "summary"), ("national-health-mission", "register", "summary")],
        ),
        ("stakeholders_on", {"label": "R1"}, ("publisher", "stance"), [("Local Government Association", "support")]),
        ("stakeholders_on", {"label": "prevention-share"}, ("publisher", "stance"), [("Local Government Association", "support")]),  # slug
        ("stakeholders_on", {"label": "Recommendation 1"}, ("publisher", "stance"), [("Local Government Association", "support")]),  # number
        ("stakeholders_on", {"label": "dental-reform"}, ("label", "stance"), [("dental-reform", "neutral")]),
        ("stakeholders_on", {"label": ""}, ("label", "stance"), [("R1", "support")]),  # blank: Recommendation 1
        ("stakeholders_on", {"label": "R99"}, ("publisher",), []),
        ("evidence_since", {"since": "2025-01-01"}, ("label", "signal"), [("national-priorities", "implemented"), ("running-costs", "reversed")]),
        ("evidence_since", {"since": "2026"}, ("label",), []),
        ("evidence_since", {"since": ""}, ("label",), []),  # blank: the last twelve months (the fixtures are older)
    ],
)
def test_canned_queries_return_their_rows(published_db, query, params, columns, expected):
    sql = described(metadata(published_db))["queries"][query]["sql"]
    assert "{" not in sql  # every generated part filled in
    cursor = connect(published_db).execute(sql, params)
    names = [d[0] for d in cursor.description]
    assert [tuple(row[names.index(c)] for c in columns) for row in cursor] == expected


def test_metadata_fills_in_the_database(published_db):
    meta = metadata(published_db)
    assert meta["title"] == presentation()["instance"]["title"] and "Apache-2.0" in meta["license"] and "source URL" in meta["license"]
    assert meta["source"].startswith("The Hewitt Review") and meta["source_url"].startswith("https://")
    assert list(meta["databases"]) == [published_db.stem]
    tables = described(meta)["tables"]
    assert tables["statuses"]["columns"]["status"].startswith("no_position_found, deferred, noted_no_commitment")
    for hidden in ("embeddings", "_sqlite_migrations", "passages_fts", "passages_fts_data", "documents_fts_idx"):
        assert tables[hidden]["hidden"] is True
    assert "recommendations_fts_content" not in tables  # shadow tables are hidden only when they exist
    assert tables["government_positions"]["columns"]["method"] == tables["links"]["columns"]["method"]  # one description, shared
    assert "hidden" not in presentation()["database"]["tables"].get("embeddings", {})  # the loaded YAML is not changed


def test_metadata_without_a_database_file(tmp_path):
    meta = metadata(tmp_path / "absent.db")
    assert list(meta["databases"]) == ["absent"] and meta["source"] == presentation()["default_source"] and meta["source_url"] is None
    assert described(meta)["tables"]["passages_fts"]["hidden"] is True


def test_cli_publish_writes_metadata(published_db, cli_runner, tmp_path):
    from tracker.cli import cli

    out = tmp_path / "meta.json"
    result = cli_runner.invoke(cli, ["publish", str(published_db), "--metadata-out", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text()) == metadata(published_db)
    assert f"metadata: {out}" in result.output


def test_cli_publish_and_serve_help(cli_runner):
    from tracker.cli import cli

    for command in ("publish", "serve"):
        result = cli_runner.invoke(cli, [command, "--help"])
        assert result.exit_code == 0 and "DB" in result.output
    assert "--immutable" in cli_runner.invoke(cli, ["serve", "--help"]).output


def test_cli_publish_missing_database(cli_runner, tmp_path):
    from tracker.cli import cli

    result = cli_runner.invoke(cli, ["publish", str(tmp_path / "nope.db")])
    assert result.exit_code == 1 and "no such database" in result.output


def test_serve_args_are_live_by_default(tmp_path):
    args = serve_args(tmp_path / "t.db", tmp_path / "metadata.json", port=9001)
    assert args[1:4] == ["-m", "datasette", "serve"] and args[4] == str(tmp_path / "t.db") and "-i" not in args
    assert args[args.index("--port") + 1] == "9001" and args[args.index("-m", 4) + 1] == str(tmp_path / "metadata.json")
    assert serve_args(tmp_path / "t.db", tmp_path / "m.json", immutable=True)[4:6] == ["-i", str(tmp_path / "t.db")]


def test_cli_serve_runs_datasette_with_metadata(published_copy, cli_runner, tmp_path, monkeypatch):
    from tracker.cli import cli

    db = published_copy
    calls, envs = [], []
    monkeypatch.setattr(serving, "run_datasette", lambda args, env: calls.append(args) or envs.append(env) or 0)
    result = cli_runner.invoke(cli, ["serve", str(db), "--port", "9123"])
    assert result.exit_code == 0, result.output
    assert cli_runner.invoke(cli, ["serve", str(db), "--immutable"]).exit_code == 0
    assert cli_runner.invoke(cli, ["serve", str(db), "--no-immutable"]).exit_code == 0  # deprecated alias
    args, immutable_args, alias_args = calls
    assert "-i" in immutable_args and "-i" not in alias_args
    assert "-i" not in args and str(db) in args and args[args.index("--port") + 1] == "9123"
    metadata_path = Path(args[args.index("-m", 4) + 1])
    assert metadata_path == tmp_path / "metadata.json" and "copy" in json.loads(metadata_path.read_text())["databases"]
    assert cli_runner.invoke(cli, ["serve", str(tmp_path / "missing.db")]).exit_code == 1
    assert envs[0] == {"TRACKER_USERS": str(tmp_path / "copy.users.json")}  # reviewers' accounts beside the database
    assert cli_runner.invoke(cli, ["serve", str(db), "--users", str(tmp_path / "team.json")]).exit_code == 0
    assert envs[-1] == {"TRACKER_USERS": str(tmp_path / "team.json")}


def test_serve_publishes_an_unpublished_database(tmp_path, monkeypatch):
    db = tracker.open_db(tmp_path / "raw.db")
    load_register(db, REGISTER)
    db.close()
    calls = []
    monkeypatch.setattr(serving, "run_datasette", lambda args, env: calls.append(args) or 0)
    assert serving.serve(tmp_path / "raw.db", port=9124) == 0
    assert "-i" not in calls[0] and is_published(tracker.open_db(tmp_path / "raw.db"))
