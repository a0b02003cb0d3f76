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
A document is read a chunk of passages at a time (`tracker.view`): a 50 MB text links in bounded memory.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import sqlite_utils

from . import __version__
from .db import utcnow
from .embed import MODEL_NAME, text_hash, vectors_for
from .errors import TrackerError
from .names import Name
from .readers import Reading, declared, read
from .recommendations import profile_texts, refresh_mentions
from .scorer import LinkScorer, Profiles, distinctive_terms, load_scorer
from .view import DocumentView, view_document

MIN_PASSAGE_WORDS = 6
CARRIER_MARGIN = 0.03  # a second passage carries a similarity link when this close to the best (and the item is among its closest)


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
    (everything) or `document_ids` (those). Requires `embed` to have run for similarity links.
    Inline mentions are resolved again: all of them on `rebuild`, else those of the documents linked
    (so that linking one new document costs the same in a tracker of a million passages)."""
    if rebuild:
        refresh_mentions(db)
    linker = make_linker(db, settings)
    with db.atomic():
        started = {"command": "link", "version": __version__, "settings": json.dumps(linker.settings.as_dict()), "started_at": utcnow()}
        run_id = int(db.table("runs").insert(started).last_pk or 0)
    if document_ids is None:
        document_ids = documents_to_link(db, rebuild)
    report = LinkReport(run_id, 0, 0)
    for document_id in document_ids:
        if not rebuild:
            refresh_mentions(db, document_id)
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


def carriers(view: DocumentView, column: int, linked: bool) -> list[tuple[int, str, float]]:
    """(passage row, method, similarity) for the passages that carry a link to one recommendation."""
    chosen = {row: ("response_layout" if value == 2 else "explicit", score) for row, (value, score) in view.cited.get(column, {}).items()}
    if linked:
        for row, score in view.named.get(column, {}).items():
            chosen.setdefault(row, ("named", score))
        if view.tally.passages:  # the passages closest to the item carry it too, beside those that name it
            best = float(view.peak[column])
            close = (view.closest == column) & (view.closest_scores >= best - CARRIER_MARGIN)
            for row in np.nonzero(close.any(axis=1))[0][:2]:
                chosen.setdefault(int(row), ("semantic", float(view.closest_scores[row][close[row]][0])))
        if not chosen:  # a name only in words spread over a clause ("cut the number of national targets")
            chosen = {row: ("named", score) for row, score in view.covered.get(column, {}).items()}
    return sorted((row, method, score) for row, (method, score) in chosen.items())


def link_document(db: sqlite_utils.Database, document_id: int, linker: Linker, run_id: int) -> list[dict]:
    """Replace the links of one document (inside the caller's transaction) and return them."""
    db.execute("delete from links where document_id = ?", [document_id])
    view = view_document(db, linker, document_id, page_view=True)
    rows = link_rows(view, linker, run_id) if view is not None else []
    db.table("links").insert_all(rows, replace=True)
    db.table("documents").update(document_id, {"linked_run": run_id})
    return rows


def link_rows(view: DocumentView, linker: Linker, run_id: int) -> list[dict]:
    """Every link of a document: for each recommendation the scorer accepts (or the text references),
    its carrying passages, each read for the document's task and for a reported government position,
    and the page's other passages that may report the government's position on it (`position_carriers`)."""
    probabilities = linker.fitted().probabilities(view.features)
    declared_signals = json.loads(view.document["declared"] or "{}").get("signals") or {}
    plans = []
    for column, rec in enumerate(view.recs):
        chosen = [(*carrier, True) for carrier in carriers(view, column, probabilities[column] >= linker.threshold)]
        extra = position_carriers(view, column, chosen) if chosen and view.task == "stance" else []
        plans.append((rec, float(probabilities[column]), chosen + [(*carrier, False) for carrier in extra]))
    needed = sorted({row for *_, chosen in plans for row, *_ in chosen})
    passages, vectors = view.fetch(needed)  # one read for every carrying passage
    carrying = dict(zip(needed, zip(passages, vectors)))
    rows: list[dict] = []
    for rec, probability, chosen in plans:
        for row, method, similarity, carries in chosen:
            passage, vector = carrying[row]
            for item, suffix in readings(view, rec, passage["text"], vector, view.leads.get(passage["id"]), carries, declared_signals):
                rows.append(link_row(view.document, passage, rec, method, similarity, probability, linker, item, suffix, run_id))
    return rows


POSITION_ROWS = 4  # the page's passages closest to an item that are also read for a reported position


def position_carriers(view: DocumentView, column: int, chosen: list[tuple]) -> list[tuple[int, str, float]]:
    """Passages besides the carriers that may report the government's position on an item: those
    that name it and the few that have it among their two closest items (the sentence that reports a
    decision is often not the one most like the item). Only sentences in which the government acts
    on it give a reading."""
    if view.closest.ndim != 2:
        return []  # no passages
    carrying, named = {row for row, *_ in chosen}, view.named.get(column, {})
    rows, rank = np.nonzero(view.closest == column)
    scores = view.closest_scores[rows, rank]
    skip = carrying | set(named)
    nearest = [(int(rows[i]), "semantic", float(scores[i])) for i in np.argsort(-scores, kind="stable") if int(rows[i]) not in skip]
    return sorted([(row, "named", score) for row, score in named.items() if row not in carrying] + nearest[:POSITION_ROWS])


def readings(
    view: DocumentView, rec: dict, text: str, vector: np.ndarray, lead: str | None, carries: bool, declared_signals: dict
) -> list[tuple[Reading, str]]:
    """What a passage says about an item, each with its link id's suffix: a carrier is read for the
    document's task (`reading_for`) and, on an evidence page, for its author's stance when a cue says
    one; every passage for a reported position, which an evidence page gives only in answer to the review."""
    names = names_of(rec)
    found = [(reading_for(view, rec, text, vector, lead, declared_signals), "")] if carries else []
    if carries and view.task == "signal":
        stance = read("stance", text, vector, lead, names=names)
        found.append((stance if stance is not None and stance.cues and stance.label != "neutral" else None, ":stance"))
    if view.task != "position":
        found.append((read("position", text, vector, lead, reported=True, names=names if view.task == "stance" else ()), ":position"))
    return [(reading, suffix) for reading, suffix in found if reading is not None]


def reading_for(view: DocumentView, rec: dict, text: str, vector: np.ndarray, lead: str | None, declared_signals: dict) -> Reading | None:
    """A carrying passage read for the document's task: a curated digest's declared signal wins, and
    a stance with no cue of its own takes the page's overall view."""
    reading = read(view.task, text, vector, lead, rec["direction"], names=names_of(rec))
    if reading is not None and view.task == "signal" and rec["slug"] in declared_signals:
        return declared(declared_signals[rec["slug"]], reading)
    if reading is not None and view.overall is not None and reading.label == "neutral" and not reading.cues:
        return inherit(reading, view.overall)
    return reading


def names_of(rec: dict) -> tuple[str, ...]:
    """The names a sentence may use for an item: its register aliases."""
    return aliases_of(rec.get("aliases"))


@lru_cache(maxsize=4096)
def aliases_of(column: str | None) -> tuple[str, ...]:
    """The aliases column parsed once per run, not once per passage read."""
    return tuple(json.loads(column or "[]"))


def inherit(reading: Reading, overall: Reading) -> Reading:
    """A passage with no cue of its own on an item takes the page's overall view, and says so in its rule."""
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
