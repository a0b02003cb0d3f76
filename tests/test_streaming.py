"""A long document is linked and embedded a chunk at a time (issue 13, item 10): where the chunks
fall changes no link, and embedding reads the texts it encodes a batch at a time, in the order a
dict of every text would give. No model: a text's vector is a bag of its words."""

from __future__ import annotations

import functools
import hashlib
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

import tracker
from tracker import view
from tracker.corpus import load_register
from tracker.embed import DIMENSIONS, MODEL_NAME, embed_texts, text_hash, texts_to_embed
from tracker.link import link_documents
from tracker.recommendations import profile_texts

REGISTER = Path(__file__).resolve().parents[1] / "corpus" / "hewitt-2023" / "review.yaml"
GOVERNMENT = """# Reply to the review of local care systems

## Recommendation 1

The review asks systems to move a larger share of their spending to prevention over five years.

### Government response

We accept the aim and will set out how the share is measured. Local systems will report their prevention spending each year.

Work on a shared definition begins this autumn (register: prevention-definition).

## A note on scrutiny

Council committees already look at how the local health service works (register: overview-scrutiny).
"""
STAKEHOLDER = """# What our members think of the review

We warmly welcome the review and what it proposes:

- fewer national targets, with room for local priorities
- a peer review offer run by the sector (register: peer-review)
- scrutiny committees that look at the whole system

We strongly support the direction of travel and look forward to working on it with the department.

We agree that supportive challenge from peers drives improvement better than performance management from the top, with system leaders reviewing one another.

Our members worry that the cut to the running costs of integrated care boards (register: running-costs) will leave them short of staff.

A later chapter sets out the part council scrutiny committees play (register: overview-scrutiny).

Subscribe to our newsletter for the latest updates.
"""
EVIDENCE = """# Progress notes on the review

Dental contract reform (register: dental-reform) has been delayed again and units of dental activity remain in use.

The dental recovery plan promised practices a premium for each new patient they see.

Integrated care boards were told to halve their running costs by the end of the year (register: running-costs).

The public health grant rose by a small amount in cash terms this year.

Systems now publish a single summary of the data returns they send to the centre.
"""


class WordEncoder:
    """A bag of words for a model: each word a fixed random vector, a text their normalised sum, so
    texts sharing words are close. Records what it was asked to encode, batch by batch."""

    name = MODEL_NAME

    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    @staticmethod
    @functools.cache
    def word(word: str) -> np.ndarray:
        return np.random.default_rng(int(hashlib.sha256(word.encode()).hexdigest()[:12], 16)).normal(size=DIMENSIONS)

    def encode(self, texts, batch_size=64) -> np.ndarray:
        self.batches.append(list(texts))
        rows = [sum((self.word(w) for w in re.findall(r"[a-z]+", text.lower())), np.zeros(DIMENSIONS)) for text in texts]
        matrix = np.array(rows, dtype=np.float32).reshape(len(texts), DIMENSIONS)
        return matrix / np.linalg.norm(matrix, axis=1, keepdims=True).clip(1e-9)


@pytest.fixture(scope="module")
def corpus_db(tmp_path_factory, analyzer) -> Path:
    """The register and three short documents, one of each linked kind, embedded by WordEncoder."""
    folder = tmp_path_factory.mktemp("streaming")
    path = folder / "tracker.db"
    db = tracker.open_db(path)
    load_register(db, REGISTER)
    for name, text, kind in (
        ("reply.md", GOVERNMENT, "government_response"),
        ("members.md", STAKEHOLDER, "stakeholder_response"),
        ("notes.md", EVIDENCE, "evidence"),
    ):
        (folder / name).write_text(text, encoding="utf-8")
        assert tracker.ingest(db, str(folder / name), {"kind": kind, "review": "hewitt-2023"}, analyzer=analyzer).status == "ingested"
    embed_texts(db, texts_to_embed(db), WordEncoder())
    db.close()
    return path


def links_with_chunks(path: Path, chunk: int, monkeypatch) -> list[tuple]:
    monkeypatch.setattr(view, "PASSAGE_CHUNK", chunk)
    db = tracker.open_db(path)
    link_documents(db, rebuild=True)
    columns = "id, document_id, recommendation_id, passage_id, task, label, method, score, probability, cues, rule, speaker, target_date"
    links = [tuple(row) for row in db.execute(f"select {columns} from links order by id")]
    db.close()
    return links


def test_links_do_not_depend_on_the_chunk_size(corpus_db, monkeypatch):
    whole = links_with_chunks(corpus_db, 100_000, monkeypatch)
    assert {row[6] for row in whole} == {"response_layout", "explicit", "named", "semantic"}  # every way a passage carries a link
    assert any("page-view" in row[10] for row in whole)  # a neutral bullet took the page's overall view
    for chunk in (1, 2, 5):
        assert links_with_chunks(corpus_db, chunk, monkeypatch) == whole, chunk


def test_embedding_reads_texts_in_the_order_a_dict_of_them_gives(corpus_db, tmp_path):
    shutil.copy(corpus_db, tmp_path / "copy.db")
    db = tracker.open_db(tmp_path / "copy.db")
    given = {row["sha256"]: row["text"] for row in db.query("select sha256, text from passages")}
    for rec in db.query("select * from recommendations"):
        given.update((text_hash(text), text) for text in profile_texts(rec))
    stored = texts_to_embed(db)
    assert list(stored) == list(given) and len(stored) == len(given) and dict(stored) == given
    db.execute("delete from embeddings where sha256 < '8'")  # about half, the same half each time
    db.conn.commit()
    from_db, from_dict = WordEncoder(), WordEncoder()
    report = embed_texts(db, stored, from_db, batch_size=4)
    db.execute("delete from embeddings where sha256 < '8'")  # about half, the same half each time
    db.conn.commit()
    embed_texts(db, given, from_dict, batch_size=4)
    assert report.encoded > 32 and len(from_db.batches) > 1  # several batches of 32
    assert from_db.batches == from_dict.batches
    assert [len(text) for batch in from_db.batches for text in batch] == sorted(len(text) for batch in from_db.batches for text in batch)
