"""The many-reviews benchmark generator (bench/many_reviews.py) at a tiny size: what it builds."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import sqlite_utils

BENCH = Path(__file__).resolve().parents[1] / "bench"


@pytest.fixture(scope="module")
def many_reviews():
    sys.path.insert(0, str(BENCH))  # the script imports bench/vocabulary.py as the scripts do
    try:
        spec = importlib.util.spec_from_file_location("many_reviews", BENCH / "many_reviews.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules["many_reviews"] = module  # its dataclasses look their module up
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop("many_reviews", None)
        sys.path.remove(str(BENCH))


def test_tiny_corpus_is_built_linked_and_published(many_reviews, tmp_path, capsys):
    path = tmp_path / "many.db"
    assert many_reviews.main(["--reviews", "2", "--documents", "40", "--passages", "400", "--steps", "20", "--keep", str(path)]) == 0
    db = sqlite_utils.Database(path)
    count = {table: db.table(table).count for table in ("reviews", "recommendations", "documents", "passages", "mentions", "links", "statuses")}
    assert count["reviews"] == 2 and count["recommendations"] == 72 and count["statuses"] == 72
    assert count["documents"] == 41  # 40, plus the one added and linked alone after the last step
    assert 300 <= count["passages"] <= 500
    assert db.execute("select count(*) from passages_fts").fetchone()[0] == count["passages"]
    words = [len(row[0].split()) for row in db.execute("select text from passages")]
    assert min(words) >= 20 and max(words) <= 100
    resolved = db.execute("select count(*) from mentions where recommendation_id is not null").fetchone()[0]
    assert 0 < resolved == count["mentions"]  # every "Recommendation N" found its item in the document's review
    assert count["links"] > 0 and db.execute("select count(distinct method) from links").fetchone()[0] >= 2
    assert db.execute("select count(*) from documents where linked_run is null").fetchone()[0] == 0
    assert db.execute("select count(*) from passages p left join embeddings e on e.sha256 = p.sha256 where e.sha256 is null").fetchone()[0] == 0
    out = capsys.readouterr().out
    assert "| 20 |" in out and "| 40 |" in out and "ms/document" in out
