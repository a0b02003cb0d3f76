"""Link the passages of responses and evidence to recommendations, and read what each one says.

Methods, strongest first: `response_layout` (a government response laid out by recommendation
number), `explicit` (an inline reference the parser found: "Recommendation 12", "(register: slug)"),
`named` (a name the register gives the item: "the prevention target", "COPI notices") and `semantic`
(profile similarity). Whether a document speaks to a recommendation at all is the learned link
scorer's probability (`tracker.scorer`); the passages that carry the link are those that name it or
come closest to its profile. Each link is then read (`tracker.readers`): a stance, a position (also
one the government is reported to have taken, in any kind of document) or an evidence signal. Every
link keeps its provenance (method, similarity, probability, the auto-decision threshold, cues, rule,
quote and span, speaker, run); link ids are stable hashes, so human decisions survive `--rebuild`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import sqlite_utils

from . import __version__
from .context import is_boilerplate, lead_ins
from .db import utcnow
from .embed import MODEL_NAME, text_hash, vectors_for
from .errors import TrackerError
from .readers import Reading, declared, read
from .recommendations import profile_texts, refresh_mentions, resolve_id
from .references import LABEL
from .scorer import LinkScorer, Name, Profiles, distinctive_terms, document_features, load_scorer

MIN_PASSAGE_WORDS = 6
VECTOR_CHUNK = 2000  # passages whose vectors are read at once
CARRIER_MARGIN = 0.03  # a second passage carries a similarity link when this close to the best
CARRIER_RANK = 2  # and only a passage for which the item is among its two closest carries it
TASK_BY_KIND = {
    "stakeholder_response": "stance",
    "other": "stance",
    "government_response": "position",
    "evidence": "signal",
}
RESPONSE_HEADING = re.compile(r"^(?:the\s+)?(?:government(?:'s|’s)?\s+)?response\b", re.IGNORECASE)


@dataclass
class Settings:
    threshold: float | None = None  # probability a link needs (default: the scorer's own)
    min_words: int = MIN_PASSAGE_WORDS
    model: str = MODEL_NAME

    def as_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class LinkReport:
    run_id: int
    documents: int
    links: int
    by_method: dict[str, int] = field(default_factory=dict)
    by_label: dict[str, int] = field(default_factory=dict)


@dataclass
class Linker:
    """What one link run reads once: recommendations, their profiles and the scorer."""

    recs: list[dict]
    profiles: Profiles
    scorer: LinkScorer | None  # None only while no scorer has been fitted: features can be read, not links
    settings: Settings
    priors: np.ndarray  # each recommendation's mean best similarity over a sample of documents

    def fitted(self) -> LinkScorer:
        if self.scorer is None:
            raise TrackerError("no link scorer has been fitted: run `tracker fit` (see README, Evaluation)")
        return self.scorer

    @property
    def threshold(self) -> float:
        return self.settings.threshold if self.settings.threshold is not None else self.fitted().link_threshold


def link_id(document_sha: str, seq: int, recommendation_key: str) -> str:
    raw = f"{document_sha}:{seq}:{recommendation_key}".encode()
    return "L" + hashlib.sha1(raw).hexdigest()[:11]


def layout_sections(passages: list[dict]) -> dict[int, str]:
    """passage id -> recommendation reference for passages inside a "Government response" answer
    that follows a "Recommendation N" label."""
    mapped: dict[int, str] = {}
    current: str | None = None
    answering = False
    for passage in passages:
        headings = [h.strip() for h in (passage["heading_path"] or "").split(" > ") if h.strip()]
        label_heading = next((LABEL.match(h) for h in reversed(headings) if LABEL.match(h)), None)
        in_answer = bool(headings) and RESPONSE_HEADING.match(headings[-1]) is not None
        label_text = LABEL.match(passage["text"])
        if label_text and (label_text.group("sep") or label_text.group(0).strip() == passage["text"].strip()):
            current, answering = label_text.group("number"), False
            continue
        if RESPONSE_HEADING.match(passage["text"]) and len(passage["text"].split()) <= 4:
            answering = True
            continue
        if label_heading:
            if label_heading.group("number") != current:
                current, answering = label_heading.group("number"), False
            answering = answering or in_answer
        if current and (answering or in_answer):
            mapped[passage["id"]] = current
    return mapped


def load_profiles(db: sqlite_utils.Database, recs: list[dict], model: str) -> Profiles:
    """Every top-level recommendation's profile sentences, embedded (see `embed`), as one matrix."""
    owners, hashes = [], []
    for column, rec in enumerate(recs):
        for text in profile_texts(rec):
            owners.append(column)
            hashes.append(text_hash(text))
    matrix = vectors_for(db, hashes, model)
    known = matrix.any(axis=1)
    aliases = [[Name.parse(alias) for alias in json.loads(rec["aliases"] or "[]")] for rec in recs]
    terms = distinctive_terms([[*profile_texts(rec), *json.loads(rec["aliases"] or "[]")] for rec in recs])
    return Profiles([rec["id"] for rec in recs], np.asarray(owners)[known], matrix[known], aliases, terms)


PRIOR_SAMPLE = 200  # passages per recommendation's prior: enough for a stable mean, cheap at any size
PRIOR_DEFAULT = 0.45  # before any passage is embedded


def make_linker(db: sqlite_utils.Database, settings: Settings | None = None) -> Linker:
    settings = settings or Settings()
    recs = list(db.query("select * from recommendations where parent_id is null order by id"))
    profiles = load_profiles(db, recs, settings.model)
    return Linker(recs, profiles, load_scorer(db), settings, recommendation_priors(db, profiles, settings))


def recommendation_priors(db: sqlite_utils.Database, profiles: Profiles, settings: Settings) -> np.ndarray:
    """Each recommendation's mean similarity to a fixed sample of passages of linked kinds: how much
    it resembles any text at all."""
    hashes = [row[0] for row in db.execute(
        "select p.sha256 from passages p join documents d on d.id = p.document_id where d.kind != 'review' order by p.sha256 limit ?", [PRIOR_SAMPLE * 5]
    )]  # fmt: skip
    vectors = vectors_for(db, hashes, settings.model)
    vectors = vectors[vectors.any(axis=1)]
    if len(vectors) == 0:
        return np.full(len(profiles.rec_ids), PRIOR_DEFAULT, dtype=np.float32)
    return np.percentile(profiles.passage_scores(vectors), 95, axis=0)


def documents_to_link(db: sqlite_utils.Database, rebuild: bool = False) -> list[int]:
    """Every non-review document when rebuilding; otherwise those no link run has read yet."""
    where = "kind != 'review'" + ("" if rebuild else " and linked_run is null")
    return [row[0] for row in db.execute(f"select id from documents where {where} order by id")]


def link_documents(
    db: sqlite_utils.Database,
    settings: Settings | None = None,
    rebuild: bool = False,
    document_ids: list[int] | None = None,
    progress: Callable[[int], None] | None = None,
) -> LinkReport:
    """Link the passages of non-review documents. Only documents not linked yet, unless `rebuild`
    (everything) or `document_ids` (those). Requires `embed` to have run for similarity links."""
    refresh_mentions(db)
    linker = make_linker(db, settings)
    with db.atomic():
        started = {"command": "link", "version": __version__, "settings": json.dumps(linker.settings.as_dict()), "started_at": utcnow()}
        run_id = int(db.table("runs").insert(started).last_pk or 0)
    if document_ids is None:
        document_ids = documents_to_link(db, rebuild)
    report = LinkReport(run_id, 0, 0)
    for document_id in document_ids:
        with db.atomic():
            rows = link_document(db, document_id, linker, run_id)
        report.documents += 1
        report.links += len(rows)
        for row in rows:
            report.by_method[row["method"]] = report.by_method.get(row["method"], 0) + 1
            report.by_label[row["label"]] = report.by_label.get(row["label"], 0) + 1
        if progress:
            progress(1)
    db.table("runs").update(run_id, {"finished_at": utcnow(), "summary": json.dumps(report.__dict__, default=str)})
    return report


def reference_matrix(db: sqlite_utils.Database, document: dict, passages: list[dict], columns: dict[int, int], task: str) -> np.ndarray:
    """(passages, recommendations): 2 where the response layout answers the item, 1 where a passage
    refers to it by number or register slug."""
    found = np.zeros((len(passages), len(columns)), dtype=np.float32)
    row_of = {passage["id"]: row for row, passage in enumerate(passages)}
    for mention in db.query("select passage_id, recommendation_id from mentions where document_id = ? and recommendation_id is not null", [document["id"]]):
        if mention["recommendation_id"] in columns and mention["passage_id"] in row_of:
            found[row_of[mention["passage_id"]], columns[mention["recommendation_id"]]] = 1
    if task == "position":
        for passage_id, ref in layout_sections(passages).items():
            answered = resolve_id(db, ref, document["review"])
            if answered in columns:
                found[row_of[passage_id], columns[answered]] = 2
    return found


def passage_signals(linker: Linker, passages: list[dict], vectors: np.ndarray, columns: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per passage and recommendation: the best profile similarity and the names used, and which
    passages count at all (furniture and very short passages do not)."""
    texts = [p["text"] for p in passages]
    scores = linker.profiles.passage_scores(vectors)[:, columns]
    names = linker.profiles.name_hits(texts)[:, columns]
    linkable = np.array([len(t.split()) >= linker.settings.min_words and not is_boilerplate(t) and v.any() for t, v in zip(texts, vectors)], dtype=bool)
    scores[~linkable] = -1.0
    names[~linkable] = 0
    return scores, names, linkable


def carriers(scores: np.ndarray, names: np.ndarray, refs: np.ndarray, linkable: np.ndarray, column: int, linked: bool) -> list[tuple[int, str]]:
    """(passage row, method) for the passages that carry a link to one recommendation."""
    chosen = {int(row): ("response_layout" if refs[row, column] == 2 else "explicit") for row in np.nonzero(refs[:, column])[0]}
    if linked:
        for row in np.nonzero(names[:, column])[0]:
            chosen.setdefault(int(row), "named")
        if linkable.any():  # the passages closest to the item carry it too, beside those that name it
            best = float(scores[:, column].max())
            ranks = (-scores).argsort(axis=1).argsort(axis=1)[:, column]  # where this item stands among each passage's items
            for row in np.nonzero((scores[:, column] >= best - CARRIER_MARGIN) & (ranks < CARRIER_RANK))[0][:2]:
                chosen.setdefault(int(row), "semantic")
    return sorted(chosen.items())


@dataclass
class DocumentView:
    """What the linker sees of one document: its passages and, per passage and recommendation in its
    review, similarity, names and references; per recommendation, the scorer's features."""

    document: dict
    task: str
    passages: list[dict]
    vectors: Callable[[list[int]], np.ndarray]  # rows -> their vectors, read when needed (a long document's do not fit at once)
    recs: list[dict]
    scores: np.ndarray
    names: np.ndarray
    refs: np.ndarray
    linkable: np.ndarray
    priors: np.ndarray
    terms: np.ndarray  # per recommendation: the share of its distinctive words the document uses

    @property
    def features(self) -> np.ndarray:
        return document_features(
            self.scores[self.linkable], self.names[self.linkable], self.refs[self.linkable].clip(0, 1), self.document["kind"], self.priors, self.terms
        )


def view_document(db: sqlite_utils.Database, linker: Linker, document_id: int) -> DocumentView | None:
    """None for documents that are not linked (reviews, unknown kinds, no recommendations)."""
    document = dict(db.table("documents").get(document_id))
    task = TASK_BY_KIND.get(document["kind"])
    in_review = [i for i, rec in enumerate(linker.recs) if document["review"] is None or rec["review"] == document["review"]]
    if task is None or not in_review:
        return None
    passages = list(db.query("select * from passages where document_id = ? order by seq", [document_id]))

    def vectors(rows: list[int]) -> np.ndarray:
        return vectors_for(db, [passages[row]["sha256"] for row in rows], linker.settings.model)

    chunks = [list(range(start, min(start + VECTOR_CHUNK, len(passages)))) for start in range(0, len(passages), VECTOR_CHUNK)] or [[]]
    signals = [passage_signals(linker, [passages[row] for row in rows], vectors(rows), in_review) for rows in chunks]
    scores, names, linkable = (np.concatenate([part[i] for part in signals]) for i in range(3))
    refs = reference_matrix(db, document, passages, {linker.recs[i]["id"]: c for c, i in enumerate(in_review)}, task)
    terms = linker.profiles.term_share([p["text"] for p, keep in zip(passages, linkable) if keep])[in_review]
    recs = [linker.recs[i] for i in in_review]
    return DocumentView(document, task, passages, vectors, recs, scores, names, refs, linkable, linker.priors[in_review], terms)


def link_document(db: sqlite_utils.Database, document_id: int, linker: Linker, run_id: int) -> list[dict]:
    """Replace the links of one document (inside the caller's transaction) and return them."""
    db.execute("delete from links where document_id = ?", [document_id])
    view = view_document(db, linker, document_id)
    rows = link_rows(view, linker, run_id) if view is not None else []
    db.table("links").insert_all(rows, replace=True)
    db.table("documents").update(document_id, {"linked_run": run_id})
    return rows


def link_rows(view: DocumentView, linker: Linker, run_id: int) -> list[dict]:
    """Every link of a document: for each recommendation the scorer accepts (or the text references),
    its carrying passages, each read for the document's task and for a reported government position."""
    probabilities = linker.fitted().probabilities(view.features)
    leads = lead_ins(view.passages)
    declared_signals = json.loads(view.document["declared"] or "{}").get("signals") or {}
    overall = document_stance(view, leads) if view.task == "stance" else None
    plans = [
        (
            column,
            rec,
            float(probabilities[column]),
            carriers(view.scores, view.names, view.refs, view.linkable, column, probabilities[column] >= linker.threshold),
        )
        for column, rec in enumerate(view.recs)
    ]
    needed = sorted({row for *_, chosen in plans for row, _ in chosen})
    vectors = dict(zip(needed, view.vectors(needed)))  # one read for every carrying passage
    rows: list[dict] = []
    for column, rec, probability, chosen in plans:
        for row, method in chosen:
            passage, lead, vector = view.passages[row], leads.get(view.passages[row]["id"]), vectors[row]
            reading = read(view.task, passage["text"], vector, lead, rec["direction"])
            if reading is not None and view.task == "signal" and rec["slug"] in declared_signals:
                reading = declared(declared_signals[rec["slug"]], reading)
            if reading is not None and overall is not None and reading.label == "neutral":
                reading = inherit(reading, overall)
            found = [(reading, "")] if reading is not None else []
            if view.task != "position":
                reported = read("position", passage["text"], vector, lead, reported=True)
                found += [(reported, ":position")] if reported is not None else []
            for item, suffix in found:
                rows.append(link_row(view.document, passage, rec, method, float(view.scores[row, column]), probability, linker, item, suffix, run_id))
    return rows


def document_stance(view: DocumentView, leads: dict[int, str]) -> Reading | None:
    """The author's view across the whole page, for items the page lists without judging each one
    ("We welcome the review. It proposes X, Y and Z"): the view most passages take, if any does."""
    votes: dict[str, list[Reading]] = {}
    linkable = [int(row) for row in np.nonzero(view.linkable)[0]]
    for start in range(0, len(linkable), VECTOR_CHUNK):
        rows = linkable[start : start + VECTOR_CHUNK]
        for row, vector in zip(rows, view.vectors(rows)):
            passage = view.passages[row]
            reading = read("stance", passage["text"], vector, leads.get(passage["id"]))
            if reading is not None and reading.label != "neutral" and (reading.cues or (reading.probability or 0) >= 0.6):
                votes.setdefault(reading.label, []).append(reading)
    if not votes:
        return None
    label = max(votes, key=lambda name: (len(votes[name]), sum(r.probability or 0 for r in votes[name])))
    return votes[label][0]


def inherit(reading: Reading, overall: Reading) -> Reading:
    """A neutral passage on an item takes the page's overall view, and says so in its rule."""
    return Reading(reading.task, overall.label, overall.probability, overall.cues, reading.speaker, reading.target_date, f"{reading.rule};page-view")


def link_row(
    document: dict, passage: dict, rec: dict, method: str, similarity: float, probability: float, linker: Linker, reading: Reading, suffix: str, run_id: int
) -> dict:
    """One link with its provenance. A reported position gets its own id beside the passage's reading."""
    machine = method in ("semantic", "named")
    return {
        "id": link_id(document["sha256"], passage["seq"], f"{rec['review']}:{rec['key']}{suffix}"),
        "passage_id": passage["id"],
        "document_id": document["id"],
        "recommendation_id": rec["id"],
        "task": reading.task,
        "method": method,
        "score": round(similarity, 4) if similarity > -1 else None,
        "probability": round(probability, 4),
        "threshold": linker.fitted().auto_threshold if machine else None,
        "model": linker.settings.model if machine else None,
        "quote": passage["text"],
        "start": passage["start"],
        "end": passage["end"],
        "run_id": run_id,
        **reading.columns(),
        "rule": f"{method};{reading.rule}",
    }
