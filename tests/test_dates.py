"""One date parser for every option and parameter (issue 13, item 5): precision kept, impossible
dates refused with the reason, in ingest, set-status, status --as-of and front matter."""

from __future__ import annotations

import json
from datetime import date, datetime

import pytest

import tracker
from tracker.cli import cli
from tracker.dates import DateError, declared_precision, parse_date

GOOD = "---\ntitle: A note about ferries\nkind: evidence\n---\n\nThe pier reopened in May.\n"


@pytest.mark.parametrize(
    ("value", "iso", "precision", "first", "last"),
    [
        ("2023-04-04", "2023-04-04", "day", "2023-04-04", "2023-04-04"),
        ("2023-04", "2023-04", "month", "2023-04-01", "2023-04-30"),
        ("2023", "2023", "year", "2023-01-01", "2023-12-31"),
        ("2024-02", "2024-02", "month", "2024-02-01", "2024-02-29"),
        ("2024-02-29", "2024-02-29", "day", "2024-02-29", "2024-02-29"),
        (" 2023-4-4 ", "2023-04-04", "day", "2023-04-04", "2023-04-04"),
        ("2023-04-04T10:30:00Z", "2023-04-04", "day", "2023-04-04", "2023-04-04"),
        (date(2023, 4, 4), "2023-04-04", "day", "2023-04-04", "2023-04-04"),
        (datetime(2023, 4, 4, 9, 0), "2023-04-04", "day", "2023-04-04", "2023-04-04"),
        (2023, "2023", "year", "2023-01-01", "2023-12-31"),
    ],
)
def test_parse_date_keeps_precision(value, iso, precision, first, last):
    parsed = parse_date(value)
    assert (parsed.iso, parsed.precision, parsed.first_day, parsed.last_day) == (iso, precision, first, last)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("2023-02-30", "impossible: February 2023 has 28 days"),
        ("2023-02-29", "impossible: February 2023 has 28 days"),
        ("2023-04-31", "impossible: April 2023 has 30 days"),
        ("2023-13-01", "impossible: month 13 does not exist"),
        ("2023-00", "impossible: month 0 does not exist"),
        ("0000", "no year 0"),
        ("yesterday", "is not YYYY-MM-DD, YYYY-MM or YYYY"),
        ("04/04/2023", "is not YYYY-MM-DD"),
        ("2023-04-04 and more", "is not YYYY-MM-DD"),
        ("٢٠٢٣", "is not YYYY-MM-DD"),  # digits of another script
        (True, "is not YYYY-MM-DD"),
        ([2023], "is not YYYY-MM-DD"),
    ],
)
def test_parse_date_refuses_with_the_reason(value, reason):
    with pytest.raises(DateError, match=reason):
        parse_date(value)


def test_declared_precision_may_be_coarser_never_finer():
    assert declared_precision(parse_date("2023-06-01"), "month") == "month"
    assert declared_precision(parse_date("2023-06-01"), "unverified") == "unverified"
    with pytest.raises(DateError, match="finer than the date '2023'"):
        declared_precision(parse_date("2023"), "day")
    with pytest.raises(DateError, match="not one of"):
        declared_precision(parse_date("2023"), "fortnight")


@pytest.mark.parametrize(("given", "stored"), [("2023", ("2023", "year")), ("2023-06", ("2023-06", "month")), ("2023-06-05", ("2023-06-05", "day"))])
def test_ingest_stores_the_date_with_its_precision(cli_runner, tmp_path, given, stored):
    path = tmp_path / "note.md"
    path.write_text(GOOD)
    db_path = tmp_path / "t.db"
    assert cli_runner.invoke(cli, ["ingest", str(db_path), str(path), "--date", given]).exit_code == 0
    assert tracker.open_db(db_path).execute("select published, date_precision from documents").fetchone() == stored


@pytest.mark.parametrize(("given", "reason"), [("2023-02-30", "February 2023 has 28 days"), ("2023-13-01", "month 13 does not exist")])
def test_ingest_refuses_impossible_dates(cli_runner, tmp_path, given, reason):
    path = tmp_path / "note.md"
    path.write_text(GOOD)
    db_path = tmp_path / "t.db"
    result = cli_runner.invoke(cli, ["ingest", str(db_path), str(path), "--date", given])
    assert result.exit_code == 1 and "Traceback" not in result.output
    [line] = [line for line in result.stderr.splitlines() if str(path) in line]
    assert line.startswith("failed") and reason in line
    assert tracker.open_db(db_path).execute("select count(*) from documents").fetchone()[0] == 0


@pytest.mark.parametrize(
    ("front", "reason"),
    [("date: 2023-02-30", "impossible"), ("date: '2023-13-01'", "month 13"), ("date: 2023\ndate_precision: day", "finer than the date")],
)
def test_front_matter_dates_are_checked(db, tmp_path, front, reason):
    path = tmp_path / "note.md"
    path.write_text(f"---\ntitle: Dated\nkind: evidence\n{front}\n---\n\nWords about ferries.\n")
    result = tracker.ingest(db, str(path))
    assert result.status == "failed" and reason in result.reason


def test_front_matter_declared_precision_is_kept(db, tmp_path):
    path = tmp_path / "note.md"
    path.write_text("---\ntitle: Dated\nkind: evidence\ndate: 2023-06-01\ndate_precision: month\n---\n\nWords about ferries.\n")
    assert tracker.ingest(db, str(path)).status == "ingested"
    assert db.execute("select published, date_precision from documents").fetchone() == ("2023-06-01", "month")


def test_set_status_and_as_of_refuse_impossible_dates(cli_runner, register_db):
    result = cli_runner.invoke(cli, ["set-status", str(register_db), "R1", "planned", "--note", "n", "--date", "2023-02-30"])
    assert result.exit_code == 1 and "February 2023 has 28 days" in result.output and "Traceback" not in result.output
    assert tracker.open_db(register_db).execute("select count(*) from overrides").fetchone()[0] == 0
    result = cli_runner.invoke(cli, ["status", str(register_db), "--as-of", "2023-13-01"])
    assert result.exit_code == 1 and "month 13 does not exist" in result.output


def test_set_status_keeps_a_month_and_as_of_a_year_means_its_last_day(cli_runner, register_db):
    result = cli_runner.invoke(cli, ["set-status", str(register_db), "R1", "planned", "--note", "Plan", "--date", "2024-07"])
    assert result.exit_code == 0, result.output
    assert tracker.open_db(register_db).execute("select effective from overrides").fetchone()[0] == "2024-07"
    statuses = {}
    for as_of in ("2024-06", "2024"):  # the end of June 2024 is before the override; the end of 2024 after it
        result = cli_runner.invoke(cli, ["status", str(register_db), "--as-of", as_of, "--json"])
        assert result.exit_code == 0, result.output
        payload = json.loads(result.stdout)
        assert payload["as_of"] == as_of
        statuses[as_of] = next(r["status"] for r in payload["recommendations"] if r["label"] == "R1")
    assert statuses == {"2024-06": "not_accepted", "2024": "planned"}
