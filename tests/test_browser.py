"""A real browser (Debian chromium through Playwright) against `datasette serve -i` with the plugin.

Screenshots go to test-artifacts/ (gitignored). Skipped when /usr/bin/chromium or Playwright is absent.
"""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from tracker.serve import serve_args

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
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


@pytest.fixture(scope="module")
def server(published_db):
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is absent: install Debian's chromium (apt-get install -y chromium) to run the browser test")
    pytest.importorskip("playwright.sync_api", reason="the playwright Python package is not installed")
    port = free_port()
    process = subprocess.Popen(serve_args(published_db, published_db.parent / "metadata.json", port=port), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
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
def page(server):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        tab = browser.new_page(viewport={"width": 1200, "height": 900})
        tab.dialogs = []
        tab.on("dialog", lambda dialog: (tab.dialogs.append(dialog.message), dialog.dismiss()))
        yield tab
        browser.close()


def test_dashboard_click_through_to_recommendation(server, page):
    page.goto(f"{server}/-/tracker/dashboard")
    assert page.locator("h1").inner_text() == "Progress of the recommendations"
    assert page.locator("a.tr-cell").count() == 30
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
    page.locator('a.tr-cell[data-label="R1"]').click()
    page.wait_for_load_state()
    assert "/-/tracker/recommendation/" in page.url
    assert page.locator("h1 .tr-label").inner_text() == "R1"
    assert "not accepted" in page.locator(".tr-status-box .tr-badge").first.inner_text()
    assert "number verified" in page.locator(".tr-verified").inner_text()
    assert "did not accept" in page.locator(".tr-deciding").inner_text()
    page.screenshot(path=str(ARTIFACTS / "recommendation.png"), full_page=True)


def test_search_finds_a_hit(server, page):
    page.goto(f"{server}/-/tracker/search")
    page.fill("#tr-q", "running costs")
    page.press("#tr-q", "Enter")
    page.wait_for_load_state()
    hits = page.locator(".tr-hit")
    assert hits.count() >= 2
    assert "running" in hits.first.inner_text().lower()
    assert page.locator(".tr-hit mark").count() >= 1
    page.screenshot(path=str(ARTIFACTS / "search.png"), full_page=True)


def test_hostile_text_never_runs(server, page, hostile):
    for path in ("/-/tracker/search?q=dentistry", "/-/tracker/search?q=dentistry&mode=fts", "/tracker/passages", "/tracker/documents"):
        page.goto(server + path)
        assert hostile["script"] in page.locator("body").inner_text(), path  # shown as text...
    assert page.dialogs == []  # ...and never executed
    page.goto(f"{server}/tracker/documents")
    page.screenshot(path=str(ARTIFACTS / "documents-table.png"), full_page=True)
