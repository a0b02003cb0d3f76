"""The readers learn from labelled pages through weak sentence labels: a page's gold reading of an item
labels the sentences of its linked passages that say it by cue or name the item (`tracker fit --readers-out`)."""

import hashlib

import numpy as np
from conftest import REGISTER

from tracker import readers
from tracker.cli import cli
from tracker.corpus import load_register
from tracker.fit import WEAK_PER_PAGE, sentence_rank, weak_examples
from tracker.ingest import ingest

PREVENTION = {"slug": "prevention-share", "aliases": '["prevention share of ICS budgets"]', "direction": "more"}
PAGE = """---
kind: stakeholder_response
title: "A council on prevention"
publisher: A Council
date: 2023-04-05
---
# Prevention

We strongly support the review on this. The prevention share of ICS budgets is small today. We are concerned about parking at the venue.
Lunch was served at noon.
"""


def test_a_sentence_stands_for_the_gold_label_by_its_cue_or_by_naming_the_item():
    assert sentence_rank("stance", "We strongly support the review on this.", "support", PREVENTION) == 0
    assert sentence_rank("stance", "We strongly support the review on this.", "concern", PREVENTION) is None  # its cue says otherwise
    assert sentence_rank("stance", "The prevention share of ICS budgets is small today.", "support", PREVENTION) == 1
    assert sentence_rank("stance", "Lunch was served at noon.", "support", PREVENTION) is None


def page_db(db, tmp_path, text: str) -> int:
    """The page ingested, every one of its passages linked to prevention-share."""
    load_register(db, REGISTER)
    (tmp_path / "council.md").write_text(text, encoding="utf-8")
    document = ingest(db, str(tmp_path / "council.md"), {"review": "hewitt-2023"}).document_id
    rec = db.execute("select id from recommendations where slug = 'prevention-share'").fetchone()[0]
    db["links"].insert_all(
        {"id": f"L-{row['id']}", "passage_id": row["id"], "document_id": document, "recommendation_id": rec, "task": "stance", "label": "support",
         "method": "explicit", "quote": row["text"]}
        for row in db.query("select id, text from passages where document_id = ?", [document])
    )  # fmt: skip
    return document


def test_weak_examples_come_from_the_linked_passages_with_the_page_label(db, tmp_path):
    document = page_db(db, tmp_path, PAGE)
    pages = [{"id": "council", "items": [{"recommendation": "prevention-share", "stance": "support", "position": None, "signal": None}]}]
    examples = weak_examples(db, pages, {"council": document})
    assert examples == [
        {"task": "stance", "label": "support", "text": "We strongly support the review on this."},
        {"task": "stance", "label": "support", "text": "The prevention share of ICS budgets is small today."},
    ]


def test_one_page_gives_at_most_a_few_sentences_per_task(db, tmp_path):
    many = PAGE.replace("We strongly support the review on this.", " ".join(f"We strongly support point {n}." for n in range(WEAK_PER_PAGE + 2)))
    document = page_db(db, tmp_path, many)
    pages = [{"id": "council", "items": [{"recommendation": "prevention-share", "stance": "support"}]}]
    assert len(weak_examples(db, pages, {"council": document})) == WEAK_PER_PAGE


class WordEmbedder:
    """Stands in for the sentence model: a few hashed word counts, enough to fit a logistic model."""

    name = "words"

    def encode(self, texts: list[str]) -> np.ndarray:
        vectors = np.zeros((len(texts), 16))
        for row, text in enumerate(texts):
            for word in text.lower().split():
                vectors[row, int(hashlib.md5(word.encode()).hexdigest(), 16) % 16] += 1
        return vectors


def test_weak_examples_join_the_written_ones_and_weigh_less(monkeypatch):
    written = [{"task": task, "label": label, "text": f"{label} sentence {n}"} for task in readers.READ_TASKS for label in ("a", "b") for n in range(3)]
    monkeypatch.setattr(readers, "training_examples", lambda: written)
    weights, fit = [], readers.fit_logistic

    def recording(features, labels, l2, sample_weight):
        weights.append(list(sample_weight))
        return fit(features, labels, l2=l2, sample_weight=sample_weight)

    monkeypatch.setattr(readers, "fit_logistic", recording)
    spec = readers.fit_readers(WordEmbedder(), [{"task": "stance", "label": "a", "text": "a page sentence"}])
    assert spec["weak_examples"] == 1 and set(spec["models"]) == set(readers.READ_TASKS)
    assert weights[0] == [1.0] * 6 + [readers.WEAK_WEIGHT] and readers.WEAK_WEIGHT <= 1.0
    assert weights[1] == [1.0] * 6  # the other tasks have no weak sentences


def test_readers_out_needs_the_pages(cli_runner, db, tmp_path):
    result = cli_runner.invoke(cli, ["fit", str(tmp_path / "tracker.db"), "--readers-out", str(tmp_path / "readers.json")])
    assert result.exit_code != 0 and "--readers-out needs both" in result.output
    assert not (tmp_path / "readers.json").exists()
