"""Inputs issue 13 found misread (items 3, 4, 7): encrypted PDFs, pages whose lines share one shape,
malformed and non-http URLs, UTF-16/32 and other encodings, and a text with no paragraph breaks."""

from __future__ import annotations

import configparser
import io
import subprocess
import sys
from pathlib import Path

import pytest

import tracker
from tracker.cli import cli
from tracker.errors import ExtractionError
from tracker.extract import extract
from tracker.extract.sources import check_url, is_url

ROOT = Path(__file__).resolve().parents[1]
GOOD = "---\ntitle: A good note about ferries\nkind: evidence\n---\n\nThe good note says the pier reopened in May.\n"
PAGE_TEXT = "A page about the island ferry services and their winter timetables."


def encrypt(make_pdf, algorithm: str, user: str = "", owner: str = "owner-secret") -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    writer.append(PdfReader(io.BytesIO(make_pdf([[PAGE_TEXT]]))))
    writer.encrypt(user_password=user, owner_password=owner, algorithm=algorithm)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def ingest_batch(cli_runner, tmp_path: Path, *sources: str, extra: tuple[str, ...] = (), env: dict | None = None):
    good = tmp_path / "good.md"
    good.write_text(GOOD)
    db_path = tmp_path / "t.db"
    result = cli_runner.invoke(cli, ["ingest", str(db_path), *sources, str(good), "--kind", "evidence", *extra], env=env)
    return result, db_path


def source_lines(result, source: str) -> list[str]:
    return [line for line in result.output.splitlines() if source in line]


# --- PDFs (item 3) -----------------------------------------------------------------------------------


def test_setup_declares_what_pypdf_needs_for_aes():
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    requires = config["options"]["install_requires"]
    assert "pypdf[crypto]" in requires.replace(" ", "") or "cryptography" in requires


@pytest.mark.parametrize("algorithm", ["AES-128", "AES-256", "RC4-128"])
def test_owner_password_only_pdf_is_ingested(db, tmp_path, make_pdf, algorithm):
    path = tmp_path / "owner.pdf"
    path.write_bytes(encrypt(make_pdf, algorithm))
    result = tracker.ingest(db, str(path), {"kind": "evidence"})
    assert result.status == "ingested", result.reason
    assert PAGE_TEXT in db.execute("select text from documents").fetchone()[0]


def test_user_password_pdf_asks_for_it_and_opens_with_it(cli_runner, tmp_path, make_pdf):
    secret = "ferry-Password-42"
    path = tmp_path / "locked.pdf"
    path.write_bytes(encrypt(make_pdf, "AES-256", user=secret))
    result, db_path = ingest_batch(cli_runner, tmp_path, str(path))
    [line] = source_lines(result, str(path))
    assert result.exit_code == 1 and "password-protected" in line and "--password" in line and "TRACKER_PDF_PASSWORD" in line
    wrong, _ = ingest_batch(cli_runner, tmp_path, str(path), extra=("--password", "not-it"))
    assert "the password given does not open it" in source_lines(wrong, str(path))[0]
    assert "not-it" not in wrong.output
    for extra, env in (((("--password", secret)), None), ((), {"TRACKER_PDF_PASSWORD": secret})):
        opened, _ = ingest_batch(cli_runner, tmp_path, str(path), extra=extra, env=env)
        assert opened.exit_code == 0, opened.output
        assert secret not in opened.output
    assert tracker.open_db(db_path).execute("select count(*) from documents where text like ?", [f"%{PAGE_TEXT}%"]).fetchone()[0] == 1
    stored = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("t.db"))
    assert secret.encode() not in stored  # the password is in no file of the database


def test_aes_without_cryptography_names_the_missing_package(tmp_path, make_pdf):
    path = tmp_path / "aes.pdf"
    path.write_bytes(encrypt(make_pdf, "AES-256"))
    script = (
        "import sys\nsys.modules['cryptography'] = None\nsys.modules['Crypto'] = None\n"  # as on a machine without them
        "from tracker.extract import extract\nfrom tracker.errors import ExtractionError\n"
        f"try:\n    extract(open({str(path)!r}, 'rb').read(), 'aes.pdf')\nexcept ExtractionError as error:\n    print(error)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False)
    assert "needs the 'cryptography' package" in result.stdout, result.stdout + result.stderr


def test_pages_whose_lines_share_one_shape_keep_their_text(make_pdf):
    pages = [[f"Ferry log entry {page}.{line}: the crossing ran to time with {line * 3} passengers." for line in range(1, 5)] for page in range(1, 7)]
    text = extract(make_pdf(pages), "log.pdf").render()
    for page in range(1, 7):
        assert f"Ferry log entry {page}.1:" in text and f"Ferry log entry {page}.4:" in text


def test_one_line_pages_of_one_shape_keep_their_text(make_pdf):
    pages = [[f"Ferry log entry {page}: the crossing ran to time with {page * 3} passengers aboard."] for page in range(1, 7)]
    text = extract(make_pdf(pages), "log.pdf").render()
    assert all(f"Ferry log entry {page}:" in text for page in range(1, 7))


def test_running_header_is_still_removed(make_pdf):
    pages = [[f"Page {n} body: the harbour board met and agreed item {n} of the winter plan.", "A second line of body text here."] for n in range(1, 7)]
    text = extract(make_pdf(pages, header="Island Ferries Review 2024", footer="Page {page}"), "r.pdf").render()
    assert "Island Ferries Review 2024" not in text and "item 6 of the winter plan" in text


# --- URLs (item 4) -----------------------------------------------------------------------------------

BAD_URLS = [
    ("http://exa mple.com/%%%", "malformed URL: it contains a space"),
    ("http://[::1", "malformed URL: Invalid IPv6 URL"),
    ("http://example.com/%zz", "'%' not followed by two hexadecimal digits"),
    ("http://example.com:99999/x", "Port out of range"),
    ("http:///no-host", "malformed URL: no host"),
    ("http://-bad-.example/", "bad host"),
    ("http://user:secret@example.com/", "user name or password"),
    ("file:///etc/hostname", "unsupported URL scheme 'file'"),
    ("ftp://example.com/report.pdf", "unsupported URL scheme 'ftp'"),
    ("javascript:alert(1)", "unsupported URL scheme 'javascript'"),
]


@pytest.mark.parametrize(("url", "reason"), BAD_URLS)
def test_check_url_refuses_with_one_line(url, reason):
    assert is_url(url)
    with pytest.raises(ExtractionError, match=reason.replace("(", r"\(").replace("?", r"\?")) as caught:
        check_url(url)
    assert "\n" not in str(caught.value)


def test_bad_urls_in_a_batch_fail_alone(cli_runner, tmp_path):
    urls = [url for url, _ in BAD_URLS]
    result, db_path = ingest_batch(cli_runner, tmp_path, *urls)
    assert result.exit_code == 1 and "Traceback" not in result.output
    for url, reason in BAD_URLS:
        lines = [line for line in result.stderr.splitlines() if line.startswith(f"failed     {url}:")]
        assert len(lines) == 1 and reason in lines[0], (url, result.stderr)
    assert "1 ingested" in result.stderr and f"{len(urls)} failed" in result.stderr
    assert "secret" not in tracker.open_db(db_path).execute("select group_concat(source_path) from documents").fetchone()[0]


def test_check_url_normalises():
    assert check_url("HTTP://Example.COM:80/a/b?q=1#part") == "http://example.com/a/b?q=1"
    assert check_url("https://bücher.example/ä") == "https://xn--bcher-kva.example/%C3%A4"
    assert check_url("http://[::1]:8080") == "http://[::1]:8080/"


def test_local_names_that_look_like_schemes_stay_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("notes:v2.md").write_text(GOOD)
    assert not is_url("notes:v2.md") and not is_url("C:/reports/x.md") and is_url("http:/x")


# --- text encodings (item 7) -------------------------------------------------------------------------

GREEK = (
    "Ο λιμενικός σύνδεσμος συνεδρίασε την Τρίτη. Αποφάσισε να δημοσιεύσει το χειμερινό πρόγραμμα των δρομολογίων "
    "στο διαδίκτυο. Οι κάτοικοι του νησιού ζήτησαν φθηνότερα εισιτήρια για τους φροντιστές."
)
SAMPLE = "Café on the quay: the ferry’s timetable — “winter” edition.\n\nIt runs twice a day."


@pytest.mark.parametrize(
    "data",
    [
        SAMPLE.encode("utf-16"),  # with BOM
        SAMPLE.encode("utf-16-le"),
        SAMPLE.encode("utf-16-be"),
        SAMPLE.encode("utf-32"),
        SAMPLE.encode("utf-32-le"),
        SAMPLE.encode("utf-32-be"),
        SAMPLE.encode("utf-8-sig"),
    ],
    ids=["utf16-bom", "utf16le", "utf16be", "utf32-bom", "utf32le", "utf32be", "utf8-bom"],
)
def test_wide_and_marked_encodings_decode(data):
    assert extract(data, "note.txt").render() == SAMPLE.replace("\n\n", "\n\n")


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        (GREEK, "iso-8859-7"),
        ("Паром на остров: зимнее расписание изменилось, и жители написали письмо в совет.", "koi8-r"),
        ("フェリーの冬の時刻表が変わり、島の住民は議会に手紙を書きました。運航会社は説明を約束しました。", "shift_jis"),
    ],
)
def test_other_encodings_charset_detection_finds(text, encoding):
    assert extract(text.encode(encoding), "note.txt").render() == text


def test_utf16_html_is_read_as_html():
    body = "The board agreed the winter timetable for every island route and asked operators to publish cancellations. " * 3
    page = f"<html><body><h1>Harbour minutes</h1><p>{body.strip()}</p></body></html>"
    extracted = extract(page.encode("utf-16"), "page.html")
    assert extracted.format == "html" and extracted.blocks[0].text == "Harbour minutes"


@pytest.mark.parametrize("data", [b"\x00" * 64, b"\x00\x01\x02\x03" * 256, bytes(range(256)) * 8, "\x00\x00 text".encode("utf-16")])
def test_nul_only_and_binary_are_still_refused(data):
    with pytest.raises(ExtractionError, match="binary data"):
        extract(data, "junk.txt")


def test_utf16_file_ingests_through_the_cli(cli_runner, tmp_path):
    path = tmp_path / "wide.txt"
    path.write_bytes(SAMPLE.encode("utf-16"))
    result, db_path = ingest_batch(cli_runner, tmp_path, str(path))
    assert result.exit_code == 0, result.output
    assert tracker.open_db(db_path).execute("select count(*) from documents where text like 'Café%'").fetchone()[0] == 1


def test_text_without_paragraph_breaks_over_spacys_limit(db, tmp_path):
    path = tmp_path / "one-line.txt"
    sentence = "The harbour board reviewed the winter timetable and agreed to publish changes online. "
    path.write_text(sentence * 14_000)  # ~1.2 M characters on one line: more than spaCy takes at once
    result = tracker.ingest(db, str(path), {"kind": "evidence"})
    assert result.status == "ingested", result.reason
    assert result.passages > 1000
    document = db.execute("select text from documents").fetchone()[0]
    for start, end, text in db.execute("select start, end, text from passages limit 50"):
        assert document[start:end] == text
