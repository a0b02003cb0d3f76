"""Fit the learned parts from labelled data: the link scorer (from labelled pages, the corpus's own
declarations and every person's confirm/reject in a database) and the sentence readers.

`tracker fit DB` refits the scorer into DB (table `models`), so a team's decisions improve its own
tracker; it prints the held-out figures of the old and the new scorer on the same examples. The
readers learn from labelled pages too, through weak sentence labels (`weak_examples`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import sqlite_utils

from .link import Linker, make_linker, names_of, view_document
from .names import mentions
from .readers import READ_TASKS, read, sentences
from .recommendations import resolve_id
from .scorer import LinkScorer, fit_scorer, load_scorer, pair_metrics

PAGE_WEIGHT = 10.0  # a labelled real page counts more than one of our own digests
DECISION_WEIGHT = 5.0  # and a person's decision more still
WEAK_PER_PAGE = 6  # sentences a page gives a reader per task, so no page dominates (6 over 3: chosen by 2-fold CV)


@dataclass
class Examples:
    features: np.ndarray
    linked: np.ndarray
    weights: np.ndarray
    groups: np.ndarray
    sources: dict[str, int]
    origin: np.ndarray  # the source of each example: pages, corpus or decisions

    def __len__(self) -> int:
        return len(self.linked)


def page_labels(db: sqlite_utils.Database, pages: list[dict], documents: dict[str, int]) -> dict[int, set[int | None]]:
    """document id -> the recommendations a labelled page is about."""
    labels: dict[int, set[int | None]] = {}
    for page in pages:
        if page["id"] in documents:
            review = db.table("documents").get(documents[page["id"]])["review"]
            labels[documents[page["id"]]] = {resolve_id(db, item["recommendation"], review) for item in page["items"]}
    return labels


def corpus_labels(db: sqlite_utils.Database) -> dict[int, set[int | None]]:
    """document id -> the register items a curated digest declares in its front matter."""
    labels: dict[int, set[int | None]] = {}
    for row in db.query("select id, review, declared from documents where kind != 'review' and declared is not null"):
        declared = json.loads(row["declared"]).get("recommendations")
        if declared:
            labels[row["id"]] = {resolve_id(db, slug, row["review"]) for slug in declared}
    return labels


def decisions(db: sqlite_utils.Database) -> dict[tuple[int, int], bool]:
    """(document, recommendation) -> the latest person's decision on any link between them."""
    rows = db.query(
        """select l.document_id, l.recommendation_id, o.action from overrides o join links l on l.id = o.link_id
        where o.action in ('confirm', 'reject') order by o.id"""
    )
    return {(row["document_id"], row["recommendation_id"]): row["action"] == "confirm" for row in rows}


def gather(db: sqlite_utils.Database, linker: Linker, labelled: dict[str, dict[int, set[int | None]]], decided: dict[tuple[int, int], bool]) -> Examples:
    """One example per (labelled document, recommendation of its review); a person's decision on a
    pair overrides the label and weighs most."""
    weight_of = {"pages": PAGE_WEIGHT, "corpus": 1.0}
    features, linked, weights, groups, origin = [], [], [], [], []
    sources = {name: 0 for name in (*labelled, "decisions")}
    by_source: dict[str, dict[int, set[int | None]]] = {**labelled, "decisions": {document: set() for document, _ in decided}}
    for source, labels in by_source.items():
        for document_id, recs in labels.items():
            view = view_document(db, linker, document_id)
            if view is None:
                continue
            if source == "corpus":  # our digests cite "(register: slug)": learn from their words, not their tags
                view = view.without_references()
            document_features = view.features
            for column, rec in enumerate(view.recs):
                pair = (document_id, rec["id"])
                if source == "decisions" and pair not in decided:
                    continue
                features.append(document_features[column])
                linked.append(decided.get(pair, rec["id"] in recs))
                weights.append(DECISION_WEIGHT if pair in decided else weight_of[source])
                groups.append(document_id)
                origin.append(source)
                sources[source] += 1
    return Examples(np.array(features), np.array(linked, dtype=bool), np.array(weights), np.array(groups), sources, np.array(origin))


def fit_link_scorer(db: sqlite_utils.Database, labelled: dict[str, dict[int, set[int | None]]]) -> tuple[LinkScorer, dict]:
    """Fit a scorer on labelled documents plus the decisions in DB; the report gives the held-out
    figures of the scorer in force before and of the new one, on the same examples."""
    linker = make_linker(db)
    examples = gather(db, linker, labelled, decisions(db))
    if len(examples) == 0 or examples.linked.all() or not examples.linked.any():
        raise ValueError("fitting needs labelled documents with both linked and unlinked recommendations")
    previous = load_scorer(db)
    real = examples.origin != "corpus"
    trained_on = {**examples.sources, "positives": int(examples.linked.sum())}
    scorer, held_out = fit_scorer(examples.features, examples.linked, examples.weights, examples.groups, real, trained_on)
    report = {
        "examples": examples.sources,
        "positives": int(examples.linked.sum()),
        "before": pair_metrics(previous.probabilities(examples.features), examples.linked, previous.link_threshold) if previous else None,
        "after_held_out": pair_metrics(held_out, examples.linked, scorer.link_threshold),
        "after_auto_held_out": pair_metrics(held_out, examples.linked, scorer.auto_threshold),
        **{
            f"{source}_held_out": pair_metrics(held_out[examples.origin == source], examples.linked[examples.origin == source], scorer.link_threshold)
            for source in ("pages", "decisions")
            if (examples.origin == source).any()
        },
        "link_threshold": scorer.link_threshold,
        "auto_threshold": scorer.auto_threshold,
    }
    return scorer, report


def weak_examples(db: sqlite_utils.Database, pages: list[dict], documents: dict[str, int]) -> list[dict]:
    """Sentences for the readers from linked labelled pages, each labelled with its page's gold
    reading of an item (a label per page and item, so weak): from the passages that carry the item,
    the sentences whose cues say the gold label, then those that name the item and have no cue (a
    sentence whose cue says otherwise is about something else); `WEAK_PER_PAGE` per page and task."""
    examples: list[dict] = []
    for page in (page for page in pages if page["id"] in documents):
        review = db.table("documents").get(documents[page["id"]])["review"]
        found: list[tuple[int, str, str, str]] = []
        for item in page["items"]:
            rec_id = resolve_id(db, item["recommendation"], review)
            if rec_id is not None:
                found += item_sentences(db, documents[page["id"]], item, db.table("recommendations").get(rec_id))
        for task in READ_TASKS:
            kept = dict.fromkeys((text, label) for rank, text, label, of in sorted(found, key=lambda row: row[0]) if of == task)
            examples += [{"task": task, "label": label, "text": text} for text, label in list(kept)[:WEAK_PER_PAGE]]
    return examples


def item_sentences(db: sqlite_utils.Database, document_id: int, item: dict, rec: dict) -> list[tuple[int, str, str, str]]:
    """(rank, sentence, gold label, task) for each sentence of the passages linked to a labelled
    item that may stand for one of its gold labels (`sentence_rank`)."""
    rows = db.query(
        "select text from passages where id in (select passage_id from links where document_id = ? and recommendation_id = ?) order by seq",
        [document_id, rec["id"]],
    )
    found = []
    for text in (part for row in rows for part in sentences(row["text"])):
        for task in (task for task in READ_TASKS if item.get(task)):
            rank = sentence_rank(task, text, item[task], rec)
            if rank is not None:
                found.append((rank, text, item[task], task))
    return found


def sentence_rank(task: str, text: str, label: str, rec: dict) -> int | None:
    """0 when the sentence's cues say the gold label, 1 when it names the item and has no cue, None
    when it should not be an example."""
    names = names_of(rec)
    reading = read(task, text, direction=rec["direction"], names=names)
    if reading is not None and reading.cues:
        return 0 if reading.label == label else None
    return 1 if mentions(text, names) else None
