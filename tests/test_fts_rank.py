"""Full-text top-k (`tracker.fts_rank`): where the fast path must give exactly FTS5's BM25 order.

The corpus is small, so the module's thresholds are lowered to send queries down each path."""

from __future__ import annotations

import random

import pytest

import tracker
from tracker import fts_rank
from tracker.fts_rank import MatchQuery, document_frequency, exact, index_stats, top_matches, varints
from tracker.publish import publish
from tracker.search import Filters, fts_ranking

WORDS = ["care", "board", "funding", "workforce", "prevention", "data", "housing", "dental", "pharmacy", "carer", "estate", "audit"]
RARE = "zebra"  # in a few passages, once each
COMMON = "system"  # in every passage, once


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """600 passages of 5-40 words in 30 documents of two kinds; ids follow storage order."""
    rng = random.Random(14)
    db = tracker.open_db(tmp_path_factory.mktemp("fts") / "fts.db")
    kinds = ["evidence", "stakeholder_response"]
    db["documents"].insert_all(
        {"id": d, "sha256": f"doc{d}", "kind": kinds[d % 2], "title": f"Document {d}", "publisher": f"Publisher {d % 3}",
         "published": f"{2023 + d % 3}-05-01", "text": "(test)"} for d in range(1, 31)
    )  # fmt: skip
    passages = []
    for i in range(600):
        words = [rng.choice(WORDS[: 3 + i % 9]) for _ in range(rng.randint(4, 39))] + [COMMON]
        if i % 40 == 0:
            words.append(RARE)
        rng.shuffle(words)
        passages.append({"id": i + 1, "document_id": 1 + i // 20, "seq": i % 20, "start": 0, "end": 1, "text": " ".join(words), "sha256": f"p{i}"})
    db["passages"].insert_all(passages)
    publish(db)
    yield db
    db.close()


def exact_ids(db, terms: list[str], filters: MatchQuery | None = None) -> list[tuple[int, float]]:
    return exact(db.conn, filters or MatchQuery(terms), 20)


def test_varints_decode_sqlite_varints():
    assert varints(bytes([0x05, 0x81, 0x00, 0x86, 0x8D, 0x20])) == [5, 128, 100_000]


def test_index_stats_read_the_averages_record(corpus):
    stats = index_stats(corpus.conn)
    tokens = sum(len(row[0].split()) for row in corpus.execute("select text from passages"))
    assert stats.rows == 600 and stats.last_rowid == 600
    assert stats.average_length == pytest.approx(tokens / 600)


def test_document_frequency_exact_below_the_probe_and_estimated_above(corpus, monkeypatch):
    stats = index_stats(corpus.conn)
    assert document_frequency(corpus.conn, f'"{RARE}"', stats) == 15
    monkeypatch.setattr(fts_rank, "PROBE", 50)
    assert document_frequency(corpus.conn, f'"{COMMON}"', stats) == 600  # ids are dense: the span gives the count
    care = corpus.execute("select count(*) from passages_fts where passages_fts match 'care'").fetchone()[0]
    assert abs(document_frequency(corpus.conn, '"care"', stats) - care) < 0.3 * care


@pytest.mark.parametrize("terms", [['"zebra"'], ['"dental"', '"zebra"'], ['"pharmacy"', '"carer"'], ['"estate"']])
def test_fast_path_agrees_with_exact_bm25_when_no_term_is_common(corpus, monkeypatch, terms):
    """Index above COMMON, every term under it, fewer matches than CANDIDATES: ranked as FTS5 ranks."""
    monkeypatch.setattr(fts_rank, "COMMON", 400)
    found = top_matches(corpus.conn, MatchQuery(terms), 20)
    assert found == exact_ids(corpus, terms)


def test_a_common_term_is_required_but_not_ranked(corpus, monkeypatch):
    """'system' is in every passage: FTS5 gives it an IDF of 1e-6, so ranking by 'zebra' alone is the same order."""
    monkeypatch.setattr(fts_rank, "COMMON", 400)
    terms = [f'"{RARE}"', f'"{COMMON}"']
    found = top_matches(corpus.conn, MatchQuery(terms), 20)
    assert [pid for pid, _ in found] == [pid for pid, _ in exact_ids(corpus, terms)]


def test_every_term_common_ranks_by_length_as_bm25_does_for_one_occurrence(corpus, monkeypatch):
    """'system' occurs once in every passage: BM25 then orders by length, and the scores are FTS5's."""
    monkeypatch.setattr(fts_rank, "COMMON", 400)
    found = top_matches(corpus.conn, MatchQuery([f'"{COMMON}"']), 20)
    expected = exact_ids(corpus, [f'"{COMMON}"'])
    assert [pid for pid, _ in found] == [pid for pid, _ in expected]
    assert [score for _, score in found] == pytest.approx([score for _, score in expected], rel=1e-6)


def test_candidates_are_the_newest_matches_when_there_are_too_many(corpus, monkeypatch):
    monkeypatch.setattr(fts_rank, "COMMON", 400)
    monkeypatch.setattr(fts_rank, "CANDIDATES", 100)
    found = top_matches(corpus.conn, MatchQuery(['"care"']), 20)
    newest = [row[0] for row in corpus.execute("select rowid from passages_fts where passages_fts match 'care' order by rowid desc limit 100")]
    assert len(found) == 20 and {pid for pid, _ in found} <= set(newest)


def test_filters_agree_with_exact_and_read_past_the_window(corpus, monkeypatch):
    """A filter that leaves too few of the newest matches reads further back rather than return fewer hits."""
    filters = Filters(publisher="Publisher 1", since="2024")
    expected, _ = fts_ranking(corpus.conn, "dental estate", filters)  # exact: the index is under COMMON
    monkeypatch.setattr(fts_rank, "COMMON", 400)
    monkeypatch.setattr(fts_rank, "CANDIDATES", 20)
    found, match = fts_ranking(corpus.conn, "dental estate", filters)
    newest = corpus.execute(
        """select count(*) from (select rowid from passages_fts where passages_fts match 'dental estate' order by rowid desc limit 20) m
        join passages p on p.id = m.rowid join documents d on d.id = p.document_id where d.publisher = 'Publisher 1' and d.published >= '2024'"""
    ).fetchone()[0]
    assert newest < len(expected) <= 20  # the window alone would have lost some
    assert match == "all" and [hit[:2] for hit in found] == [hit[:2] for hit in expected]
    assert "\x02" in found[0][2]  # highlighted


def test_recommendation_filter_looks_up_linked_passages(corpus, monkeypatch):
    monkeypatch.setattr(fts_rank, "COMMON", 400)
    linked = [row[0] for row in corpus.execute("select id from passages where text like '%dental%' order by id limit 3")]
    query = MatchQuery(['"dental"'], on_index=" and f.rowid in (select value from json_each(:ids))", params={"ids": str(linked)})
    assert sorted(pid for pid, _ in top_matches(corpus.conn, query, 20)) == linked


def test_every_word_then_any_word(corpus, monkeypatch):
    monkeypatch.setattr(fts_rank, "COMMON", 400)
    found, match = fts_ranking(corpus.conn, "zebra nonexistentword", Filters())
    assert match == "any" and len(found) == 15
