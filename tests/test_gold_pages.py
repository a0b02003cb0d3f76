"""The real-page gold file holds labels only, in the shape `tracker eval --texts` reads; its report
half never changes; each split reads only its own pages; and no page reserved for independent
evaluation is in it. The second reading of some of its pages (`tracker agreement`) is in the same
shape, on the same pages with the same metadata: only the items and the reader's note differ."""

import hashlib
import json
import re
from pathlib import Path

import pytest
import yaml

from tracker.realtext import read_pages
from tracker.status import POSITIONS, SIGNAL_STATUS

GOLD = Path(__file__).parent / "gold" / "real_pages.jsonl"
SECOND_READING = GOLD.with_name("second_reading.jsonl")
REVIEW = Path(__file__).parents[1] / "corpus" / "hewitt-2023" / "review.yaml"
RESERVED = Path(__file__).resolve().parents[2] / "shared" / "facts" / "reserved_pages.txt"
# The report half, fixed when the set was split (2026-11-25): the sorted ids' sha256.
REPORT_HALF = "bcbff5ae42cd208ae5bf276fbe9ec9c66643c9813dfd989b4b1a56cd7cc4a608"
PAGE_KEYS = {"id", "url", "query", "title", "publisher", "date", "date_precision", "kind", "items", "note", "split", "seen"}
ITEM_KEYS = {"recommendation", "stance", "position", "signal", "changes_status"}


def read_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def pages() -> list[dict]:
    return read_lines(GOLD)


def url_key(url: str) -> str:
    return re.sub(r"^https?://(www\.)?", "", url.strip().lower()).rstrip("/")


@pytest.mark.parametrize(("path", "at_least"), [(GOLD, 300), (SECOND_READING, 60)], ids=["first", "second"])
def test_every_page_has_the_fields_eval_reads_and_no_page_text(path, at_least):
    pages = read_lines(path)
    slugs = {item["slug"] for item in yaml.safe_load(REVIEW.read_text(encoding="utf-8"))["register"]}
    assert len({page["id"] for page in pages}) == len(pages) >= at_least
    for page in pages:
        assert set(page) == PAGE_KEYS, page["id"]
        assert page["split"] in ("tune", "report", "holdout") and page["date_precision"] in ("day", "month", "year")
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", page["date"]) and page["url"].startswith("http")
        assert len(page["note"]) < 600  # a reader's reason in our words, never the page
        for item in page["items"]:
            assert set(item) == ITEM_KEYS and item["recommendation"] in slugs, page["id"]
            assert item["stance"] in (None, "support", "concern", "oppose", "neutral")
            assert item["position"] is None or item["position"] in POSITIONS
            assert item["signal"] is None or item["signal"] in {*SIGNAL_STATUS, "mention"}


def test_the_second_reading_reads_the_whole_report_half_and_changes_only_the_labels(pages):
    first = {page["id"]: page for page in pages}
    second = read_lines(SECOND_READING)
    assert {page["id"] for page in second if page["split"] == "report"} == {page["id"] for page in pages if page["split"] == "report"}
    for page in second:
        assert {key: value for key, value in page.items() if key not in ("items", "note")} == {
            key: value for key, value in first[page["id"]].items() if key not in ("items", "note")
        }, page["id"]


def test_the_report_half_is_the_one_split_at_the_start(pages):
    report = sorted(page["id"] for page in pages if page["split"] == "report")
    assert hashlib.sha256("\n".join(report).encode()).hexdigest() == REPORT_HALF


@pytest.mark.skipif(not RESERVED.exists(), reason="../shared/facts is not beside the checkout")
def test_no_page_reserved_for_independent_evaluation_is_used(pages):
    reserved = {url_key(line) for line in RESERVED.read_text(encoding="utf-8").splitlines() if line.startswith("http")}
    assert reserved and not reserved & {url_key(page["url"]) for page in pages}


def test_a_page_the_corpus_already_uses_says_so(pages):
    """A page a digest summarises ("corpus") or the register cites ("register") is not unseen text:
    the scorer learned from the digests and the profiles were written from the register's sources."""
    corpus = REVIEW.parent
    digests = {url_key(m.group(1)) for path in corpus.rglob("*.md") if (m := re.search(r"^url:\s*(\S+)", path.read_text(encoding="utf-8"), re.MULTILINE))}
    register = {url_key(url) for url in re.findall(r"https?://[^\s\"'<>)\]]+", REVIEW.read_text(encoding="utf-8"))}
    for page in pages:
        url = url_key(page["url"])
        assert page["seen"] == ("corpus" if url in digests else "register" if url in register else None), page["id"]


def test_each_split_reads_only_its_own_pages(tmp_path):
    gold = tmp_path / "pages.jsonl"
    gold.write_text("".join(json.dumps({"id": split, "split": split}) + "\n" for split in ("tune", "report", "holdout")), encoding="utf-8")
    assert [[page["id"] for page in read_pages(gold, split)] for split in ("tune", "report", "holdout")] == [["tune"], ["report"], ["holdout"]]
    assert len(read_pages(gold, "all")) == 3  # `tracker fit` asks for "tune": held-out pages are never fitted on
