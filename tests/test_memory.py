"""Memory of a large ingest (issue 13, item 10): passages are spooled to disk in batches while the
document is segmented and copied into the store batch by batch, so peak memory follows the document's
text, not its number of passages. `bench/ingest_memory.py` prints the peak RSS for 50 MB."""

from __future__ import annotations

import importlib.util
import sys
import weakref
from pathlib import Path

import tracker
from tracker.store import PassageSpool

BENCH = Path(__file__).resolve().parents[1] / "bench" / "ingest_memory.py"


def generator():
    spec = importlib.util.spec_from_file_location("tracker_ingest_memory", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module.generate


def test_passages_are_not_all_held_at_once(db, tmp_path, analyzer, monkeypatch):
    """Every passage yielded by the segmenter is let go once spooled: at no time are more than a few
    alive (a 50 MB text has ~316,000; held as objects they took ~500 MB)."""
    source = tmp_path / "large.txt"
    generator()(source, 400_000)
    alive, most = 0, 0
    original = type(analyzer).iter_passages

    def gone() -> None:
        nonlocal alive
        alive -= 1

    def tracked(self, extracted, text):
        nonlocal alive, most
        for passage in original(self, extracted, text):
            alive += 1
            weakref.finalize(passage, gone)
            most = max(most, alive)
            yield passage

    def whole_list(self, extracted, text):
        raise AssertionError("ingest asked for every passage at once")

    monkeypatch.setattr(type(analyzer), "iter_passages", tracked)
    monkeypatch.setattr(type(analyzer), "segment", whole_list)
    result = tracker.ingest(db, str(source), {"kind": "evidence"}, analyzer=analyzer)
    assert result.status == "ingested" and result.passages > 2_000, result.reason
    assert most <= 3, most
    document = db.execute("select text from documents").fetchone()[0]
    rows = db.execute("select seq, start, end, text from passages order by seq").fetchall()
    assert [row[0] for row in rows] == list(range(result.passages))
    assert all(document[start:end] == text for _, start, end, text in rows)


def test_spool_gives_back_every_passage_in_batches(analyzer):
    from tracker.extract import extract

    extracted = extract(("The ferry ran late in May. " * 3 + "\n\n").encode() * 700, "n.txt")
    text = extracted.render()
    passages = analyzer.segment(extracted, text)
    spool = PassageSpool(batch=100).extend(analyzer.iter_passages(extracted, text))
    try:
        batches = list(spool.batches())
        assert spool.count == len(passages) and [len(batch) for batch in batches[:-1]] == [100] * (len(batches) - 1)
        assert [row[:3] for batch in batches for row in batch] == [(p.seq, p.start, p.end) for p in passages]
    finally:
        spool.close()
