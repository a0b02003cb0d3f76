"""Publishing: FTS5 indexes, views, generated Datasette metadata and the publish/serve commands.

`build_published_db` makes the small database that test_datasette.py and test_browser.py share: the
Hewitt register, four Markdown documents ingested through the library (one of them hostile HTML),
links, statuses, status history and overrides inserted directly, then `publish`. No embedding model.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

import tracker
from tracker.corpus import load_register
from tracker.ingest import ingest
from tracker.publish import FTS_COLUMNS, QUERIES, VIEWS, is_published, metadata, publish, serve_args, write_metadata

ROOT = Path(__file__).resolve().parents[1]
REGISTER = ROOT / "corpus" / "hewitt-2023" / "review.yaml"
XSS_SCRIPT = "<script>alert(1)</script>"
XSS_IMG = "<img src=x onerror=alert(1)>"

DOCUMENTS = {
    "lga.md": """---
kind: stakeholder_response
title: "Councils on the Hewitt Review"
publisher: Local Government Association
date: 2023-04-04
url: https://example.org/lga/hewitt
assessor: independent
---
# Prevention

We strongly support the prevention share: shifting budgets towards prevention is overdue and councils welcome it.

# Running costs

We are concerned that cuts to integrated care board running costs will undermine the partnerships the review praises.
""",
    "government.md": """---
kind: government_response
title: "Government response to the Hewitt Review"
publisher: Department of Health and Social Care
date: 2023-06-14
url: https://example.org/dhsc/response
assessor: government
---
# Prevention

The government did not accept the call to raise the prevention share of budgets by one percentage point over five years.

# Priorities

The government accepted the case for far fewer national targets and a small core set of priorities.
""",
    "evidence.md": """---
kind: evidence
title: "ICBs ordered to halve running costs"
publisher: NHS England
date: 2025-03-13
url: https://example.org/nhse/running-costs
assessor: government
---
# Running costs

Integrated care boards were told to cut their running costs by half by the third quarter of 2025/26.

# Targets

The planning guidance cut national objectives to a shorter list of priorities for the coming year.
""",
    "hostile.md": f"""---
kind: stakeholder_response
title: "Hostile {XSS_SCRIPT} digest"
publisher: "Mischief {XSS_IMG} Ltd"
date: 2023-05-01
url: https://example.org/hostile
---
# Heading {XSS_SCRIPT}

Our view on dental reform: {XSS_SCRIPT} and {XSS_IMG} appear inside this passage about dentistry contracts.
""",
}

_BUILT: dict[str, Path] = {}


def passage_id(db, document_title: str, contains: str) -> int:
    row = db.execute(
        "select p.id from passages p join documents d on d.id = p.document_id where d.title = ? and p.text like ?",
        [document_title, f"%{contains}%"],
    ).fetchone()
    assert row, f"no passage of {document_title!r} contains {contains!r}"
    return row[0]


def build_published_db(folder: Path) -> Path:
    """The shared test database (built once per session, in `folder`)."""
    if "db" in _BUILT:
        return _BUILT["db"]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "tracker.db"
    db = tracker.open_db(path)
    load_register(db, REGISTER)
    for name, text in DOCUMENTS.items():
        (folder / name).write_text(text, encoding="utf-8")
        result = ingest(db, str(folder / name), {"review": "hewitt-2023"})
        assert result.status == "ingested", result
    rec = {row["slug"]: row for row in db.query("select id, slug, key, label from recommendations")}
    docs = {row["title"]: row["id"] for row in db.query("select id, title from documents")}
    lga, gov, nhse = "Councils on the Hewitt Review", "Government response to the Hewitt Review", "ICBs ordered to halve running costs"
    hostile = f"Hostile {XSS_SCRIPT} digest"
    links = [
        ("L-stance-1", passage_id(db, lga, "support the prevention share"), docs[lga], "prevention-share", "stance", "support", "explicit", None),
        ("L-stance-2", passage_id(db, lga, "running costs"), docs[lga], "running-costs", "stance", "concern", "semantic", 0.61),
        ("L-stance-3", passage_id(db, hostile, "dental reform"), docs[hostile], "dental-reform", "stance", "neutral", "semantic", 0.55),
        ("L-pos-1", passage_id(db, gov, "did not accept"), docs[gov], "prevention-share", "position", "not_accepted", "explicit", None),
        ("L-pos-2", passage_id(db, gov, "fewer national targets"), docs[gov], "national-priorities", "position", "accepted", "explicit", None),
        ("L-sig-1", passage_id(db, nhse, "cut their running costs"), docs[nhse], "running-costs", "signal", "reversed", "explicit", None),
        ("L-sig-2", passage_id(db, nhse, "planning guidance"), docs[nhse], "national-priorities", "signal", "implemented", "semantic", 0.58),
    ]
    db["links"].insert_all(
        {"id": link_id, "passage_id": pid, "document_id": did, "recommendation_id": rec[slug]["id"], "task": task, "label": label,
         "method": method, "score": score, "quote": db["passages"].get(pid)["text"], "target_date": "2025-12-31" if link_id == "L-sig-1" else None}
        for link_id, pid, did, slug, task, label, method, score in links
    )  # fmt: skip
    statuses = {
        "prevention-share": ("not_accepted", "2023-06-14", "L-pos-1", gov),
        "national-priorities": ("implemented", "2025-03-13", "L-sig-2", nhse),
        "running-costs": ("reversed", "2025-03-13", "L-sig-1", nhse),
        "harps": ("in_progress", "2024-07-26", None, None),
    }
    rows = []
    for slug, row in rec.items():
        status, since, link_id, doc_title = statuses.get(slug, ("awaiting_response", None, None, None))
        link = db["links"].get(link_id) if link_id else None
        rows.append(
            {"recommendation_id": row["id"], "status": status, "since": since, "reason": f"Test reason for {slug}.",
             "confidence": 0.9 if link else 0.5, "position": "not_accepted" if slug == "prevention-share" else None,
             "deciding_link": link_id, "quote": link["quote"] if link else None, "document_id": docs.get(doc_title),
             "document_title": doc_title, "publisher": None, "date": since, "url": "https://example.org/dhsc/response" if link else None,
             "government_view": None, "independent_view": None, "disagreement": 1 if slug == "running-costs" else 0,
             "override_note": "Checked by hand" if slug == "harps" else None, "evidence": "[]", "as_of": "2026-01-01"}
        )  # fmt: skip
    db["statuses"].insert_all(rows, pk="recommendation_id")
    db["status_history"].insert_all(
        [
            {"recommendation_id": rec["prevention-share"]["id"], "from_status": "awaiting_response", "to_status": "not_accepted", "date": "2023-06-14",
             "link_id": "L-pos-1", "quote": "did not accept", "document_id": docs[gov], "reason": "Rejected"},
            {"recommendation_id": rec["national-priorities"]["id"], "from_status": "awaiting_response", "to_status": "accepted_no_progress",
             "date": "2023-06-14", "link_id": "L-pos-2", "quote": "accepted", "document_id": docs[gov], "reason": "Accepted"},
            {"recommendation_id": rec["national-priorities"]["id"], "from_status": "accepted_no_progress", "to_status": "implemented",
             "date": "2025-03-13", "link_id": "L-sig-2", "quote": "cut national objectives", "document_id": docs[nhse], "reason": "Done"},
            {"recommendation_id": rec["running-costs"]["id"], "from_status": "awaiting_response", "to_status": "reversed", "date": "2025-03-13",
             "link_id": "L-sig-1", "quote": "cut by half", "document_id": docs[nhse], "reason": "Cut"},
            {"recommendation_id": rec["harps"]["id"], "from_status": "awaiting_response", "to_status": "in_progress", "date": "2024-07-26",
             "link_id": None, "quote": "Checked by hand", "document_id": None, "reason": "Set by a person"},
        ]
    )  # fmt: skip
    db["overrides"].insert_all(
        [
            {"action": "status", "review": "hewitt-2023", "recommendation_key": "harps", "status": "in_progress", "note": "Checked by hand",
             "source": "https://example.org/harps", "effective": "2024-07-26", "created_at": "2026-01-01T00:00:00+00:00"},
            {"action": "reject", "link_id": "L-stance-3", "note": "Not about dental reform", "effective": "2026-01-01", "created_at": "2026-01-01T00:00:00+00:00"},
        ]
    )  # fmt: skip
    publish(db)
    db.close()
    write_metadata(path)
    _BUILT["db"] = path
    return path


@pytest.fixture(scope="session")
def published_db(tmp_path_factory) -> Path:
    return build_published_db(tmp_path_factory.getbasetemp() / "published")


def test_publish_builds_fts_and_views(published_db):
    conn = sqlite3.connect(published_db)
    names = {row[0] for row in conn.execute("select name from sqlite_master")}
    for table in FTS_COLUMNS:
        assert f"{table}_fts" in names and f"{table}_ai" in names, table
    for view in VIEWS:
        assert view in names
    # porter stemming: "supporting" finds "support"
    hits = conn.execute("select rowid from passages_fts where passages_fts match 'supporting'").fetchall()
    assert hits
    progress = conn.execute("select count(*) from recommendation_progress").fetchone()[0]
    assert progress == conn.execute("select count(*) from recommendations where parent_id is null").fetchone()[0] == 30
    rejected = conn.execute("select label, position, quote, url from government_positions where position = 'not_accepted'").fetchall()
    assert rejected == [("R1", "not_accepted", rejected[0][2], "https://example.org/dhsc/response")]
    assert "did not accept" in rejected[0][2]
    stances = dict(conn.execute("select link_id, stance from stakeholder_positions").fetchall())
    assert stances == {"L-stance-1": "support", "L-stance-2": "concern", "L-stance-3": "neutral"}
    assert conn.execute("select decision from stakeholder_positions where link_id = 'L-stance-3'").fetchone()[0] == "reject"
    timeline = conn.execute("select date, signal, target_date, assessor from evidence_timeline order by link_id").fetchall()
    assert timeline == [("2025-03-13", "reversed", "2025-12-31", "government"), ("2025-03-13", "implemented", None, "government")]


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


def test_metadata_describes_only_what_exists(published_db):
    meta = metadata(published_db)
    assert meta["title"] and meta["description"] and "Apache-2.0" in meta["license"] and "source URL" in meta["license"]
    assert meta["source"].startswith("The Hewitt Review") and meta["source_url"].startswith("https://")
    assert list(meta["databases"]) == [published_db.stem]
    conn = sqlite3.connect(published_db)
    names = {row[0] for row in conn.execute("select name from sqlite_master where type in ('table', 'view')")}
    database = described(meta)
    for table, spec in database["tables"].items():
        assert table in names, f"metadata describes missing table {table}"
        columns = {row[1] for row in conn.execute(f"pragma table_xinfo([{table}])")}
        for column in spec.get("columns", {}):
            assert column in columns, f"{table}.{column} is described but does not exist"
        for column in spec.get("facets", []) + spec.get("sortable_columns", []) + [spec.get("label_column")] * ("label_column" in spec):
            assert column in columns, f"{table}.{column} is configured but does not exist"
        if "fts_table" in spec:
            assert spec["fts_table"] in names and spec["fts_pk"] in columns
    for view in VIEWS:
        assert database["tables"][view]["description"] and database["tables"][view]["columns"]
    for sql in (q["sql"] for q in database["queries"].values()):
        params = {name: "R1" for name in ("label",)} | {"since": "2020-01-01"}
        conn.execute(sql, {k: v for k, v in params.items() if f":{k}" in sql}).fetchall()


def test_metadata_facets_labels_hidden_and_queries(published_db):
    tables = described(metadata(published_db))["tables"]
    assert tables["documents"]["facets"] == ["kind", "publisher"]
    assert "chapter" in tables["recommendations"]["facets"]
    assert "status" in tables["recommendation_progress"]["facets"]
    assert "stance" in tables["stakeholder_positions"]["facets"] and "label" in tables["links"]["facets"]
    assert tables["documents"]["label_column"] == "title" and tables["recommendations"]["label_column"] == "label"
    for hidden in ("embeddings", "_sqlite_migrations", "passages_fts", "passages_fts_data", "documents_fts_idx"):
        assert tables[hidden]["hidden"] is True
    assert set(QUERIES) == {"government_rejected", "stakeholders_on", "evidence_since"}
    assert ":label" in QUERIES["stakeholders_on"]["sql"] and ":since" in QUERIES["evidence_since"]["sql"]


def test_metadata_without_a_database_file(tmp_path):
    meta = metadata(tmp_path / "absent.db")
    assert "absent" in meta["databases"] and meta["source"]


def test_cli_publish_writes_metadata(published_db, cli_runner, tmp_path):
    from tracker.cli import cli

    out = tmp_path / "meta.json"
    result = cli_runner.invoke(cli, ["publish", str(published_db), "--metadata-out", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["databases"][published_db.stem]["queries"]
    assert "metadata" in result.output


def test_cli_publish_and_serve_help(cli_runner):
    from tracker.cli import cli

    for command in ("publish", "serve"):
        result = cli_runner.invoke(cli, [command, "--help"])
        assert result.exit_code == 0 and "DB" in result.output
    assert "--no-immutable" in cli_runner.invoke(cli, ["serve", "--help"]).output


def test_cli_publish_missing_database(cli_runner, tmp_path):
    from tracker.cli import cli

    result = cli_runner.invoke(cli, ["publish", str(tmp_path / "nope.db")])
    assert result.exit_code != 0 and "no such database" in result.output


def test_serve_args_are_immutable_by_default(tmp_path):
    args = serve_args(tmp_path / "t.db", tmp_path / "metadata.json", port=9001)
    assert args[1:4] == ["-m", "datasette", "serve"] and "-i" in args and "-m" in args[4:] and "9001" in args
    assert "-i" not in serve_args(tmp_path / "t.db", tmp_path / "m.json", immutable=False)


def test_cli_serve_runs_datasette_with_metadata(published_db, cli_runner, tmp_path, monkeypatch):
    import tracker.publish as publishing
    from tracker.cli import cli

    db = tmp_path / "copy.db"
    with sqlite3.connect(published_db) as src, sqlite3.connect(db) as dst:
        src.backup(dst)
    calls = []
    monkeypatch.setattr(publishing, "run_datasette", lambda args: calls.append(args) or 0)
    result = cli_runner.invoke(cli, ["serve", str(db), "--port", "9123", "--no-immutable"])
    assert result.exit_code == 0, result.output
    (args,) = calls
    assert "-i" not in args and str(db) in args and args[args.index("--port") + 1] == "9123"
    metadata_path = Path(args[args.index("-m", 4) + 1])
    assert metadata_path == tmp_path / "metadata.json" and "copy" in json.loads(metadata_path.read_text())["databases"]
    assert cli_runner.invoke(cli, ["serve", str(tmp_path / "missing.db")]).exit_code != 0


def test_serve_publishes_an_unpublished_database(tmp_path, monkeypatch):
    import tracker.publish as publishing

    db = tracker.open_db(tmp_path / "raw.db")
    load_register(db, REGISTER)
    db.close()
    calls = []
    monkeypatch.setattr(publishing, "run_datasette", lambda args: calls.append(args) or 0)
    assert publishing.serve(tmp_path / "raw.db", port=9124) == 0
    assert "-i" in calls[0] and is_published(tracker.open_db(tmp_path / "raw.db"))
