"""Shared fixtures. Keep this file small: test-specific helpers belong in the test modules; what
several modules share (the published database of the Datasette tests) is built here, once."""

from __future__ import annotations

import importlib.util
import io
from pathlib import Path

import pytest

import tracker

TESTS = Path(__file__).resolve().parent
FIXTURES = TESTS / "fixtures"
# Real public documents, read at run time only (never copied into the tests).
SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"


@pytest.fixture(scope="session")
def fixture_file():
    """fixture_file(name) -> Path under tests/fixtures/; a committed fixture that is missing fails the test."""

    def find(name: str) -> Path:
        path = FIXTURES / name
        if not path.exists():
            pytest.fail(f"committed fixture tests/fixtures/{name} is missing")
        return path

    return find


@pytest.fixture(scope="session")
def analyzer():
    """The blank spaCy pipeline with the tracker's components (no trained model, no embeddings)."""
    from tracker.segment import get_analyzer

    return get_analyzer()


@pytest.fixture(scope="session")
def seeds_dir() -> Path:
    if not SEEDS.is_dir():
        pytest.skip(f"seed documents folder {SEEDS} is absent")
    return SEEDS


@pytest.fixture
def db(tmp_path):
    """A fresh, migrated tracker database in a temporary folder."""
    return tracker.open_db(tmp_path / "tracker.db")


@pytest.fixture
def cli_runner():
    from click.testing import CliRunner

    return CliRunner()


@pytest.fixture(scope="session")
def make_pdf():
    """make_pdf(pages, title=None) -> bytes: a PDF drawn with reportlab, one list of lines per page.

    A line is a string (drawn as text) or the tuple ("rect",) to draw a filled rectangle (no text)."""
    pytest.importorskip("reportlab")
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    def build(pages: list[list], title: str | None = None, header: str | None = None, footer: str | None = None) -> bytes:
        buffer = io.BytesIO()
        pdf = canvas.Canvas(buffer, pagesize=A4)
        if title:
            pdf.setTitle(title)
        width, height = A4
        for number, lines in enumerate(pages, start=1):
            pdf.setFont("Helvetica", 8)
            if header:
                pdf.drawString(56, height - 36, header)
            if footer:
                pdf.drawCentredString(width / 2, 36, footer.format(page=number))
            pdf.setFont("Helvetica", 10)
            y = height - 80
            for line in lines:
                if line == ("rect",):
                    pdf.rect(100, 200, 300, 400, fill=1)
                else:
                    pdf.drawString(56, y, line)
                    y -= 13
            pdf.showPage()
        pdf.save()
        return buffer.getvalue()

    return build


@pytest.fixture(scope="session")
def review_pdf(tmp_path_factory) -> Path:
    """The fictional Marlow Review (review_spec.json) built as a PDF by tests/fixtures/make_review_pdf.py."""
    script = FIXTURES / "make_review_pdf.py"
    spec = FIXTURES / "review_spec.json"
    if not script.exists() or not spec.exists():
        pytest.fail("committed fixture tests/fixtures/make_review_pdf.py or review_spec.json is missing")
    module_spec = importlib.util.spec_from_file_location("make_review_pdf", script)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module.build_pdf(spec, tmp_path_factory.mktemp("review_pdf") / "review_marlow.pdf")


# The published database: what test_publish, test_datasette, test_search and test_browser read.
REGISTER = TESTS.parent / "corpus" / "hewitt-2023" / "review.yaml"
PUBLISHED_DOCUMENTS = ["lga.md", "government.md", "evidence.md", "hostile.md"]  # in this order: hostile.md is document 4
HOSTILE = {"script": "<script>alert(1)</script>", "img": "<img src=x onerror=alert(1)>"}  # what hostile.md holds
# What a linker would have found (document title, words of the passage, register slug, task, reading,
# method, score, target date): given as rows, because these tests are about what is built on links.
PUBLISHED_LINKS = {
    "L-stance-1": ("Councils on the Hewitt Review", "support the prevention share", "prevention-share", "stance", "support", "explicit", None, None),
    "L-stance-2": ("Councils on the Hewitt Review", "running costs", "running-costs", "stance", "concern", "semantic", 0.61, None),
    "L-stance-3": (f"Hostile {HOSTILE['script']} digest", "dental reform", "dental-reform", "stance", "neutral", "semantic", 0.55, None),
    "L-pos-1": ("Government response to the Hewitt Review", "did not accept", "prevention-share", "position", "not_accepted", "explicit", None, None),
    "L-pos-2": ("Government response to the Hewitt Review", "fewer national targets", "national-priorities", "position", "accepted", "explicit", None, None),
    "L-sig-1": ("ICBs ordered to halve running costs", "cut their running costs", "running-costs", "signal", "reversed", "explicit", None, "2025-12-31"),
    "L-sig-2": ("ICBs ordered to halve running costs", "planning guidance", "national-priorities", "signal", "implemented", "semantic", 0.58, None),
}  # fmt: skip


def insert_links(db, links: dict[str, tuple]) -> None:
    """Links as a linker stores them, each on the one passage of its document holding its words."""
    rec_ids = {row["slug"]: row["id"] for row in db.query("select id, slug from recommendations")}
    rows = []
    for link_id, (title, words, slug, task, label, method, score, target) in links.items():
        found = list(
            db.query(
                "select p.id, p.document_id, p.text from passages p join documents d on d.id = p.document_id where d.title = ? and p.text like ?",
                [title, f"%{words}%"],
            )
        )
        assert len(found) == 1, f"{len(found)} passages of {title!r} hold {words!r}"
        passage = found[0]
        rows.append({"id": link_id, "passage_id": passage["id"], "document_id": passage["document_id"], "recommendation_id": rec_ids[slug], "task": task,
                     "label": label, "method": method, "score": score, "quote": passage["text"], "target_date": target})  # fmt: skip
    db["links"].insert_all(rows)


@pytest.fixture(scope="session")
def published_db(tmp_path_factory, fixture_file) -> Path:
    """The Hewitt register, four Markdown documents (tests/fixtures/published/, one of them hostile
    HTML) ingested, PUBLISHED_LINKS, a person's decisions (a similarity link confirmed, another
    rejected, a status set by hand), statuses and their history derived, then published with its
    metadata.json; all through the library. No embedding model."""
    from tracker.audit import decide_link, set_status
    from tracker.corpus import load_register
    from tracker.ingest import ingest
    from tracker.publish import publish, write_metadata

    path = tmp_path_factory.mktemp("published") / "tracker.db"
    db = tracker.open_db(path)
    load_register(db, REGISTER)
    for name in PUBLISHED_DOCUMENTS:
        result = ingest(db, str(fixture_file(f"published/{name}")), {"review": "hewitt-2023"})
        assert result.status == "ingested", result
    insert_links(db, PUBLISHED_LINKS)
    decide_link(db, "L-sig-2", "confirm", "ana", note="The guidance did cut the objectives")
    decide_link(db, "L-stance-3", "reject", "ana", "web", "Not about dental reform")
    set_status(db, "harps", "in_progress", "Checked by hand", "ben", source="https://example.org/harps", effective="2024-07-26")
    publish(db)
    db.close()
    write_metadata(path)
    return path


# A fixture ingest made "recently" (dates relative to today, given at ingest as `tracker ingest --date`
# would): a Markdown note (the tracker's words) that moves peer-review to in_progress, and a plain-text
# report (an outside document: quoted verbatim) linked by a machine below its auto threshold.
CHANGE_DOCUMENTS = {"recent_note.md": ({"review": "hewitt-2023"}, 20), "watchdog_report.txt": (
    {"review": "hewitt-2023", "kind": "evidence", "title": "Report on system assessment", "publisher": "Care Watchdog",
     "url": "https://example.org/watchdog/report", "assessor": "independent"}, 10)}  # fmt: skip
CHANGE_LINKS = {
    "L-new-1": ("Peer review programme launched", "peer review programme", "peer-review", "signal", "in_progress", "explicit", None, None),
    "L-new-2": ("Report on system assessment", "remain paused", "cqc-system-assessment", "signal", "stalled", "semantic", 0.52, None),
}  # fmt: skip


@pytest.fixture(scope="session")
def changed_db(published_db, tmp_path_factory, fixture_file) -> Path:
    """The published database after a fixture ingest dated in the last month (CHANGE_DOCUMENTS and
    CHANGE_LINKS), statuses derived again and published: what "what changed" and the feeds show."""
    import shutil
    from datetime import date, timedelta

    from tracker.ingest import ingest
    from tracker.publish import publish, write_metadata
    from tracker.status import refresh_statuses

    path = tmp_path_factory.mktemp("changed") / "tracker.db"
    shutil.copy(published_db, path)
    db = tracker.open_db(path)
    for name, (meta, days_ago) in CHANGE_DOCUMENTS.items():
        published = (date.today() - timedelta(days=days_ago)).isoformat()
        result = ingest(db, str(fixture_file(f"published/{name}")), {**meta, "published": published})
        assert result.status == "ingested", result
    insert_links(db, CHANGE_LINKS)
    db["links"].update("L-new-2", {"probability": 0.71, "threshold": 0.94})
    refresh_statuses(db)
    publish(db)
    db.close()
    write_metadata(path)
    return path


@pytest.fixture(scope="session")
def hostile() -> dict[str, str]:
    """The markup hostile.md carries in its title, publisher and text, which no page may run."""
    return HOSTILE


def copy_database(source: Path, target: Path) -> Path:
    """A consistent copy through SQLite's backup API (the tracker's own driver: two SQLite libraries in
    one process drop each other's file locks)."""
    from sqlite_utils.db import sqlite3

    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    return target


@pytest.fixture
def published_copy(published_db, tmp_path) -> Path:
    """A copy of the published database that a test may change."""
    return copy_database(published_db, tmp_path / "copy.db")


@pytest.fixture
def vector_db(published_copy) -> tuple[Path, dict]:
    """The published database with a fake unit vector for every passage; the query vector is the
    dental passage's own vector, so vector search ranks it first."""
    import sqlite3

    import numpy as np

    from tracker.embed import MODEL_NAME, to_blob

    rng = np.random.default_rng(7)
    conn = sqlite3.connect(published_copy)
    passages = conn.execute("select id, sha256, text from passages order by id").fetchall()
    vectors = {}
    for pid, sha, _ in passages:
        vector = rng.normal(size=384).astype("<f4")
        vectors[pid] = vector / np.linalg.norm(vector)
        conn.execute("insert or replace into embeddings values (?, ?, 384, ?, '2026-01-01')", [MODEL_NAME, sha, to_blob(vectors[pid])])
    conn.commit()
    conn.close()
    dental = next(pid for pid, _, text in passages if "dental reform" in text)
    return published_copy, {"vectors": vectors, "dental": dental, "query": vectors[dental]}


@pytest.fixture
def register_db(tmp_path) -> Path:
    """A database holding only the Hewitt register (30 items, R1 numbered): for commands about
    recommendations and statuses that need no documents."""
    from tracker.corpus import load_register

    path = tmp_path / "register.db"
    db = tracker.open_db(path)
    load_register(db, REGISTER)
    db.close()
    return path
