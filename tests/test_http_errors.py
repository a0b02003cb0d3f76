"""HTTP errors of the Datasette plugin (issue 13 item 8): 404 for what does not exist, 400 with the
reason for bad user input, never 500 for user input, and a server error answered with a short id and
logged in one line (no traceback with locals, no array dump). Also `tracker search` on a query with
nothing to search: one line, exit 1.
"""

from __future__ import annotations

import logging

import numpy as np
import pytest
from datasette.app import Datasette

from datasette_plugins.review_tracker import pages
from tracker.cli import cli
from tracker.dates import DateError
from tracker.errors import SearchError
from tracker.fts_query import match_terms
from tracker.publish import metadata
from tracker.recommendations import NotFoundError


@pytest.fixture
def ds(published_db) -> Datasette:
    return Datasette([str(published_db)], metadata=metadata(published_db))


@pytest.mark.parametrize("path", ["/no/such/route", "/tracker/no_such_table", "/-/tracker/recommendation/R99", "/-/tracker/recommendation/R99.json"])
async def test_unknown_routes_answer_404_without_a_traceback(ds, capsys, path):
    response = await ds.client.get(path)
    assert response.status_code == 404
    if path.endswith(".json"):
        assert response.json()["ok"] is False and "R99" in response.json()["error"]
    else:
        assert "text/html" in response.headers["content-type"] and "Not found" in response.text
    printed = capsys.readouterr()
    assert "Traceback" not in printed.out + printed.err and "locals" not in printed.out + printed.err


@pytest.mark.parametrize("q", ['"', "%00", "%22%22%22", "%01%02"])
async def test_search_with_nothing_to_search_answers_400_with_the_reason(ds, q):
    for path in (f"/-/tracker/search?q={q}", f"/-/tracker/search.json?q={q}", f"/-/tracker/search.json?q={q}&mode=fts"):
        response = await ds.client.get(path)
        assert response.status_code == 400, (path, response.text[:300])
        message = response.json()["error"] if ".json" in path else response.text
        assert "has no words to search for" in message


@pytest.mark.parametrize("q", ['"running costs', "running%00costs", "NEAR(running", "costs*%20OR%20^x", 'col:"a', "-prevention"])
async def test_search_syntax_is_never_parsed(ds, q):
    response = await ds.client.get(f"/-/tracker/search.json?q={q}&mode=fts")
    assert response.status_code == 200, response.text[:300]


def test_match_terms_quote_every_word_and_phrase():
    assert match_terms('"running costs" prevention') == ['"running costs"', '"prevention"']
    assert match_terms('a "b c') == ['"a"', '"b c"']  # an unclosed quote runs to the end
    assert match_terms("x\x00y OR z*") == ['"x"', '"y"', '"OR"', '"z*"']
    assert match_terms('"') == [] and match_terms("\x00") == []


async def test_a_bad_date_is_a_400_with_its_reason(ds):
    response = await ds.client.get("/-/tracker/search.json?q=running+costs&since=2023-02-30&mode=fts")
    assert response.status_code == 400 and "February 2023 has 28 days" in response.text
    page = await ds.client.get("/-/tracker/search?q=running+costs&until=2023-13-01")
    assert page.status_code == 400 and "does not exist" in page.text


@pytest.mark.parametrize(
    "error, status",
    [(DateError("date '2023-02-30' is <impossible>"), 400), (SearchError("search <x> is bad"), 400), (NotFoundError("no recommendation <R99>"), 404)],
)
async def test_tracker_errors_from_user_input_answer_4xx_escaped(ds, monkeypatch, error, status):
    def fail(conn, chosen):
        raise error

    monkeypatch.setattr(pages, "dashboard_data", fail)
    response = await ds.client.get("/-/tracker/dashboard")
    assert response.status_code == status
    assert "&lt;" in response.text and "<x>" not in response.text and "<impossible>" not in response.text and "<R99>" not in response.text
    data = await ds.client.get("/-/tracker/dashboard", headers={"accept": "application/json"})
    assert data.status_code == status and data.json()["error"] == str(error)


async def test_a_server_error_answers_500_with_an_id_and_logs_one_line(ds, monkeypatch, caplog, capsys):
    array = np.array2string(np.arange(20_000), threshold=100_000)

    def fail(conn, chosen):
        raise RuntimeError(f"broken matrix {array}")

    monkeypatch.setattr(pages, "dashboard_data", fail)
    with caplog.at_level(logging.ERROR, logger="review_tracker"):
        page = await ds.client.get("/-/tracker/dashboard")
        data = await ds.client.get("/-/tracker/dashboard.json")
    assert page.status_code == 500 and data.status_code == 500
    error_id = data.json()["error_id"]
    assert error_id and "broken matrix" not in page.text and "broken matrix" not in data.text
    records = [r for r in caplog.records if r.name == "review_tracker"]
    assert len(records) == 2 and error_id in records[1].getMessage()
    for record in records:
        line = record.getMessage()
        assert "\n" not in line and len(line) < 500 and "RuntimeError" in line and "/-/tracker/dashboard" in line
        assert record.exc_info is None
    printed = capsys.readouterr()
    assert "19999" not in printed.out + printed.err and "Traceback" not in printed.out + printed.err


def test_cli_search_with_nothing_to_search_prints_one_line(published_db, cli_runner):
    result = cli_runner.invoke(cli, ["search", str(published_db), '"', "--mode", "fts"])
    assert result.exit_code == 1
    assert result.output.strip().count("\n") == 0 and "has no words to search for" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
