"""What the linker sees of one document, read a chunk of passages at a time.

A 50 MB text has some 400,000 passages: their rows, texts and vectors, or a (passages x
recommendations) score matrix, do not fit in memory beside the embedding model. `view_document`
reads PASSAGE_CHUNK passages and their vectors at a time, in document order, carries what a chunk
needs from the passages before it (an open list lead-in, the recommendation a government response
is answering: `tracker.context`), and keeps only what the link decision needs: the scorer's feature
tally, the words used, the passages that cite or name each item, each passage's closest items, the
bullets' lead-ins and, for stances, the page's overall view. The chunk size changes no link.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from itertools import islice
from typing import TYPE_CHECKING

import numpy as np
import sqlite_utils

from .context import LeadIns, ResponseLayout, is_boilerplate
from .embed import vectors_for
from .readers import PageView, Reading, read
from .recommendations import resolve_id
from .scorer import FeatureTally, document_features, word_stems

if TYPE_CHECKING:
    from .link import Linker

PASSAGE_CHUNK = 2000  # passages (and their vectors) read at once
CARRIER_RANK = 2  # a passage carries a similarity link only for the items among its two closest
TASK_BY_KIND = {
    "stakeholder_response": "stance",
    "other": "stance",
    "government_response": "position",
    "evidence": "signal",
}


@dataclass
class DocumentView:
    """Per recommendation of the document's review (a column): the scorer's feature tally and the
    passages (rows, in document order) that could carry a link, with their similarity."""

    document: dict
    task: str
    recs: list[dict]
    tally: FeatureTally
    priors: np.ndarray
    terms: np.ndarray  # per recommendation: the share of its distinctive words the document uses
    peak: np.ndarray  # per recommendation: its best similarity with any passage (-1 where a passage does not count)
    closest: np.ndarray  # (passages, CARRIER_RANK): each passage's closest recommendations (columns)
    closest_scores: np.ndarray  # and their similarities
    cited: dict[int, dict[int, tuple[int, float]]]  # column -> row -> (2 answered by the layout or 1 referenced, similarity)
    named: dict[int, dict[int, float]]  # column -> row -> similarity, where the passage uses one of the item's names
    covered: dict[int, dict[int, float]]  # the same where one clause uses every word of a name (`NameBags`)
    leads: dict[int, str]  # passage id -> the lead-in of a list item
    overall: Reading | None  # stances read with `page_view`: the page's view (`PageView`)
    fetch: Callable[[list[int]], tuple[list[dict], np.ndarray]]  # rows -> their passages and vectors

    @property
    def features(self) -> np.ndarray:
        return document_features(self.tally, self.document["kind"], self.priors, self.terms)

    def without_references(self) -> DocumentView:
        """The view as if the text cited no item by number or register slug."""
        return replace(self, tally=replace(self.tally, numbers=np.zeros_like(self.tally.numbers)), cited={})


def passage_signals(linker: Linker, passages: list[dict], vectors: np.ndarray, columns: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per passage and recommendation: the best profile similarity, the names used and how fully a
    clause covers a name, and which passages count at all (furniture and very short passages do not)."""
    texts = [p["text"] for p in passages]
    scores = linker.profiles.passage_scores(vectors, columns)
    names = linker.profiles.name_hits(texts, columns)
    cover = linker.profiles.name_cover(texts, columns)
    linkable = np.array([len(t.split()) >= linker.settings.min_words and not is_boilerplate(t) and v.any() for t, v in zip(texts, vectors)], dtype=bool)
    scores[~linkable] = -1.0
    names[~linkable] = 0
    cover[~linkable] = 0
    return scores, names, cover, linkable


def passage_chunks(db: sqlite_utils.Database, document_id: int, size: int) -> Iterator[list[dict]]:
    """A document's passages in order, `size` at a time (what linking reads of them: no offsets)."""
    rows = db.query("select id, seq, text, heading_path, block_kind, sha256 from passages where document_id = ? order by seq", [document_id])
    while chunk := list(islice(rows, size)):
        yield chunk


@dataclass
class Reader:
    """One pass over a document's chunks, gathering its `DocumentView`."""

    db: sqlite_utils.Database
    linker: Linker
    document: dict
    task: str
    columns: list[int]  # the linker's recommendations in the document's review
    page_view: PageView | None
    column_of: dict[int, int] = field(default_factory=dict)  # recommendation id -> column
    mentions: dict[int, list[int]] = field(default_factory=dict)  # passage id -> recommendation ids it cites
    lead_ins: LeadIns = field(default_factory=LeadIns)
    layout: ResponseLayout = field(default_factory=ResponseLayout)
    answered: dict[str, int | None] = field(default_factory=dict)  # layout label -> the column it answers
    stems: set[str] = field(default_factory=set)
    parts: dict[str, list[np.ndarray]] = field(default_factory=lambda: {"closest": [], "closest_scores": [], "ids": []})
    cited: dict[int, dict[int, tuple[int, float]]] = field(default_factory=dict)
    named: dict[int, dict[int, float]] = field(default_factory=dict)
    covered: dict[int, dict[int, float]] = field(default_factory=dict)
    leads: dict[int, str] = field(default_factory=dict)
    tally: FeatureTally = field(init=False)
    peak: np.ndarray = field(init=False)
    rows: int = 0

    def __post_init__(self) -> None:
        self.column_of = {self.linker.recs[i]["id"]: c for c, i in enumerate(self.columns)}
        self.tally = FeatureTally.empty(len(self.columns))
        self.peak = np.full(len(self.columns), -np.inf, dtype=np.float32)
        query = "select passage_id, recommendation_id from mentions where document_id = ? and recommendation_id is not null"
        for mention in self.db.query(query, [self.document["id"]]):
            if mention["recommendation_id"] in self.column_of:
                self.mentions.setdefault(mention["passage_id"], []).append(mention["recommendation_id"])

    def add(self, passages: list[dict]) -> None:
        """Read one chunk: its signals into the tally, its possible carriers into the view."""
        vectors = vectors_for(self.db, [p["sha256"] for p in passages], self.linker.settings.model)
        scores, names, cover, linkable = passage_signals(self.linker, passages, vectors, self.columns)
        leads = self.lead_ins(passages)
        refs = self.references(passages)
        self.tally.add(scores[linkable], names[linkable], refs[linkable].clip(0, 1), cover[linkable])
        self.stems |= word_stems(p["text"] for p, keep in zip(passages, linkable) if keep)
        self.peak = np.maximum(self.peak, scores.max(axis=0))
        order = (-scores).argsort(axis=1)[:, :CARRIER_RANK]
        self.parts["closest"].append(order.astype(np.int32))
        self.parts["closest_scores"].append(np.take_along_axis(scores, order, axis=1))
        self.parts["ids"].append(np.array([p["id"] for p in passages], dtype=np.int64))
        for row, column in zip(*np.nonzero(refs)):
            self.cited.setdefault(int(column), {})[self.rows + int(row)] = (int(refs[row, column]), float(scores[row, column]))
        for found, rows_by_column in ((names > 0, self.named), (cover >= 1, self.covered)):
            for row, column in zip(*np.nonzero(found)):
                rows_by_column.setdefault(int(column), {})[self.rows + int(row)] = float(scores[row, column])
        self.leads.update(leads)
        if self.page_view is not None:
            for row in np.nonzero(linkable)[0]:
                self.page_view.add(read("stance", passages[row]["text"], vectors[row], leads.get(passages[row]["id"])))
        self.rows += len(passages)

    def references(self, passages: list[dict]) -> np.ndarray:
        """(passages, recommendations): 2 where the response layout answers the item, 1 where a passage
        refers to it by number or register slug."""
        found = np.zeros((len(passages), len(self.columns)), dtype=np.float32)
        for row, passage in enumerate(passages):
            for rec_id in self.mentions.get(passage["id"], ()):
                found[row, self.column_of[rec_id]] = 1
        if self.task == "position":
            row_of = {passage["id"]: row for row, passage in enumerate(passages)}
            for passage_id, ref in self.layout(passages).items():
                if ref not in self.answered:
                    item = resolve_id(self.db, ref, self.document["review"])
                    self.answered[ref] = self.column_of.get(item) if item is not None else None
                column = self.answered[ref]
                if column is not None:
                    found[row_of[passage_id], column] = 2
        return found

    def view(self) -> DocumentView:
        closest, scores, ids = (np.concatenate(self.parts[name]) if self.rows else np.zeros(0) for name in ("closest", "closest_scores", "ids"))
        terms = self.linker.profiles.term_share(self.stems, self.columns)
        recs = [self.linker.recs[i] for i in self.columns]
        overall = self.page_view.reading() if self.page_view is not None else None
        return DocumentView(
            self.document, self.task, recs, self.tally, self.linker.priors[self.columns], terms, self.peak,
            closest, scores, self.cited, self.named, self.covered, self.leads, overall, self.fetcher(ids),
        )  # fmt: skip

    def fetcher(self, ids: np.ndarray) -> Callable[[list[int]], tuple[list[dict], np.ndarray]]:
        db, model = self.db, self.linker.settings.model

        def fetch(rows: list[int]) -> tuple[list[dict], np.ndarray]:
            wanted = [int(ids[row]) for row in rows]
            found = {p["id"]: p for p in db.query("select * from passages where id in (select value from json_each(?))", [json.dumps(wanted)])}
            passages = [found[passage_id] for passage_id in wanted]
            return passages, vectors_for(db, [p["sha256"] for p in passages], model)

        return fetch


def view_document(db: sqlite_utils.Database, linker: Linker, document_id: int, page_view: bool = False) -> DocumentView | None:
    """None for documents that are not linked (reviews, unknown kinds, no recommendations).
    `page_view`: for stances, also read every passage for the page's overall view (linking does)."""
    document = dict(db.table("documents").get(document_id))
    task = TASK_BY_KIND.get(document["kind"])
    in_review = [i for i, rec in enumerate(linker.recs) if document["review"] is None or rec["review"] == document["review"]]
    if task is None or not in_review:
        return None
    reader = Reader(db, linker, document, task, in_review, PageView() if page_view and task == "stance" else None)
    for chunk in passage_chunks(db, document_id, PASSAGE_CHUNK):
        reader.add(chunk)
    return reader.view()
