"""Shared, generic fixtures. Keep this file small: test-specific helpers belong in the test modules."""

from __future__ import annotations

import importlib.util
import io
from pathlib import Path

import pytest

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
    import tracker

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
