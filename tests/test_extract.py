"""Extraction: HTML, Markdown, plain text and PDF into ordered blocks and the stored text."""

from __future__ import annotations

import pytest

from tracker.errors import ExtractionError
from tracker.extract import Extracted, extract
from tracker.extract.model import Block
from tracker.extract.sniff import detect_format

# Enough prose that the structural HTML walk is used (it falls back to trafilatura under 200 chars).
CHROME_HTML = """<!DOCTYPE html>
<html><head><title>Island ferries - Example site</title>
<style>.secret-style-marker { color: red }</style>
<script>var leaked = "SCRIPT-SENTINEL Recommendation 77: do not store";</script>
</head>
<body>
<div class="gem-c-cookie-banner"><p>COOKIE-SENTINEL We use cookies to make this site work.</p>
<button>Accept cookies</button></div>
<a class="govuk-skip-link" href="#main">SKIPLINK-SENTINEL Skip to main content</a>
<header><p>HEADER-SENTINEL Site name</p></header>
<nav><ul><li>NAV-SENTINEL Home</li><li>About</li></ul></nav>
<div role="navigation">ROLENAV-SENTINEL</div>
<h1>A review of island ferry services</h1>
<div>
<p>The harbour board asked us to look at timetables, fares and reliability across the three routes.</p>
<script>document.write("INLINE-SCRIPT-SENTINEL");</script>
<noscript>NOSCRIPT-SENTINEL</noscript>
<p>We met operators, residents and councillors on each island during the summer of last year.</p>
</div>
<h2>What we found</h2>
<ul><li>Winter sailings are often cancelled at short notice</li><li>Fares rose faster than wages</li></ul>
<h2>What should change</h2>
<ol type="a"><li>publish winter timetables earlier</li><li>post cancellations online</li><li>review fares every year</li></ol>
<ol><li>first numbered step</li><li>second numbered step</li></ol>
<ol type="i" start="2"><li>roman from two</li><li>roman three</li></ol>
<p>Read the <a href="https://example.org/full">full report</a> for details.</p>
<aside>ASIDE-SENTINEL related links</aside>
<footer><p>FOOTER-SENTINEL Crown copyright</p></footer>
</body></html>
"""


def blocks_of(extracted: Extracted) -> list[tuple[str, str]]:
    return [(block.kind, block.text) for block in extracted.blocks]


# --- HTML -------------------------------------------------------------------------------------------


def test_html_drops_scripts_styles_and_site_chrome():
    extracted = extract(CHROME_HTML.encode("utf-8"), "page.html")
    text = extracted.render()
    for sentinel in (
        "SCRIPT-SENTINEL", "INLINE-SCRIPT-SENTINEL", "secret-style-marker", "COOKIE-SENTINEL", "Accept cookies",
        "SKIPLINK-SENTINEL", "HEADER-SENTINEL", "NAV-SENTINEL", "ROLENAV-SENTINEL", "NOSCRIPT-SENTINEL",
        "ASIDE-SENTINEL", "FOOTER-SENTINEL", "Recommendation 77",
    ):  # fmt: skip
        assert sentinel not in text, sentinel
    assert "The harbour board asked us to look at timetables" in text
    assert extracted.format == "html"


def test_html_keeps_headings_and_list_items_in_order():
    extracted = extract(CHROME_HTML.encode("utf-8"), "page.html")
    kinds_texts = blocks_of(extracted)
    assert kinds_texts[0] == ("heading", "A review of island ferry services")
    assert extracted.blocks[0].level == 1
    assert extracted.title == "A review of island ferry services"
    texts = [text for _, text in kinds_texts]
    order = [
        "A review of island ferry services",
        "What we found",
        "- Winter sailings are often cancelled at short notice",
        "- Fares rose faster than wages",
        "What should change",
        "(a) publish winter timetables earlier",
        "(b) post cancellations online",
        "(c) review fares every year",
        "1. first numbered step",
        "2. second numbered step",
        "(ii) roman from two",
        "(iii) roman three",
        "Read the full report for details.",
    ]
    positions = [texts.index(item) for item in order]
    assert positions == sorted(positions)
    assert ("heading", "What we found") in kinds_texts
    assert ("list_item", "(a) publish winter timetables earlier") in kinds_texts


def test_html_paragraphs_are_separate_blocks_with_exact_spans():
    extracted = extract(CHROME_HTML.encode("utf-8"), "page.html")
    text = extracted.render()
    for block in extracted.blocks:
        assert text[block.start : block.end] == block.text
    paragraphs = [b.text for b in extracted.blocks if b.kind == "paragraph"]
    assert paragraphs[0].startswith("The harbour board asked")
    assert paragraphs[1].startswith("We met operators")


def test_govuk_fixture_drops_script_cookie_banner_and_footer(fixture_file):
    html = fixture_file("review_govuk.html").read_bytes()
    assert b"Recommendation 99" in html  # the fixture does plant it in a <script>
    extracted = extract(html, "review_govuk.html")
    text = extracted.render()
    assert "Recommendation 99" not in text
    assert "essential cookies" not in text
    assert "Open Government Licence" not in text
    assert "Breadcrumb" not in text and "Health and social care\n" not in text
    assert extracted.title == "The Marlow Review: an independent review of regional care partnerships"
    first_heading = next(b for b in extracted.blocks if b.kind == "heading")
    assert first_heading.level == 1


def test_nested_lists_keep_item_text_without_children():
    html = (
        "<html><body><main><h1>Nested lists in a long enough document body</h1>"
        "<p>" + "Some introductory words about the review and what it covers. " * 4 + "</p>"
        "<ul><li>outer one<ul><li>inner one</li></ul></li><li>outer two</li></ul></main></body></html>"
    )
    items = [b.text for b in extract(html.encode(), "n.html").blocks if b.kind == "list_item"]
    assert items == ["- outer one", "- inner one", "- outer two"]


# --- Markdown and text ------------------------------------------------------------------------------

MARKDOWN = """---
title: Notes on the ferry review
kind: evidence
published: 2024-05-01
publisher: Harbour Trust
---

# Notes on the ferry review

The [harbour board](https://example.org/board) published its plan and **welcomed** the [review](/reviews/ferries).

## Next steps

- a bullet with [a link](http://example.org/x)
* a second bullet
"""


def test_markdown_front_matter_is_parsed_and_not_in_text():
    extracted = extract(MARKDOWN.encode(), "notes.md")
    assert extracted.format == "markdown"
    assert extracted.meta["title"] == "Notes on the ferry review"
    assert extracted.meta["kind"] == "evidence"
    assert str(extracted.meta["published"]) == "2024-05-01"
    assert extracted.meta["publisher"] == "Harbour Trust"
    assert extracted.title == "Notes on the ferry review"
    text = extracted.render()
    assert "kind: evidence" not in text and "---" not in text


def test_markdown_links_reduced_to_their_text():
    extracted = extract(MARKDOWN.encode(), "notes.md")
    text = extracted.render()
    assert "The harbour board published its plan and welcomed the review." in text
    assert "http" not in text and "](" not in text and "**" not in text
    assert ("list_item", "- a bullet with a link") in blocks_of(extracted)
    assert ("list_item", "- a second bullet") in blocks_of(extracted)
    assert ("heading", "Next steps") in blocks_of(extracted)


def test_markdown_link_with_title_reduced_to_text():
    source = '---\ntitle: t\n---\n\nSee the [annual report](https://example.org/r "Annual report 2023") for figures.\n'
    text = extract(source.encode(), "t.md").render()
    assert "See the annual report for figures." in text


def test_markdown_link_followed_by_angle_url_is_dropped():
    source = "---\ntitle: t\n---\n\nRead the [framework](https://example.org/f) (<https://example.org/f>) soon.\n"
    text = extract(source.encode(), "t.md").render()
    assert text.endswith("Read the framework soon.")


def test_invalid_front_matter_is_an_extraction_error():
    with pytest.raises(ExtractionError, match="front matter is not valid YAML"):
        extract(b"---\ntitle: [unclosed\n---\n\nBody text here.\n", "bad.md")


def test_plain_text_from_cp1252_bytes_decodes():
    data = (
        b"The caf\xe9 by the harbour was \x93quoted\x94 in the report \x96 twice, and the owner\x92s view was noted.\n\n"
        b"A second paragraph about the island ferry service, which the council runs.\n"
    )
    text = extract(data, "cafe.txt").render()
    assert "The café by the harbour was “quoted” in the report – twice, and the owner’s view was noted." in text
    assert "\ufffd" not in text


def test_short_cp1252_text_decodes():
    text = extract(b"caf\xe9 \x93quoted\x94", "short.txt").render()
    assert text == "café “quoted”"


def test_utf8_bom_is_removed():
    text = extract("\ufeffA plain note about ferries.".encode("utf-8"), "bom.txt").render()
    assert text == "A plain note about ferries."


def test_plain_text_boilerplate_lines_are_removed_and_heading_detected():
    data = "Skip to main content\n\nA short title for the note\n\nThe body sentence of the note is here.\n\nBack to top\n"
    extracted = extract(data.encode(), "page.txt")
    assert blocks_of(extracted) == [("heading", "A short title for the note"), ("paragraph", "The body sentence of the note is here.")]


def test_render_records_block_spans():
    extracted = Extracted(blocks=[Block("heading", "Title", level=1), Block("paragraph", "Body one."), Block("list_item", "- item")], format="text")
    text = extracted.render()
    assert text == "Title\n\nBody one.\n\n- item"
    assert [(b.start, b.end) for b in extracted.blocks] == [(0, 5), (7, 16), (18, 24)]


@pytest.mark.parametrize(
    ("data", "name", "content_type", "expected"),
    [
        (b"%PDF-1.4 x", "whatever.bin", None, "pdf"),
        (b"hello", "doc.PDF", None, "pdf"),
        (b"<!doctype html><html></html>", "page", None, "html"),
        (b"hello", "page.htm", None, "html"),
        (b"hello", "url?x=1", "text/html", "html"),
        (b"# hi", "notes.markdown", None, "markdown"),
        (b"hello", "notes.txt", None, "text"),
    ],
)
def test_detect_format(data, name, content_type, expected):
    assert detect_format(data, name, content_type) == expected


# --- PDF --------------------------------------------------------------------------------------------

PDF_PAGES = [
    [
        "Chapter 1 Harbour services",
        "The island ferry service has been run by the council since 1998 and carries about",
        "four hundred thousand passengers every year, most of them residents travelling for",
        "work, school and hospital appointments, and the review considered its accountabil-",
        "ity arrangements in detail.",
    ],
    [
        "The board meets four times a year in public. Its papers are published a week in",
        "advance on the council website, and residents may ask questions at each meeting.",
    ],
    [
        "Timetables are set each spring after a consultation with island community councils",
        "and the harbour users group, and they take effect from the first week of May.",
    ],
]


@pytest.fixture(scope="module")
def small_pdf(make_pdf) -> bytes:
    return make_pdf(PDF_PAGES, title="Island Ferries Review", header="Island Ferries Review 2024", footer="Page {page}")


def test_pdf_removes_running_header_footer_and_page_numbers(small_pdf):
    extracted = extract(small_pdf, "ferries.pdf")
    text = extracted.render()
    assert extracted.format == "pdf"
    assert extracted.pages == 3
    assert "Island Ferries Review 2024" not in text
    assert "Page 1" not in text and "Page 2" not in text and "Page 3" not in text
    assert [b.page for b in extracted.blocks if b.kind == "paragraph"] == [1, 2, 3]


def test_pdf_joins_hyphenated_line_breaks_and_wrapped_lines(small_pdf):
    text = extract(small_pdf, "ferries.pdf").render()
    assert "accountability arrangements" in text
    assert "accountabil-" not in text
    assert "carries about four hundred thousand passengers" in text
    assert "\n" not in text.split("\n\n")[1]  # a wrapped paragraph is one block


def test_pdf_heading_and_metadata_title(small_pdf):
    extracted = extract(small_pdf, "ferries.pdf")
    assert extracted.blocks[0].kind == "heading"
    assert extracted.blocks[0].text == "Chapter 1 Harbour services"
    assert extracted.title == "Island Ferries Review"


def test_pdf_placeholder_metadata_title_is_not_used(make_pdf):
    extracted = extract(make_pdf(PDF_PAGES), "untitled.pdf")
    assert extracted.title == "Chapter 1 Harbour services"


def test_pdf_paragraph_cut_by_page_break_is_joined(make_pdf):
    pages = [
        ["The ferry review began in March and the panel met residents on all three islands, where the",
         "strongest concerns were about winter cancellations and the cost of taking a car across to"],
        ["the mainland for hospital appointments. The panel also met the harbour board."],
        ["A closing page with a final short paragraph about next steps for the service."],
    ]  # fmt: skip
    text = extract(make_pdf(pages, header="Ferry Review", footer="{page}"), "cut.pdf").render()
    assert "car across to the mainland for hospital appointments." in text
