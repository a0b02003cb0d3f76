"""Pages a researcher can cite (issue 10), through `datasette.client`: whose words a text is, statuses
and positions, true dates, machine links marked, what changed and its feeds, the dashboard filters,
downloads, the Method page, language and contrast. The browser checks are in test_browser.py.
"""

from __future__ import annotations

import csv
import io
import re
import sqlite3
import xml.etree.ElementTree as ET
from datetime import date, timedelta

import pytest
from datasette.app import Datasette

from datasette_plugins.review_tracker.rendering import COLOURS
from tracker.changes import months_before, what_changed
from tracker.export import EVIDENCE_COLUMNS
from tracker.provenance import human_date, shown_text
from tracker.publish import metadata


@pytest.fixture
def ds(published_db) -> Datasette:
    return Datasette([str(published_db)], metadata=metadata(published_db))


@pytest.fixture
def changed(changed_db) -> Datasette:
    return Datasette([str(changed_db)], metadata=metadata(changed_db))


def labels(db_path) -> list[str]:
    return [row[0] for row in sqlite3.connect(db_path).execute("select label from recommendations where parent_id is null order by id")]


def test_shown_text_and_dates_keep_their_provenance():
    assert shown_text("Cut by half (register: running-costs).  Then more (register: a, b) here") == "Cut by half. Then more here"
    assert human_date("2024-04-01", "month") == "April 2024" and human_date("2023", None) == "2023"
    assert human_date("2023-06-14") == "14 June 2023" and human_date(None) == "undated"
    assert human_date("2022-12-23", "unverified") == "23 December 2022 (date unverified)"
    assert months_before(date(2026, 5, 31), 3) == date(2026, 2, 28)


async def test_no_page_shows_a_summary_as_a_quote_or_a_register_tag(changed, changed_db):
    """Every blockquote is a verbatim quote of an outside document; summaries are labelled; no tag shows."""
    pages = [f"/-/tracker/recommendation/{label}" for label in labels(changed_db)]
    pages += [
        "/-/tracker/dashboard?view=list",
        "/-/tracker/changes",
        "/-/tracker/search?q=running+costs&mode=fts",
        "/-/tracker/search?recommendation=cqc-system-assessment",
    ]
    quotes = 0
    for path in pages:
        html = (await changed.client.get(path)).text
        assert "(register:" not in html, path
        for block in re.findall(r"<blockquote.*?</blockquote>", html, re.DOTALL):
            assert 'class="tr-quote"' in block and "Quote</span>" in block and "Tracker summary" not in block, (path, block)
            assert "remain paused" in block or "Report on system assessment" in block, (path, block)  # the one .txt document
            quotes += 1
    assert quotes >= 2
    html = (await changed.client.get("/-/tracker/recommendation/cqc-system-assessment")).text
    assert "Quoted from" in html and "Summarised from" in html and "Tracker summary</span>" in html
    r1 = (await changed.client.get("/-/tracker/recommendation/R1")).text
    assert "Register summary</span>" in r1 and "official text of the review has not been ingested" in r1


async def test_since_is_the_start_of_the_current_status(changed, changed_db):
    for label in labels(changed_db):
        data = (await changed.client.get(f"/-/tracker/recommendation/{label}.json")).json()
        history, status = data["history"], data["status"]
        if not status:
            continue
        started = [h["date"] for h in history if h["to_status"] == status["status"]]
        assert status["since"] == (started[-1] if history and history[-1]["to_status"] == status["status"] else None), label
    running = (await changed.client.get("/-/tracker/recommendation/running-costs.json")).json()
    assert running["status"]["since"] == "2025-03-13" and running["status"]["latest_evidence"] == "2025-03-13"
    stored = sqlite3.connect(changed_db).execute(
        "select since from statuses s join recommendations r on r.id = s.recommendation_id where r.slug = 'peer-review'"
    )
    assert stored.fetchone()[0] == (date.today() - timedelta(days=20)).isoformat()  # the note's date, not today


async def test_statuses_say_what_they_mean_and_positions_stay_apart(ds):
    data = (await ds.client.get("/-/tracker/dashboard.json")).json()
    assert "awaiting_response" not in data["counts"] and data["counts"]["no_position_found"] == 18
    by_label = {rec["label"]: rec for rec in data["recommendations"]}
    assert by_label["prevention-definition"]["status"] == "deferred" and by_label["peer-review"]["status"] == "noted_no_commitment"
    assert by_label["harps"]["status"] == "in_progress" and by_label["harps"]["position_key"] == "accepted_in_principle"
    html = (await ds.client.get("/-/tracker/dashboard")).text
    assert html.count('class="tr-cell-position"') == 30
    page = (await ds.client.get("/-/tracker/recommendation/harps")).text
    assert "Government position" in page and ">accepted in principle</span>" in page and ">in progress</span>" in page


async def test_machine_links_show_method_score_and_no_status_colour(changed):
    data = (await changed.client.get("/-/tracker/recommendation/cqc-system-assessment.json")).json()
    machine = next(e for e in data["evidence"] if e["link_id"] == "L-new-2")
    assert machine["machine"] and machine["muted"] and not machine["decides"] and machine["probability"] == 0.71
    assert data["status"]["status"] == "accepted_no_action_found"  # the unconfirmed link did not decide
    html = (await changed.client.get("/-/tracker/recommendation/cqc-system-assessment")).text
    item = re.search(r'<li class="tr-evidence tr-item-muted"[^>]*data-method="semantic".*?</li>', html, re.DOTALL).group(0)
    assert "similarity (machine)" in item and "probability 0.71" in item and "decides alone from 0.94" in item
    assert "not checked by a person" in item and "waiting for a person" in item
    assert "tr-badge-muted" in item and "--dot" not in item and COLOURS["stalled"][0] not in item
    lga = (await changed.client.get("/-/tracker/recommendation/running-costs")).text
    assert "similarity score 0.61" in lga and "tr-card-muted" in lga


async def test_dashboard_filters_and_counts(ds):
    data = (await ds.client.get("/-/tracker/dashboard.json?position=not_accepted")).json()
    assert {r["label"] for r in data["recommendations"]} == {"R1", "national-health-mission"} and data["shown"] == 2
    assert data["counts"]["not_accepted"] == 2  # status counts follow the position filter
    assert data["position_counts"]["accepted"] == 5  # position counts ignore their own filter
    data = (await ds.client.get("/-/tracker/dashboard.json?status=accepted_no_action_found&addressee=CQC")).json()
    assert [r["label"] for r in data["recommendations"]] == ["cqc-system-assessment"]
    chapter = "Resetting our approach to finance to embed change"
    data = (await ds.client.get("/-/tracker/dashboard.json", params={"chapter": chapter})).json()
    assert data["shown"] == 7 and {r["chapter"] for r in data["recommendations"]} == {chapter}
    html = (await ds.client.get("/-/tracker/dashboard?status=reversed&view=list")).text
    assert html.count('<li data-status="reversed"') == 1 and "No government position found" in html and "clear filters" in html
    assert 'href="/-/tracker/dashboard?status=no_position_found"' in (await ds.client.get("/-/tracker/dashboard")).text


async def test_what_changed_and_atom_feeds_list_a_fixture_ingest(changed, changed_db):
    data = (await changed.client.get("/-/tracker/changes.json?months=3")).json()
    kinds = {(e["kind"], e["label"]) for e in data["entries"]}
    assert ("status", "peer-review") in kinds and ("signal", "peer-review") in kinds and ("signal", "cqc-system-assessment") in kinds
    status = next(e for e in data["entries"] if e["kind"] == "status")
    assert (status["from_status"], status["to_status"]) == ("noted_no_commitment", "in_progress")
    assert (await changed.client.get("/-/tracker/changes.json?months=3")).json()["months"] == 3
    html = (await changed.client.get("/-/tracker/changes?months=6")).text
    assert "Peer review" in html and "in progress</span>" in html and 'type="application/atom+xml"' in html
    feed = await changed.client.get("/-/tracker/changes.atom")
    assert feed.headers["content-type"].startswith("application/atom+xml")
    root = ET.fromstring(feed.text)
    titles = [e.findtext("{http://www.w3.org/2005/Atom}title") for e in root.iter("{http://www.w3.org/2005/Atom}entry")]
    assert any("peer-review: status noted no commitment → in progress" in t for t in titles)
    one = ET.fromstring((await changed.client.get("/-/tracker/recommendation/peer-review/changes.atom")).text)
    entries = list(one.iter("{http://www.w3.org/2005/Atom}entry"))
    assert entries and all("peer-review" in e.findtext("{http://www.w3.org/2005/Atom}title") for e in entries)
    earlier = what_changed(sqlite3.connect(changed_db), 12, today=date(2024, 1, 1))["entries"]  # a window in the past
    assert earlier and all("2023-01-01" <= e["date"] <= "2024-01-01" for e in earlier)


async def test_evidence_downloads(ds):
    response = await ds.client.get("/-/tracker/evidence.csv?recommendation=R1")
    assert response.headers["content-type"].startswith("text/csv") and "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text.lstrip("\ufeff"))))
    assert list(rows[0]) == EVIDENCE_COLUMNS
    assert {(r["evidence"], r["link_method"], r["text_is"]) for r in rows} >= {
        ("position", "register", "Tracker summary"),
        ("stance", "explicit", "Tracker summary"),
    }
    assert all(r["recommendation"] == "R1" and r["recommendation_url"].endswith("/-/tracker/recommendation/1") for r in rows)
    everything = (await ds.client.get("/-/tracker/evidence.json")).json()
    rejected = next(r for r in everything if r["link_id"] == "L-stance-3")
    assert rejected["checked_by_person"] == "rejected" and rejected["decides_status"] == "no"
    assert (await ds.client.get("/-/tracker/evidence.csv?recommendation=R99")).status_code == 404


async def test_method_page_and_footer(ds):
    html = (await ds.client.get("/-/tracker/method")).text
    for words in ("no position found", "similarity (machine)", "Tracker summary", "How well it works", "indicative", "Two readers (F1)"):
        assert words in html, words
    assert '<td data-label="Two readers (F1)">0.94</td>' in html  # the readers' agreement beside the tracker's link figure
    dashboard = (await ds.client.get("/-/tracker/dashboard")).text
    assert 'href="/-/tracker/method"' in dashboard.split('<footer class="ft">')[1]  # the footer links the Method page


@pytest.mark.parametrize("path", ["/-/tracker/dashboard", "/-/tracker/recommendation/R1", "/-/tracker/search", "/-/tracker/changes",
                                  "/-/tracker/method", "/tracker", "/tracker/statuses", "/tracker/government_rejected"])  # fmt: skip
async def test_every_page_says_it_is_in_english(ds, path):
    assert '<html lang="en">' in (await ds.client.get(path)).text


def contrast(background: str, text: str) -> float:
    def luminance(colour: str) -> float:
        channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    light, dark = sorted([luminance(background), luminance(text)], reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_badge_colours_pass_wcag_aa():
    assert {value: round(contrast(*pair), 2) for value, pair in COLOURS.items() if contrast(*pair) < 4.5} == {}


async def test_search_lists_a_recommendations_passages_without_words(ds):
    data = (await ds.client.get("/-/tracker/search.json?recommendation=running-costs")).json()
    assert data["mode_used"] == "browse" and len(data["hits"]) == 2
    html = (await ds.client.get("/-/tracker/search?recommendation=running-costs")).text
    assert "linked to <strong>running-costs</strong>" in html and html.count('class="tr-card tr-hit"') == 2


async def test_datasette_pages_read_well(ds):
    titles = {}
    for path in ("/tracker/government_rejected", "/tracker/stakeholders_on", "/tracker/recommendation_progress"):
        titles[path] = re.search(r"<title>(.*?)</title>", (await ds.client.get(path)).text, re.DOTALL).group(1).strip()
    assert titles["/tracker/government_rejected"] == "What the government rejected - tracker"
    assert titles["/tracker/recommendation_progress"].startswith("Progress per recommendation: 30 rows")
    said = (await ds.client.get("/tracker/stakeholders_on")).text  # blank parameter: Recommendation 1
    assert "Local Government Association" in said and '<a href="/-/tracker/recommendation/1?db=tracker">R1</a>' in said
    progress = (await ds.client.get("/tracker/recommendation_progress")).text
    assert '<a href="/-/tracker/recommendation/1?db=tracker">R1</a>' in progress
    database = (await ds.client.get("/tracker")).text
    assert 'href="/tracker/recommendation_progress"' in database.split("<h2")[0]  # the useful views come first
    columns = metadata(ds.databases["tracker"].path)["databases"]["tracker"]["tables"]["government_positions"]["columns"]
    assert all(len(text) <= 120 and "`tracker" not in text for text in columns.values() if isinstance(text, str))


async def test_search_dates_are_parsed_by_the_one_date_parser(ds):
    response = await ds.client.get("/-/tracker/search.json?q=running+costs&since=2023-02-30&mode=fts")
    assert response.status_code == 400 and "February 2023 has 28 days" in response.text
    data = (await ds.client.get("/-/tracker/search.json?q=running+costs&since=2025-3&mode=fts")).json()
    assert {hit["publisher"] for hit in data["hits"]} == {"NHS England"}  # "2025-3" read as March 2025
