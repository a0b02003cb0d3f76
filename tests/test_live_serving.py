"""`tracker serve` as a real process on loopback: a live database shows a concurrent ingest without a
restart and never answers 500 meanwhile, and a TERM stops the whole server (nothing left on the port)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

TRACKER = [sys.executable, "-c", "from tracker.cli import cli; cli()"]
TITLE = "Ward rounds now include a pharmacist in every trust"
NOTE = f"""---
kind: evidence
title: "{TITLE}"
publisher: Live Serving Test
---
# Pharmacists on ward rounds

Every acute trust in the region now sends a pharmacist on the morning ward round, and the integrated
care boards report the arrangement in their quarterly returns.
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str) -> tuple[int, bytes]:
    """Status and body of a GET; an HTTP error is a status, not an exception."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


@pytest.fixture
def server(published_copy: Path):
    """`tracker serve DB --port P` on a copy of the published database; yields (process, base URL, port)."""
    port = free_port()
    process = subprocess.Popen([*TRACKER, "serve", str(published_copy), "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while not listening(port):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"tracker serve did not start: {process.communicate()[0].decode(errors='replace')[-2000:]}")
        time.sleep(0.2)
    yield process, base, port
    if process.poll() is None:
        process.kill()
    process.communicate(timeout=10)


def titles(base: str) -> list[str]:
    status, body = get(f"{base}/copy/documents.json?_shape=array&_size=max")
    assert status == 200, body[-500:]
    return [row["title"] for row in json.loads(body)]


def test_a_concurrent_ingest_shows_without_restart_and_no_page_fails(server, published_copy, tmp_path):
    process, base, _ = server
    assert TITLE not in titles(base)
    note = tmp_path / "note.md"
    note.write_text(NOTE, encoding="utf-8")
    ingest = subprocess.Popen([*TRACKER, "ingest", str(published_copy), str(note), "--no-link"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    pages = (f"{base}/-/tracker/dashboard", f"{base}/copy/documents.json")
    failures, polls, deadline = [], 0, time.monotonic() + 180
    while ingest.poll() is None and time.monotonic() < deadline:
        for url in pages:
            status, body = get(url)
            polls += 1
            if status != 200:
                failures.append((url, status, body[-300:]))
        time.sleep(0.2)
    output = ingest.communicate(timeout=30)[0].decode(errors="replace")
    assert ingest.returncode == 0, output
    for _ in range(3):  # after the ingest, page after page
        failures += [(url, status, body[-300:]) for url in pages for status, body in [get(url)] if status != 200]
    assert not failures, failures
    assert polls and TITLE in titles(base), "the ingested document is not served without a restart"
    assert process.poll() is None


@pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
def test_term_stops_the_whole_server(server):
    process, base, port = server
    assert get(f"{base}/-/versions.json")[0] == 200
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=15)  # the serve process itself exits: Datasette runs as it, not as a child
    deadline = time.monotonic() + 5
    while listening(port) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not listening(port), f"something still listens on port {port} after TERM"
