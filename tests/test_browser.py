"""A real browser (Debian chromium through Playwright) against `datasette serve` with the plugin.

Screenshots go to test-artifacts/ (gitignored). Skipped when /usr/bin/chromium or Playwright is absent.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from tracker.serve import serve_args

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
WIDTHS = (1280, 390)  # desktop and a small phone
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(db_path: Path, env: dict[str, str] | None = None):
    """`datasette serve` with the plugin on `db_path` (live); yields the base URL, then stops it."""
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is absent: install Debian's chromium (apt-get install -y chromium) to run the browser test")
    pytest.importorskip("playwright.sync_api", reason="the playwright Python package is not installed")
    port = free_port()
    args = serve_args(db_path, db_path.parent / "metadata.json", port=port)
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{base}/-/versions.json", timeout=1).read()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                output = process.stdout.read().decode(errors="replace")
                pytest.fail(f"datasette did not start: {output[-2000:]}")
            time.sleep(0.2)
    yield base
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(scope="module")
def server(changed_db):
    """`datasette serve` on the published database after the fixture ingest (conftest's changed_db)."""
    yield from start(changed_db)


@pytest.fixture(scope="module")
def browser(server):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module", params=WIDTHS, ids=lambda width: f"{width}px")
def page(browser, request):
    tab = browser.new_page(viewport={"width": request.param, "height": 900})
    tab.width = request.param
    tab.dialogs = []
    tab.on("dialog", lambda dialog: (tab.dialogs.append(dialog.message), dialog.dismiss()))
    yield tab
    tab.close()


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}-{page.width}.png"), full_page=True)


def recommendation_paths(db_path) -> list[str]:
    rows = sqlite3.connect(db_path).execute("select id from recommendations where parent_id is null order by id").fetchall()
    return [f"/-/tracker/recommendation/{row[0]}" for row in rows]


def test_dashboard_click_through_to_recommendation(server, page):
    page.goto(f"{server}/-/tracker/dashboard")
    assert page.locator("h1").inner_text() == "Progress of the recommendations"
    assert page.locator("a.tr-cell").count() == 30
    assert page.locator("a.tr-cell .tr-cell-position").count() == 30
    shot(page, "dashboard")
    page.locator('a.tr-cell[data-label="R1"]').click()
    page.wait_for_load_state()
    assert "/-/tracker/recommendation/" in page.url
    assert page.locator("h1 .tr-label").inner_text() == "R1"
    assert "not accepted" in page.locator(".tr-status-box .tr-badge").first.inner_text()
    assert "not accepted" in page.locator(".tr-fact-position .tr-badge").inner_text()
    assert "number verified" in page.locator(".tr-verified").inner_text()
    assert "would not impose a national shift" in page.locator(".tr-deciding").inner_text()
    assert page.locator(".tr-deciding blockquote").count() == 0 and "tracker summary" in page.locator(".tr-deciding").inner_text().lower()
    shot(page, "recommendation")


def test_no_blockquote_holds_project_text_and_since_is_the_history_start(server, page, changed_db):
    for path in recommendation_paths(changed_db) + ["/-/tracker/changes", "/-/tracker/search?q=running+costs", "/-/tracker/dashboard?view=list"]:
        page.goto(server + path)
        assert "(register:" not in page.locator("body").inner_text(), path
        for block in page.locator("blockquote").all():
            assert block.locator(".tr-wording").inner_text().strip().lower() == "quote", path  # an outside document's words only
        since = page.locator(".tr-fact-status .tr-since")
        if since.count():
            last = page.locator(".tr-history > li").last
            assert last.get_attribute("data-to") == page.locator(".tr-fact-status").get_attribute("data-status"), path
            assert since.get_attribute("data-since") == last.get_attribute("data-date"), path
    page.goto(f"{server}/-/tracker/recommendation/cqc-system-assessment")
    assert page.locator("blockquote").count() >= 1
    shot(page, "recommendation-quote")


def test_unconfirmed_machine_links_are_muted(server, page):
    page.goto(f"{server}/-/tracker/recommendation/cqc-system-assessment")
    item = page.locator("li.tr-evidence.tr-item-muted").first
    text = item.inner_text()
    assert "similarity (machine)" in text and "probability 0.71" in text and "not checked by a person" in text
    dot = item.evaluate("el => getComputedStyle(el, '::before').backgroundColor")
    assert dot == "rgb(255, 255, 255)"  # no status colour
    assert item.locator(".tr-badge").first.evaluate("el => getComputedStyle(el).backgroundColor") == "rgb(255, 255, 255)"
    shot(page, "machine-link")


def test_what_changed_and_the_feed_list_the_fixture_ingest(server, page):
    page.goto(f"{server}/-/tracker/changes?months=3")
    statuses = page.locator(".tr-changes-status li.tr-change")
    assert statuses.count() >= 1 and "peer-review" in statuses.first.inner_text()
    assert page.locator('.tr-changes-evidence li[data-label="cqc-system-assessment"]').count() == 1
    shot(page, "changes")
    feed = page.request.get(f"{server}/-/tracker/changes.atom?months=3")
    assert feed.ok and "peer-review: status noted no commitment → in progress" in feed.text()


def test_dashboard_filters_work(server, page):
    page.goto(f"{server}/-/tracker/dashboard")
    page.locator('#tr-position-counts a[data-position="not_accepted"]').click()
    page.wait_for_load_state()
    assert "position=not_accepted" in page.url
    assert sorted(page.locator("a.tr-cell").evaluate_all("els => els.map(e => e.dataset.label)")) == ["R1", "national-health-mission"]
    page.goto(f"{server}/-/tracker/dashboard")
    page.locator(".tr-filter-box summary").click()
    page.select_option("#tr-f-chapter", "Resetting our approach to finance to embed change")
    page.select_option("#tr-f-view", "list")
    page.locator(".tr-filters button").click()
    page.wait_for_load_state()
    assert page.locator(".tr-rec-list > li").count() == 7
    shot(page, "dashboard-filtered")


@pytest.mark.parametrize("path", ["/-/tracker/dashboard", "/-/tracker/dashboard?view=list", "/-/tracker/recommendation/R1",
                                  "/-/tracker/recommendation/cqc-system-assessment", "/-/tracker/search?q=running+costs", "/-/tracker/changes",
                                  "/-/tracker/method", "/tracker/government_rejected", "/tracker/recommendation_progress", "/tracker"])  # fmt: skip
def test_no_page_is_wider_than_the_viewport_and_lang_is_set(server, page, path):
    page.goto(server + path)
    assert page.evaluate("document.documentElement.lang") == "en"
    assert page.evaluate("document.documentElement.scrollWidth") <= page.width, path


def test_the_evaluation_figures_say_which_is_which_at_every_width(server, page):
    page.goto(f"{server}/-/tracker/method")
    header_shown = page.locator("table.tr-eval thead").is_visible()
    label = page.evaluate("getComputedStyle(document.querySelector('table.tr-eval td[data-label=Precision]'), '::before').content")
    assert (header_shown, label) == ((True, "none") if page.width >= 600 else (False, '"Precision: "'))  # the header, or each cell's own label
    shot(page, "method-evaluation")


def test_hostile_text_never_runs(server, page, hostile):
    for path in ("/-/tracker/search?q=dentistry", "/-/tracker/search?q=dentistry&mode=fts", "/tracker/passages", "/tracker/documents"):
        page.goto(server + path)
        assert hostile["script"] in page.locator("body").inner_text(), path  # shown as text...
    assert page.dialogs == []  # ...and never executed
    page.goto(f"{server}/tracker/documents")
    shot(page, "documents-table")


@pytest.fixture(scope="module")
def review_server(changed_db, tmp_path_factory):
    """A live server on a copy of changed_db with one reviewer, ana, in its users file."""
    from tracker.users import USERS_ENV, add_user

    folder = tmp_path_factory.mktemp("review")
    copy = folder / "tracker.db"
    with sqlite3.connect(changed_db) as src, sqlite3.connect(copy) as dst:
        src.backup(dst)
    (folder / "metadata.json").write_text((changed_db.parent / "metadata.json").read_text())
    add_user(folder / "users.json", "ana", REVIEWER_PASSWORD)
    yield from start(copy, {USERS_ENV: str(folder / "users.json")})


REVIEWER_PASSWORD = "a long enough secret"


def test_a_reviewer_signs_in_and_confirms_a_link_then_the_page_shows_it(review_server, browser):
    for width in WIDTHS:  # one decision at desktop width; the 390 px pass finds the queue one shorter
        tab = browser.new_page(viewport={"width": width, "height": 900})
        tab.goto(f"{review_server}/-/tracker/review")
        assert tab.locator("#tr-confirm").count() == 0 and "Sign in" in tab.locator("#tr-item").inner_text()
        tab.goto(f"{review_server}/-/login")
        tab.fill("input[name=username]", "ana")
        tab.fill("input[name=password]", REVIEWER_PASSWORD)
        tab.locator("input[type=submit], button[type=submit]").first.click()
        tab.wait_for_load_state()
        tab.goto(f"{review_server}/-/tracker/review")
        assert tab.evaluate("document.documentElement.scrollWidth") <= width
        tab.screenshot(path=str(ARTIFACTS / f"review-{width}.png"), full_page=True)
        if width != WIDTHS[0]:
            assert tab.locator("#tr-left").inner_text() == "1"
            tab.close()
            continue
        assert tab.locator("#tr-item").get_attribute("data-link") == "L-new-2"
        assert "stalled" in tab.locator("#tr-if-confirmed").inner_text()
        tab.fill("#tr-note-input", "The report says assessments remain paused")
        tab.locator("h1").click()  # out of the note box: keys there are typing, not shortcuts
        tab.keyboard.press("y")  # the keyboard shortcut for Confirm
        tab.wait_for_selector("#tr-decided")
        assert "Its status changed" in tab.locator("#tr-decided").inner_text()
        tab.goto(f"{review_server}/-/tracker/recommendation/cqc-system-assessment")
        assert "stalled" in tab.locator(".tr-status-box .tr-badge").first.inner_text()
        audit = tab.locator(".tr-audit").last.inner_text()
        assert "ana" in audit and "in the browser" in audit and "The report says assessments remain paused" in audit
        tab.screenshot(path=str(ARTIFACTS / f"review-decided-{width}.png"), full_page=True)
        tab.close()
