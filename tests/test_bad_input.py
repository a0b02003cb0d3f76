"""Bad input through the CLI, each in a batch with one good file: a clear one-line reason naming the source,
a non-zero exit code, the good file still ingested, and a database that stays whole."""

from __future__ import annotations

import functools
import io
import random
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import tracker
from tracker.cli import cli
from tracker.errors import ExtractionError
from tracker.extract import read_source

GOOD_NOTE = "---\ntitle: A good note about ferries\nkind: evidence\n---\n\nThe good note says the pier reopened in May. It is short.\n"


def check_database(path: Path) -> None:
    db = tracker.open_db(path, create=False)
    assert db.execute("pragma integrity_check").fetchone()[0] == "ok"
    for table in ("passages", "entities", "mentions"):
        orphans = db.execute(f"select count(*) from {table} where document_id not in (select id from documents)")
        assert orphans.fetchone()[0] == 0, table


def stored_count(path: Path, source: str) -> int:
    return tracker.open_db(path, create=False).execute("select count(*) from documents where source_path = ?", [source]).fetchone()[0]


def run_batch(cli_runner, tmp_path: Path, bad: str, *extra: str):
    """Ingest [bad, good] in one CLI call; return (result, db path, good path)."""
    good = tmp_path / "good.md"
    good.write_text(GOOD_NOTE)
    db_path = tmp_path / "batch.db"
    result = cli_runner.invoke(cli, ["ingest", str(db_path), bad, str(good), *extra])
    return result, db_path, good


def assert_failed_cleanly(result, db_path: Path, good: Path, bad: str, reason: str) -> None:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if bad in line]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("failed")
    assert reason.lower() in lines[0].lower(), lines[0]
    assert stored_count(db_path, str(good)) == 1
    assert stored_count(db_path, bad) == 0
    assert "1 ingested" in result.stderr and "1 failed" in result.stderr
    check_database(db_path)


def pdf_with_text(make_pdf) -> bytes:
    return make_pdf([["A confidential page about the island ferry services and their winter timetables."]])


def encrypted_pdf(make_pdf) -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    writer.append(PdfReader(io.BytesIO(pdf_with_text(make_pdf))))
    writer.encrypt("secret")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def junk_bytes() -> bytes:
    rng = random.Random(42)
    return bytes(rng.randrange(256) for _ in range(4096)) + b"\x00" * 16


@pytest.mark.parametrize(
    ("name", "make", "reason"),
    [
        ("empty.txt", lambda make_pdf: b"", "empty file"),
        ("blank.md", lambda make_pdf: b"   \n\n  \n", "empty file"),
        ("junk.txt", lambda make_pdf: junk_bytes(), "binary data"),
        ("corrupt.pdf", lambda make_pdf: b"%PDF-1.4 garbage", "corrupt or unreadable PDF"),
        ("locked.pdf", encrypted_pdf, "encrypted PDF"),
        ("scanned.pdf", lambda make_pdf: make_pdf([[("rect",)]]), "OCR"),
        ("kind.md", lambda make_pdf: b"---\ntitle: Odd\nkind: nonsense\n---\n\nSome words about ferries.\n",
         "unknown kind 'nonsense'"),
        ("yaml.md", lambda make_pdf: b"---\ntitle: [unclosed\nkind: evidence\n---\n\nWords.\n", "front matter is not valid YAML"),
        ("list.md", lambda make_pdf: b"---\n- a\n- b\n---\n\nWords about ferries.\n", "front matter is not a mapping"),
        ("nokind.txt", lambda make_pdf: b"A plain note about ferries with no kind anywhere.\n", "no --kind given"),
    ],
)  # fmt: skip
def test_bad_file_in_a_batch(cli_runner, tmp_path, make_pdf, name, make, reason):
    bad = tmp_path / name
    bad.write_bytes(make(make_pdf))
    result, db_path, good = run_batch(cli_runner, tmp_path, str(bad))
    assert_failed_cleanly(result, db_path, good, str(bad), reason)


def test_missing_file_in_a_batch(cli_runner, tmp_path):
    bad = str(tmp_path / "not-there.html")
    result, db_path, good = run_batch(cli_runner, tmp_path, bad)
    assert_failed_cleanly(result, db_path, good, bad, "no such file")


def test_encrypted_pdf_is_really_encrypted(make_pdf):
    from pypdf import PdfReader

    assert PdfReader(io.BytesIO(encrypted_pdf(make_pdf))).is_encrypted


def test_non_utf8_text_succeeds(cli_runner, tmp_path):
    bad = tmp_path / "cp1252.txt"
    bad.write_bytes(b"The caf\xe9 on the quay was \x93quoted\x94 in the harbour report \x96 twice, with the owner\x92s view.\n")
    result, db_path, _good = run_batch(cli_runner, tmp_path, str(bad), "--kind", "evidence")
    assert result.exit_code == 0, result.output
    assert "2 ingested" in result.stderr
    text = tracker.open_db(db_path).execute("select text from documents where source_path = ?", [str(bad)]).fetchone()[0]
    assert text == "The café on the quay was “quoted” in the harbour report – twice, with the owner’s view."
    check_database(db_path)


def test_html_with_scripts_and_styles_succeeds_without_them(cli_runner, tmp_path):
    page = tmp_path / "scripts.html"
    page.write_text(
        "<html><head><style>.hidden-style-token{display:none}</style>"
        "<script>var token = 'SCRIPT-TOKEN-1';</script></head><body>"
        "<h1>Harbour board minutes for the spring meeting</h1>"
        "<p>The board agreed the summer timetable and asked operators to publish cancellations online quickly.</p>"
        "<script type='text/javascript'>document.write('SCRIPT-TOKEN-2')</script>"
        "<p>Residents asked about fares for carers, and the board promised an answer at the next meeting.</p>"
        "<noscript>SCRIPT-TOKEN-3</noscript></body></html>"
    )
    result, db_path, _good = run_batch(cli_runner, tmp_path, str(page), "--kind", "evidence")
    assert result.exit_code == 0, result.output
    db = tracker.open_db(db_path)
    text = db.execute("select text from documents where source_path = ?", [str(page)]).fetchone()[0]
    assert "The board agreed the summer timetable" in text
    for token in ("SCRIPT-TOKEN-1", "SCRIPT-TOKEN-2", "SCRIPT-TOKEN-3", "hidden-style-token", "document.write"):
        assert token not in text
        assert db.execute("select count(*) from passages where text like ?", [f"%{token}%"]).fetchone()[0] == 0
    check_database(db_path)


def test_bad_front_matter_date_in_a_batch(cli_runner, tmp_path):
    bad = tmp_path / "baddate.md"
    bad.write_text("---\ntitle: Dated note\nkind: evidence\ndate: sometime soon\n---\n\nWords about ferries.\n")
    result, db_path, good = run_batch(cli_runner, tmp_path, str(bad))
    assert_failed_cleanly(result, db_path, good, str(bad), "date")


def test_unknown_review_slug_is_a_clear_error(cli_runner, tmp_path):
    good = tmp_path / "good.md"
    good.write_text(GOOD_NOTE)
    result = cli_runner.invoke(cli, ["ingest", str(tmp_path / "t.db"), str(good), "--review", "no-such-review"])
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "no-such-review" in result.output


# --- database paths -----------------------------------------------------------------------------------


def test_init_in_missing_folder_is_a_clear_error(cli_runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = cli_runner.invoke(cli, ["init", "missing/dir/x.db"])
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    [line] = [line for line in result.output.splitlines() if line.strip()]
    assert "missing/dir/x.db" in line and "does not exist" in line
    assert not (tmp_path / "missing").exists()


def test_database_that_is_not_sqlite(cli_runner, tmp_path):
    fake = tmp_path / "x.db"
    content = ("this is a plain text file, not a database\n" * 60)[:2048]
    fake.write_text(content)
    good = tmp_path / "good.md"
    good.write_text(GOOD_NOTE)
    for args in (["init", str(fake)], ["ingest", str(fake), str(good)], ["documents", str(fake)]):
        result = cli_runner.invoke(cli, args)
        assert result.exit_code == 1, args
        assert isinstance(result.exception, SystemExit)
        assert "Traceback" not in result.output
        assert str(fake) in result.output and "not a tracker database" in result.output
    assert fake.read_text() == content  # left untouched
    with pytest.raises(tracker.TrackerError, match="not a tracker database"):
        tracker.open_db(fake)


def test_database_path_is_a_folder(tmp_path):
    with pytest.raises(tracker.TrackerError, match="is a folder"):
        tracker.open_db(tmp_path)


# --- URLs ---------------------------------------------------------------------------------------------

BIG_BODY = b"ferry timetable words " * 400  # 8800 bytes


class Handler(BaseHTTPRequestHandler):
    review_html = b""

    def log_message(self, *args) -> None:  # keep the test output quiet
        pass

    def send_body(self, body: bytes, content_type: str, length: bool = True) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        if length:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path == "/review.html":
            self.send_body(self.review_html, "text/html; charset=utf-8")
        elif self.path == "/note.txt":
            self.send_body(b"A short note about ferries, served over HTTP.", "text/plain; charset=utf-8")
        elif self.path == "/picture.png":
            self.send_body(b"\x89PNG\r\n\x1a\n" + bytes(64), "image/png")
        elif self.path == "/big.txt":
            self.send_body(BIG_BODY, "text/plain")
        elif self.path == "/big-no-length.txt":
            self.send_body(BIG_BODY, "text/plain", length=False)
            self.close_connection = True
        elif self.path == "/slow":
            time.sleep(3)
            self.send_body(b"too late", "text/plain")
        else:
            self.send_error(404)


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:  # the slow handler writes to a closed socket
        pass


@pytest.fixture(scope="module")
def server():
    fixture = Path(__file__).resolve().parent / "fixtures" / "review_govuk.html"
    Handler.review_html = fixture.read_bytes() if fixture.exists() else b""
    httpd = QuietServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_url_success(cli_runner, tmp_path, server):
    assert Handler.review_html, "committed fixture tests/fixtures/review_govuk.html is missing"
    url = f"{server}/review.html"
    db_path = tmp_path / "t.db"
    result = cli_runner.invoke(cli, ["ingest", str(db_path), url, "--kind", "review", "--expect", "36"])
    assert result.exit_code == 0, result.output
    assert "warning" not in result.output
    db = tracker.open_db(db_path)
    assert db.execute("select url, source_path, format from documents").fetchone() == (url, url, "html")
    assert db.execute("select count(*) from recommendations where parent_id is null").fetchone()[0] == 36
    check_database(db_path)


@pytest.mark.parametrize(
    ("path", "reason"),
    [("/missing.html", "HTTP 404"), ("/picture.png", "unsupported content type image/png")],
)
def test_url_errors_in_a_batch(cli_runner, tmp_path, server, path, reason):
    url = f"{server}{path}"
    result, db_path, good = run_batch(cli_runner, tmp_path, url)
    assert_failed_cleanly(result, db_path, good, url, reason)


def test_connection_refused_in_a_batch(cli_runner, tmp_path):
    url = f"http://127.0.0.1:{free_port()}/gone.html"
    result, db_path, good = run_batch(cli_runner, tmp_path, url)
    assert_failed_cleanly(result, db_path, good, url, "cannot fetch")
    assert "refused" in result.stderr.lower()


def test_oversize_body_in_a_batch(cli_runner, tmp_path, server, monkeypatch):
    ingest_module = sys.modules["tracker.ingest"]
    monkeypatch.setattr(ingest_module, "read_source", functools.partial(read_source, max_bytes=2000))
    url = f"{server}/big.txt"
    result, db_path, good = run_batch(cli_runner, tmp_path, url)
    assert_failed_cleanly(result, db_path, good, url, "exceeds the 2000-byte cap")


@pytest.mark.parametrize("path", ["/big.txt", "/big-no-length.txt"])
def test_read_source_size_cap(server, path):
    with pytest.raises(ExtractionError, match="exceeds the 1000-byte cap"):
        read_source(f"{server}{path}", max_bytes=1000)
    assert read_source(f"{server}{path}", max_bytes=len(BIG_BODY)).data == BIG_BODY


def test_read_source_timeout(server):
    with pytest.raises(ExtractionError, match="timed out"):
        read_source(f"{server}/slow", timeout=0.5)


def test_read_source_url_ok(server):
    source = read_source(f"{server}/note.txt")
    assert source.is_url and source.content_type == "text/plain"
    assert source.data.startswith(b"A short note about ferries")


def test_read_source_local_file_size_cap(tmp_path):
    path = tmp_path / "big.txt"
    path.write_bytes(b"x" * (2 * 1024 * 1024 + 10))
    with pytest.raises(ExtractionError, match="larger than 2 MB"):
        read_source(str(path), max_bytes=2 * 1024 * 1024)
