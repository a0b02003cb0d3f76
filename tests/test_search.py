"""The search library (tracker.search) and `tracker search`: words, meaning with a fake embedding
function, reciprocal rank fusion, filters, fallbacks and the passage matrix cache."""

from __future__ import annotations

import json
import os
import sqlite3

import numpy as np
import pytest
from conftest import REGISTER

import tracker
from tracker.cli import cli
from tracker.corpus import load_register
from tracker.embed import top_k
from tracker.errors import TrackerError
from tracker.recommendations import NotFoundError
from tracker.search import ANY_WORD, NO_EMBEDDINGS, NO_INDEX, Filters, find_recommendation, rrf, search
from tracker.vector_matrix import PassageMatrix, passage_matrix


def rec_id(conn: sqlite3.Connection, slug: str) -> int:
    return conn.execute("select id from recommendations where slug = ?", [slug]).fetchone()[0]


def never(text: str) -> np.ndarray:
    raise AssertionError("the query should not be embedded")


def test_rrf_fuses_by_reciprocal_rank():
    fused = rrf([[1, 2, 3], [3, 4]], k=60)
    scores = dict(fused)
    assert scores[3] == pytest.approx(1 / 63 + 1 / 61) and scores[1] == pytest.approx(1 / 61)
    assert [item for item, _ in fused] == [3, 1, 2, 4]  # 2 and 4 tie at 1/62: lower id first


def test_top_k_is_best_first_and_stable():
    scores = np.array([0.1, 0.9, 0.5, 0.9, -1.0], dtype=np.float32)
    assert top_k(scores, 3).tolist() == [1, 3, 2]  # the tie keeps index order
    assert top_k(scores, 10).tolist() == [1, 3, 2, 0, 4] and top_k(scores, 0).tolist() == []


def test_words_only(published_db):
    conn = sqlite3.connect(published_db)
    result = search(conn, "running costs", "fts", embed=never)
    assert (result.mode, result.mode_used, result.fts_hits, result.vector_hits, result.notes) == ("fts", "fts", 2, 0, [])
    assert [h["fts_rank"] for h in result.hits] == [1, 2] and all(h["vector_rank"] is None for h in result.hits)
    assert all("\x02running\x03 \x02costs\x03" in h["highlight"] for h in result.hits)
    first = result.hits[0]
    assert first["score"] == pytest.approx(1 / 61, abs=1e-6) and first["bm25"] < 0 and first["url"].startswith("https://example.org/")
    assert {r["label"] for h in result.hits for r in h["recommendations"]} == {"running-costs"}


def test_every_word_first_then_any(published_db):
    conn = sqlite3.connect(published_db)
    stemmed = search(conn, "supporting", "fts")
    assert len(stemmed.hits) == 1 and "support the prevention share" in stemmed.hits[0]["text"]
    either = search(conn, "zebra prevention", "fts")
    assert either.fts_match == "any" and either.hits and either.notes == [ANY_WORD]
    assert search(conn, "zebra", "fts").hits == [] and search(conn, "zebra", "fts").notes == []
    assert search(conn, '"unbalanced AND OR (', "fts").fts_match in ("all", "any")  # quoted, never an FTS syntax error


def test_hybrid_without_embeddings_never_loads_the_model(published_db):
    result = search(sqlite3.connect(published_db), "running costs", embed=never)
    assert result.mode == "hybrid" and result.mode_used == "fts" and result.notes == [NO_EMBEDDINGS] and len(result.hits) == 2


def test_meaning_with_a_fake_embedding(vector_db):
    path, fake = vector_db
    conn = sqlite3.connect(path)
    asked = []
    result = search(conn, "running costs", "vector", embed=lambda text: asked.append(text) or fake["query"])
    assert asked == ["running costs"] and result.mode_used == "vector" and result.fts_hits == 0
    assert result.vector_hits == len(fake["vectors"])  # every passage is ranked (fewer than DEPTH)
    top = result.hits[0]
    assert top["id"] == fake["dental"] and top["vector_rank"] == 1 and top["similarity"] == pytest.approx(1.0, abs=1e-5) and top["fts_rank"] is None
    similarities = [h["similarity"] for h in result.hits]
    assert similarities == sorted(similarities, reverse=True)


def test_hybrid_fuses_both_rankings(vector_db):
    path, fake = vector_db
    result = search(sqlite3.connect(path), "running costs", embed=lambda text: fake["query"])
    assert result.mode_used == "hybrid" and result.fts_hits == 2 and result.notes == []
    fts_ids = {h["id"] for h in result.hits if h["fts_rank"]}
    assert {h["id"] for h in result.hits[:2]} == fts_ids  # in both rankings: fused first
    for hit in result.hits:
        expected = (1 / (60 + hit["fts_rank"]) if hit["fts_rank"] else 0) + (1 / (60 + hit["vector_rank"]) if hit["vector_rank"] else 0)
        assert hit["score"] == pytest.approx(expected, abs=1e-6)
    assert len(search(sqlite3.connect(path), "running costs", embed=lambda text: fake["query"], limit=3).hits) == 3


def test_a_broken_model_falls_back_to_words(vector_db):
    path, _ = vector_db

    def broken(text: str) -> np.ndarray:
        raise OSError("model files missing")

    result = search(sqlite3.connect(path), "running costs", "vector", embed=broken)
    assert result.mode_used == "fts" and len(result.hits) == 2
    assert result.notes == ["The embedding model could not be loaded (OSError: model files missing): showing full-text results only."]


@pytest.mark.parametrize(
    ("filters", "publishers"),
    [
        (Filters(), {"Local Government Association", "NHS England"}),
        (Filters(kind="evidence"), {"NHS England"}),
        (Filters(publisher="Local Government Association"), {"Local Government Association"}),
        (Filters(since="2025-01-01"), {"NHS England"}),
        (Filters(until="2024"), {"Local Government Association"}),  # the whole of 2024
        (Filters(until="2025-03"), {"Local Government Association", "NHS England"}),  # the whole of March
        (Filters(until="2025-03-12"), {"Local Government Association"}),
        (Filters(kind="government_response"), set()),
    ],
)
def test_document_filters(published_db, filters, publishers):
    result = search(sqlite3.connect(published_db), "running costs", "fts", filters)
    assert {hit["publisher"] for hit in result.hits} == publishers


def test_recommendation_filter_keeps_passages_linked_to_it_or_its_parts(published_db):
    conn = sqlite3.connect(published_db)
    r1 = rec_id(conn, "prevention-share")
    linked = search(conn, "prevention", "fts", Filters(recommendation=r1))
    assert {h["id"] for h in linked.hits} == {row[0] for row in conn.execute("select passage_id from links where recommendation_id = ?", [r1])}
    assert search(conn, "running costs", "fts", Filters(recommendation=r1)).hits == []


def test_recommendation_filter_follows_parts_and_mentions(published_copy):
    db = tracker.open_db(published_copy)
    running = db.execute("select id from recommendations where slug = 'running-costs'").fetchone()[0]
    passages = {row[1]: row[0] for row in db.execute("select id, text from passages")}
    dental = next(pid for text, pid in passages.items() if "dental reform" in text)
    guidance = next(pid for text, pid in passages.items() if "planning guidance" in text)
    part = (
        db["recommendations"]
        .insert({"review": "hewitt-2023", "key": "running-costs(a)", "label": "running-costs(a)", "parent_id": running, "part": "a", "text": "Part a."})
        .last_pk
    )
    db["links"].insert(
        {"id": "L-part", "passage_id": dental, "document_id": 4, "recommendation_id": part, "task": "stance", "label": "neutral", "method": "explicit"}
    )
    db["mentions"].insert({"passage_id": guidance, "document_id": 3, "recommendation_id": running, "ref": "running-costs"})
    found = {h["id"] for h in search(db, "dentistry guidance", "fts", Filters(recommendation=running)).hits}
    assert found == {dental, guidance}
    assert find_recommendation(db, "running-costs(a)")["id"] == part  # a part is found by its key
    assert search(db, "dentistry", "fts", Filters(recommendation=part)).hits[0]["id"] == dental


def test_vector_filters_match_the_sql_filters(vector_db):
    path, fake = vector_db
    conn = sqlite3.connect(path)
    matrix = passage_matrix(conn)
    running = rec_id(conn, "running-costs")
    for filters in (Filters(kind="evidence"), Filters(since="2025"), Filters(recommendation=running), Filters(kind="evidence", recommendation=running)):
        found = search(conn, "x", "vector", filters, embed=lambda text: fake["query"])
        expected = {
            row[0]
            for row in conn.execute(
                f"select p.id from passages p join documents d on d.id = p.document_id where 1 = 1 {filters.clause()[0]}", filters.clause()[1]
            )
        }
        assert found.hits and {h["id"] for h in found.hits} == expected, filters
        without_documents = PassageMatrix(matrix.ids, matrix.matrix)  # document filters then go through SQL
        assert without_documents.mask(conn, filters).tolist() == matrix.mask(conn, filters).tolist()


def test_passage_matrix_is_cached_per_file_and_mtime(vector_db):
    path, _ = vector_db
    conn = sqlite3.connect(path)
    first = passage_matrix(conn)
    assert len(first) == conn.execute("select count(*) from passages").fetchone()[0]
    assert passage_matrix(sqlite3.connect(f"file:{path}?immutable=1", uri=True)) is first  # keyed by the file, not the connection
    os.utime(path, ns=(os.stat(path).st_atime_ns, os.stat(path).st_mtime_ns + 10**9))
    assert passage_matrix(conn) is not first


def test_without_a_full_text_index(tmp_path):
    db = tracker.open_db(tmp_path / "bare.db")
    load_register(db, REGISTER)
    assert search(db, "prevention", "fts").notes == [NO_INDEX]
    result = search(db, "prevention", embed=never)
    assert result.hits == [] and result.notes == [NO_EMBEDDINGS, NO_INDEX]


def test_bad_mode_and_empty_query(published_db):
    with pytest.raises(TrackerError, match="unknown search mode 'fuzzy'"):
        search(sqlite3.connect(published_db), "x", "fuzzy")
    empty = search(sqlite3.connect(published_db), "   ", embed=never)
    assert (empty.hits, empty.mode_used, empty.notes) == ([], "hybrid", [])


def test_find_recommendation_by_every_reference(published_db):
    conn = sqlite3.connect(published_db)
    r1 = rec_id(conn, "prevention-share")
    for ref in (r1, str(r1), "prevention-share", "R1"):
        assert find_recommendation(conn, ref)["id"] == r1, ref
    with pytest.raises(NotFoundError):
        find_recommendation(conn, "no-such-item")


def test_cli_search_prints_a_table(published_db, cli_runner):
    result = cli_runner.invoke(cli, ["search", str(published_db), "running costs", "--mode", "fts", "--kind", "evidence"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["#", "words", "meaning", "date", "publisher", "recommendations", "text"]
    assert len(lines) == 3 and lines[2].startswith("1") and "2025-03-13" in lines[2] and "running-costs" in lines[2]
    assert "1 passages (fts: 1 word matches" in result.stderr


def test_cli_search_json(published_db, cli_runner):
    result = cli_runner.invoke(cli, ["search", str(published_db), "running costs", "--recommendation", "running-costs", "--limit", "1", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["mode"] == "hybrid" and data["mode_used"] == "fts" and data["notes"] == [NO_EMBEDDINGS] and data["fts_hits"] == 2
    assert len(data["hits"]) == 1 and data["hits"][0]["recommendations"][0]["label"] == "running-costs"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--recommendation", "no-such-item"], "Error: no recommendation 'no-such-item'"),
        (["--since", "last week"], "Error: date 'last week' is not YYYY-MM-DD"),
        (["--kind", "novel"], "Invalid value for '--kind'"),
        (["--limit", "0"], "Invalid value for '--limit'"),
    ],
)
def test_cli_search_bad_input(published_db, cli_runner, args, message):
    result = cli_runner.invoke(cli, ["search", str(published_db), "running costs", *args])
    assert result.exit_code in (1, 2) and message in result.output
    assert "Traceback" not in result.output


def test_cli_search_needs_a_published_database(tmp_path, cli_runner):
    tracker.open_db(tmp_path / "raw.db").close()
    result = cli_runner.invoke(cli, ["search", str(tmp_path / "raw.db"), "prevention"])
    assert result.exit_code == 1 and result.output.count("\n") == 1 and "run `tracker publish" in result.output
