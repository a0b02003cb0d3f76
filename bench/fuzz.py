"""Fuzz the ingest path with a seeded generator: malformed HTML, PDF bytes, text in many encodings
(and hostile front matter), URLs (checked, and fetched from a local server that answers badly) and
dates. Every case must end as a stored document or one failure line; none may raise, and the
database must stay whole (`pragma integrity_check`, foreign keys, no orphan rows).

    python bench/fuzz.py --cases 2000             # the larger run (figures in bench/README.md)
    python bench/fuzz.py --cases 300 --seconds 20 --seed 7

`tests/test_fuzz.py` runs `run()` at a small size as part of the test suite.
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import argparse
import io
import logging
import random
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import tracker
from tracker.dates import DateError, parse_date
from tracker.errors import ExtractionError
from tracker.extract.sources import check_url

KINDS = ("html", "pdf", "text", "url", "date")
TAGS = ["p", "div", "span", "h1", "h2", "h3", "ul", "ol", "li", "table", "tr", "td", "th", "main", "article", "section", "script", "style",
        "a", "b", "br", "img", "svg", "template", "iframe", "nav", "pre", "dl", "dt", "dd", "noscript", "form", "body", "html", "head", "title"]  # fmt: skip
WORDS = ["ferry", "harbour", "board", "timetable", "Recommendation", "12", "R7", "recs", "3–5", "NHS", "England", "HM", "Treasury",
         "para.", "No.", "e.g.", "—", "“", "”", "’", "£", "(register: prevention-share)"]  # fmt: skip
ALPHABETS = ["abcdefghijklmnopqrstuvwxyz  .,;:!?", "αβγδεζηθικλμνξοπρστυφχψω ", "абвгдежзийклмнопрстуфхцчшщ ", "日本語の文章です。フェリー ",
             "\u0000\u0001\u0007\u001b\u007f\u200b\u202e\ufeff\ud7ff", "🚢⚓️🌊 ", "0123456789-/:T "]  # fmt: skip
ENCODINGS = [
    "utf-8",
    "utf-8-sig",
    "utf-16",
    "utf-16-le",
    "utf-16-be",
    "utf-32",
    "utf-32-le",
    "utf-32-be",
    "latin-1",
    "cp1252",
    "shift_jis",
    "koi8-r",
    "iso-8859-7",
    "gb18030",
]
FIELDS = ["title", "kind", "date", "date_precision", "publisher", "author", "url", "assessor", "confidence", "review", "recommendations", "signals"]
VALUES = ["2023-02-30", "2023-13-01", "2023", "2023-06", "2024-02-29", "[1, 2]", "{a: 1}", "null", "evidence", "review", "nonsense", "day", "month",
          "unverified", "fortnight", "12", "-1", "true", "2023-06-01T10:00:00Z", "'2023-04-31'", "&anchor x", "*anchor", "!!binary aGVsbG8=", "~"]  # fmt: skip


@dataclass
class Report:
    cases: int = 0
    by_kind: Counter = field(default_factory=Counter)
    outcomes: Counter = field(default_factory=Counter)
    reasons: Counter = field(default_factory=Counter)  # failure reasons, cut before their details
    problems: list[str] = field(default_factory=list)
    integrity: str = "not checked"
    seconds: float = 0.0

    def summary(self) -> str:
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(self.by_kind.items()))
        outcomes = ", ".join(f"{k} {n}" for k, n in self.outcomes.most_common())
        return (f"{self.cases} cases in {self.seconds:.1f}s ({self.cases / max(self.seconds, 1e-9):.0f}/s): {kinds}\n"
                f"outcomes: {outcomes}\nproblems: {len(self.problems)}; integrity: {self.integrity}\n"
                "failure reasons: " + "; ".join(f"{reason} {n}" for reason, n in self.reasons.most_common(12)))  # fmt: skip


def text_of(rng: random.Random, n: int) -> str:
    alphabet = rng.choice(ALPHABETS) if rng.random() < 0.3 else None
    if alphabet:
        return "".join(rng.choice(alphabet) for _ in range(n))
    return " ".join(rng.choice(WORDS) for _ in range(max(1, n // 6)))


def gen_html(rng: random.Random) -> tuple[str, bytes]:
    parts: list[str] = []
    for _ in range(rng.randint(0, 60)):
        roll = rng.random()
        tag = rng.choice(TAGS)
        attrs = rng.choice(
            ["", ' class="govspeak"', ' type="a" start="99999999"', ' start="-3" type="i"', " hidden", ' type="I" start="0"', f' x="{text_of(rng, 5)}"']
        )
        if roll < 0.45:
            parts.append(f"<{tag}{attrs}>{text_of(rng, rng.randint(0, 80))}")
        elif roll < 0.75:
            parts.append(f"</{tag}>")
        elif roll < 0.85:
            parts.append(rng.choice(["<!--", "-->", "<![CDATA[", "]]>", "&amp", "&#xFFFFFFFF;", "&#0;", "<", ">", "<!DOCTYPE html>", "\x00"]))
        else:
            parts.append(f"<{tag}>" * rng.randint(50, 400))  # deep nesting
    html = "".join(parts)
    data = html.encode(rng.choice(["utf-8", "utf-16", "latin-1", "cp1252"]), "replace")
    return rng.choice(["page.html", "page.htm", "page.txt", "noext"]), data


def base_pdf(rng: random.Random) -> bytes:
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer)
    for page in range(rng.randint(1, 4)):
        for line in range(rng.randint(0, 8)):
            pdf.drawString(72, 760 - 14 * line, "".join(ch for ch in text_of(rng, 60) if ch.isprintable())[:90])
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def gen_pdf(rng: random.Random) -> tuple[str, bytes]:
    data = bytearray(base_pdf(rng))
    roll = rng.random()
    if roll < 0.25:
        data = data[: rng.randint(0, len(data))]
    elif roll < 0.55:
        for _ in range(rng.randint(1, 30)):
            data[rng.randrange(len(data))] = rng.randrange(256)
    elif roll < 0.65:
        data = bytearray(b"%PDF-1.7\n" + bytes(rng.randrange(256) for _ in range(rng.randint(0, 3000))))
    elif roll < 0.8:
        from pypdf import PdfReader, PdfWriter

        writer = PdfWriter()
        writer.append(PdfReader(io.BytesIO(bytes(data))))
        writer.encrypt(user_password=rng.choice(["", "secret"]), owner_password="owner", algorithm=rng.choice(["RC4-128", "AES-128", "AES-256"]))
        out = io.BytesIO()
        writer.write(out)
        data = bytearray(out.getvalue())
    elif roll < 0.9:
        cut = rng.randrange(len(data))
        data[cut:cut] = data[: rng.randint(0, len(data))]  # spliced into itself
    return "doc.pdf", bytes(data)


def gen_text(rng: random.Random) -> tuple[str, bytes]:
    roll = rng.random()
    if roll < 0.15:
        return "junk.txt", bytes(rng.randrange(256) for _ in range(rng.randint(0, 3000)))
    if roll < 0.2:
        return "nul.txt", b"\x00" * rng.randint(1, 500)
    body = "\n\n".join(text_of(rng, rng.randint(0, 300)) for _ in range(rng.randint(0, 12)))
    if roll < 0.6:
        lines = [f"{rng.choice(FIELDS)}: {rng.choice(VALUES)}" for _ in range(rng.randint(0, 6))]
        body = "---\n" + "\n".join(lines) + ("\n---\n\n" if rng.random() < 0.9 else "\n") + body
    encoding = rng.choice(ENCODINGS)
    return rng.choice(["note.md", "note.txt", "note.markdown"]), body.encode(encoding, "replace")


def gen_url(rng: random.Random, base: str) -> str:
    if rng.random() < 0.4:
        path = "".join(rng.choice("abc/%?#&=é .~:@[]\\\x00\x7f") for _ in range(rng.randint(0, 20)))
        return f"{base}/case/{rng.randrange(10**6)}/{path}"
    scheme = rng.choice(["http", "https", "HTTP", "ftp", "file", "javascript", "data", "mailto", "ht tp", "", "h"])
    host = rng.choice(["127.0.0.1", "[::1", "exa mple.com", "-bad-.example", "a..b", "bücher.example", "%zz", "", "x" * 70 + ".example",
                       "user:pw@127.0.0.1", "127.0.0.1:99999", "127.0.0.1:0", "[::1]:", "127.0.0.1:abc"])  # fmt: skip
    path = "".join(rng.choice("abc/%?#&=é .~:@") for _ in range(rng.randint(0, 15)))
    return f"{scheme}://{host}/{path}" if rng.random() < 0.8 else f"{scheme}:{host}{path}"


def gen_date(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return f"{rng.randint(0, 9999):04d}-{rng.randint(0, 14):02d}-{rng.randint(0, 33):02d}"[: rng.choice([4, 7, 10, 10, 10])]
    return "".join(rng.choice("0123456789-/T: Z+.٢x") for _ in range(rng.randint(0, 16)))


class FuzzServer(BaseHTTPRequestHandler):
    """Answers each path with a response chosen by its hash: odd statuses, types, lengths and bodies."""

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        rng = random.Random(self.path)
        status = rng.choice([200, 200, 200, 200, 404, 500, 301, 302])
        if status in (301, 302):
            self.send_response(status)
            self.send_header("Location", rng.choice(["ftp://127.0.0.1/x", "javascript:alert(1)", "file:///etc/hostname", "/case/1", "http://[::1"]))
            self.end_headers()
            return
        _, body = rng.choice([gen_html, gen_text, gen_pdf])(rng)
        self.send_response(status)
        self.send_header("Content-Type", rng.choice(["text/html", "text/plain", "application/pdf", "image/png", "text/markdown; charset=utf-16", "bogus"]))
        self.send_header("Content-Length", str(len(body) + rng.choice([0, 0, 0, 50, -1])))
        self.end_headers()
        self.wfile.write(body)


def serve() -> tuple[ThreadingHTTPServer, str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), FuzzServer)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}"


def check_result(result, report: Report, label: str) -> None:
    report.outcomes[result.status] += 1
    if result.status == "failed" and result.reason:
        report.reasons[result.reason.split(" (")[0].split(": ")[0][:60]] += 1
    if result.status not in ("ingested", "updated", "unchanged", "failed"):
        report.problems.append(f"{label}: status {result.status!r}")
    if result.status == "failed" and (not result.reason or "\n" in result.reason or len(result.reason) > 400):
        report.problems.append(f"{label}: failure reason not one short line: {result.reason!r}")


def one_case(db, folder: Path, rng: random.Random, kind: str, index: int, base: str, analyzer, report: Report) -> None:
    label = f"case {index} ({kind})"
    if kind == "url":
        url = gen_url(rng, base)
        try:
            checked = check_url(url)
        except ExtractionError as error:
            checked, report.outcomes["url refused"] = None, report.outcomes["url refused"] + 1
            if "\n" in str(error):
                report.problems.append(f"{label}: {error!r}")
        if checked is None or checked.startswith(base):  # never fetch a host outside this machine
            check_result(tracker.ingest(db, url, {"kind": "evidence"}, analyzer=analyzer), report, label)
        return
    if kind == "date":
        value = gen_date(rng)
        try:
            parsed = parse_date(value)
            assert parse_date(parsed.iso) == parsed and parsed.first_day <= parsed.last_day
        except DateError:
            pass
        path = folder / f"dated{index}.txt"
        path.write_text(f"A note dated {value!r} about ferries, case {index}.\n")
        result = tracker.ingest(db, str(path), {"kind": "evidence", "published": value}, analyzer=analyzer)
        check_result(result, report, label)
        stored = db.execute("select published, date_precision from documents where id = ?", [result.document_id]).fetchone()
        if result.status == "ingested" and stored[0] is not None:
            parsed = parse_date(stored[0])
            if (parsed.iso, parsed.precision) != tuple(stored):
                report.problems.append(f"{label}: stored date {stored} does not parse back")
        return
    name, data = {"html": gen_html, "pdf": gen_pdf, "text": gen_text}[kind](rng)
    path = folder / f"{index}-{name}"
    path.write_bytes(data)
    meta = {"kind": "evidence"} if rng.random() < 0.8 else {}
    check_result(tracker.ingest(db, str(path), meta, replace=rng.random() < 0.1, analyzer=analyzer, password=rng.choice([None, "secret"])), report, label)


def check_database(db) -> str:
    problems = []
    if (answer := db.execute("pragma integrity_check").fetchone()[0]) != "ok":
        problems.append(f"integrity_check: {answer}")
    if db.execute("pragma foreign_key_check").fetchall():
        problems.append("foreign_key_check failed")
    for table in ("passages", "entities", "mentions", "links"):
        if db.execute(f"select count(*) from {table} where document_id not in (select id from documents)").fetchone()[0]:
            problems.append(f"orphan rows in {table}")
    text_mismatch = db.execute(
        "select count(*) from passages p join documents d on d.id = p.document_id where substr(d.text, p.start + 1, p.end - p.start) != p.text"
    )
    if text_mismatch.fetchone()[0]:
        problems.append("passage offsets do not slice the stored text")
    return "; ".join(problems) or "ok"


def run(cases: int = 2000, seed: int = 0, seconds: float | None = None) -> Report:
    """Run `cases` fuzz cases (or fewer, if `seconds` runs out first) into a fresh database."""
    from tracker.segment import get_analyzer

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # the generator reads PDFs too (to encrypt them)
    rng, report, analyzer = random.Random(seed), Report(), get_analyzer()
    httpd, base = serve()
    started = time.perf_counter()
    try:
        with tempfile.TemporaryDirectory(prefix="tracker-fuzz-") as tmp:
            folder = Path(tmp)
            db = tracker.open_db(folder / "fuzz.db")
            for index in range(cases):
                if seconds is not None and time.perf_counter() - started > seconds:
                    break
                kind = KINDS[index % len(KINDS)]
                report.cases += 1
                report.by_kind[kind] += 1
                try:
                    one_case(db, folder, rng, kind, index, base, analyzer, report)
                except Exception:  # noqa: BLE001 - the point of the run: any exception is a finding
                    report.problems.append(f"case {index} ({kind}) raised:\n{traceback.format_exc()}")
                if index % 250 == 249 and (state := check_database(db)) != "ok":
                    report.problems.append(f"after case {index}: {state}")
            report.integrity = check_database(db)
            db.close()
    finally:
        httpd.shutdown()
        httpd.server_close()
    report.seconds = time.perf_counter() - started
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=2000, help="how many cases (default 2000)")
    parser.add_argument("--seed", type=int, default=0, help="the generator's seed (default 0)")
    parser.add_argument("--seconds", type=float, help="stop after this many seconds")
    args = parser.parse_args()
    report = run(args.cases, args.seed, args.seconds)
    print(report.summary())
    for problem in report.problems[:20]:
        print("-" * 60, problem, sep="\n")
    return 1 if report.problems or report.integrity != "ok" else 0


if __name__ == "__main__":
    sys.exit(main())
