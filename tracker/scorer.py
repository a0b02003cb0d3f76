"""Does a document speak to a recommendation? A calibrated probability from a learned link scorer.

Each recommendation is known by its profile: title, summary (or official text) and the register's
profile sentences. For one document, every passage is scored against every profile sentence; the
features of a (document, recommendation) pair summarise those scores (best, second best, rank and
margin among all recommendations, centred on the document), plus name and number references (a name
found as its run of words, or as all its words in one clause of a list sentence) and the document's
kind. A logistic model trained on labelled real pages, the corpus and every human
confirm/reject turns them into a probability. Two thresholds come with the model, both chosen on
the tuning data: `link` (best F1: shown as evidence) and `auto` (precision >= 0.9: decides a status
without a person).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

import numpy as np
import sqlite_utils

from .db import utcnow
from .learn import LogisticModel, fit_logistic
from .names import ACRONYM, Name, NameBags, max_by_owner, name_forms, word_stems

FEATURES = [
    "best", "second", "centred", "lift", "inverse_rank", "margin", "strong_passages", "term_share",
    "name_hits", "name_cover", "number_hits", "kind_evidence", "kind_stakeholder", "kind_government",
]  # fmt: skip
KINDS = {"evidence": "kind_evidence", "stakeholder_response": "kind_stakeholder", "government_response": "kind_government"}
STRONG = 0.5  # a passage this close to a profile sentence is on the topic
MODEL_NAME = "link-scorer"
AUTO_PRECISION = 0.9


@dataclass
class Profiles:
    """Every recommendation's profile sentences as one matrix, with the owner of each row."""

    rec_ids: list[int]
    owners: np.ndarray  # (sentences,) index into rec_ids
    matrix: np.ndarray  # (sentences, dims)
    aliases: list[list[Name]]
    terms: list[dict[str, float]]  # each recommendation's distinctive word stems, weighted by rarity
    bags: NameBags = field(init=False)

    def __post_init__(self) -> None:
        self.bags = NameBags.build(self.aliases)

    def term_share(self, seen: set[str], columns: Sequence[int] | None = None) -> np.ndarray:
        """(columns,): how much of each recommendation's distinctive vocabulary a document uses
        (`seen`: the `word_stems` of its texts); every recommendation when `columns` is None."""
        chosen = [self.terms[c] for c in columns] if columns is not None else self.terms
        return np.array([sum(w for stem, w in terms.items() if stem in seen) / (sum(terms.values()) or 1.0) for terms in chosen], dtype=np.float32)

    def passage_scores(self, vectors: np.ndarray, columns: Sequence[int] | None = None) -> np.ndarray:
        """(passages, columns): each passage's best cosine with any sentence of each profile. Only the
        given columns' sentences are compared (a document's review: 36 of 3,600 at a hundred reviews)."""
        wanted = np.arange(len(self.rec_ids)) if columns is None else np.asarray(columns, dtype=np.int64)
        scores = np.full((len(vectors), len(wanted)), -1.0, dtype=np.float32)
        rows = np.nonzero(np.isin(self.owners, wanted))[0]
        if len(rows) == 0 or len(vectors) == 0:
            return scores
        rows = rows[np.argsort(self.owners[rows], kind="stable")]  # grouped by owner
        return max_by_owner(vectors @ self.matrix[rows].T, self.owners[rows], wanted, scores)

    def name_hits(self, texts: list[str], columns: Sequence[int] | None = None) -> np.ndarray:
        """(passages, columns): how many of each recommendation's names a passage uses."""
        aliases = [self.aliases[c] for c in columns] if columns is not None else self.aliases
        seen = [(name_forms(text), set(ACRONYM.findall(text))) for text in texts]
        return np.array([[sum(1 for name in names if name.found(*found)) for names in aliases] for found in seen], dtype=np.float32).reshape(
            len(texts), len(aliases)
        )

    def name_cover(self, texts: list[str], columns: Sequence[int] | None = None) -> np.ndarray:
        """(passages, columns): see `NameBags.cover`."""
        return self.bags.cover(texts, np.arange(len(self.rec_ids)) if columns is None else np.asarray(columns, dtype=np.int64))


def distinctive_terms(profiles: list[list[str]]) -> list[dict[str, float]]:
    """Per recommendation, the word stems of its profile that few other recommendations use, weighted
    by how rare they are (log inverse document frequency over the recommendations)."""
    stems = [word_stems(texts) for texts in profiles]
    frequency: dict[str, int] = {}
    for found in stems:
        for stem in found:
            frequency[stem] = frequency.get(stem, 0) + 1
    limit = max(2, len(stems) // 10)
    return [{stem: float(np.log(len(stems) / frequency[stem])) for stem in found if frequency[stem] <= limit and len(stem) > 3} for found in stems]


@dataclass
class FeatureTally:
    """What the features need from a document's linkable passages, added a chunk of passages at a time
    (a long document's score matrix is never whole): per recommendation the best and second best
    similarity, the passages on the topic (>= STRONG), name and number references, and how fully one
    clause covers a name."""

    top: np.ndarray  # (2, recommendations) float32: best, second best; -inf until seen
    strong: np.ndarray  # (recommendations,) passages on the topic
    names: np.ndarray  # (recommendations,) float32 name hits
    numbers: np.ndarray  # (recommendations,) float32 passages that cite the item
    cover: np.ndarray  # (recommendations,) float32 best share of a name's words in one clause
    passages: int = 0

    @classmethod
    def empty(cls, recs: int) -> FeatureTally:
        zeros = np.zeros(recs, dtype=np.float32)
        return cls(np.full((2, recs), -np.inf, dtype=np.float32), np.zeros(recs, dtype=np.int64), zeros, zeros.copy(), zeros.copy())

    def add(self, scores: np.ndarray, names: np.ndarray, numbers: np.ndarray, cover: np.ndarray) -> None:
        """One chunk's linkable passages: (passages, recommendations) each."""
        if len(scores) == 0:
            return
        self.top = np.sort(np.concatenate([self.top, scores]), axis=0)[::-1][:2]
        self.strong = self.strong + (scores >= STRONG).sum(axis=0)
        self.names = self.names + names.sum(axis=0)
        self.cover = np.maximum(self.cover, cover.max(axis=0))
        self.numbers = self.numbers + numbers.sum(axis=0)
        self.passages += len(scores)


def document_features(tally: FeatureTally, kind: str, priors: np.ndarray, terms: np.ndarray) -> np.ndarray:
    """(recommendations, FEATURES) for one document, from its linkable passages' tally; `priors` is
    each recommendation's usual best score on any document, so an item that resembles every page
    (a hub) needs more than its usual similarity."""
    recs = tally.top.shape[1]
    if tally.passages == 0:
        return np.zeros((recs, len(FEATURES)))  # nothing linkable: every feature at its floor
    best = np.ascontiguousarray(tally.top[0])
    second = np.ascontiguousarray(tally.top[1] if tally.passages > 1 else tally.top[0])
    rank = (-best).argsort().argsort() + 1
    kind_columns = [1.0 if KINDS.get(kind) == name else 0.0 for name in FEATURES[-3:]]
    return np.column_stack(
        [
            best, second, best - best.mean(), best - priors, 1.0 / rank, best - best.max(),
            np.log1p(tally.strong), terms, np.log1p(tally.names), tally.cover, np.log1p(tally.numbers),
            *[np.full(recs, value) for value in kind_columns],
        ]
    )  # fmt: skip


@dataclass
class LinkScorer:
    model: LogisticModel
    link_threshold: float
    auto_threshold: float
    trained_on: dict = field(default_factory=dict)

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        if len(features) == 0:
            return np.zeros(0)
        return self.model.probabilities(features)[:, self.model.labels.index("linked")]

    def as_dict(self) -> dict:
        return {"features": FEATURES, "model": self.model.as_dict(), "link_threshold": self.link_threshold,
                "auto_threshold": self.auto_threshold, "trained_on": self.trained_on}  # fmt: skip

    @classmethod
    def from_dict(cls, spec: dict) -> LinkScorer:
        if spec.get("features") != FEATURES:
            raise ValueError("the saved link scorer was fitted on other features; run `tracker fit`")
        return cls(LogisticModel.from_dict(spec["model"]), spec["link_threshold"], spec["auto_threshold"], spec.get("trained_on", {}))


SHIPPED = "link_scorer.json"


def current(spec: str) -> LinkScorer | None:
    """A saved scorer, or None when it was fitted on features this version no longer computes."""
    try:
        return LinkScorer.from_dict(json.loads(spec))
    except ValueError:
        return None


@lru_cache(maxsize=1)
def shipped_scorer() -> LinkScorer | None:
    """The scorer fitted on the project's tuning data (tracker/data/link_scorer.json), if current."""
    path = resources.files("tracker") / "data" / SHIPPED
    return current(path.read_text(encoding="utf-8")) if path.is_file() else None


def load_scorer(db: sqlite_utils.Database) -> LinkScorer | None:
    """The scorer last fitted into this database (`tracker fit`) if current, else the shipped one."""
    if "models" in db.table_names():
        row = db.execute("select spec from models where name = ?", [MODEL_NAME]).fetchone()
        if row and (fitted := current(row[0])) is not None:
            return fitted
    return shipped_scorer()


def save_scorer(db: sqlite_utils.Database, scorer: LinkScorer) -> None:
    with db.atomic():
        db.table("models").upsert({"name": MODEL_NAME, "spec": json.dumps(scorer.as_dict()), "created_at": utcnow()}, pk="name")


def choose_thresholds(probabilities: np.ndarray, linked: np.ndarray) -> tuple[float, float]:
    """(best-F1 threshold, lowest threshold whose links are >= AUTO_PRECISION precise)."""
    order = np.argsort(-probabilities)
    p, y = probabilities[order], linked[order].astype(float)
    tp = np.cumsum(y)
    precision = tp / np.arange(1, len(y) + 1)
    recall = tp / max(1.0, y.sum())
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-9)
    link = float(p[int(np.argmax(f1))]) if len(p) else 0.5
    precise = np.nonzero(precision >= AUTO_PRECISION)[0]
    auto = float(p[precise[-1]]) if len(precise) else 1.0
    return round(min(link, 0.95), 4), round(max(auto, link), 4)


def held_out_probabilities(features: np.ndarray, labels: list[str], weights: np.ndarray, groups: np.ndarray, l2: float) -> np.ndarray:
    """Each example's probability from a model fitted without its group (document): 5 folds."""
    folds = np.array([hash_fold(group) for group in groups])
    held_out = np.zeros(len(labels))
    for fold in range(5):
        train = folds != fold
        if (~train).any() and len(set(np.array(labels)[train])) == 2:
            model = fit_logistic(features[train], list(np.array(labels)[train]), l2, weights[train])
            held_out[~train] = model.probabilities(features[~train])[:, model.labels.index("linked")]
    return held_out


def hash_fold(group: object) -> int:
    return int(hashlib.sha1(str(group).encode()).hexdigest(), 16) % 5


L2 = 10.0  # strong: a few dozen labelled real pages should not be memorised


def fit_scorer(
    features: np.ndarray, linked: np.ndarray, weights: np.ndarray, groups: np.ndarray, calibrate: np.ndarray, trained_on: dict
) -> tuple[LinkScorer, np.ndarray]:
    """Fit the scorer on (pair features, linked or not, example weight, document) and choose its
    thresholds on held-out probabilities (folds by document) of the `calibrate` examples (real pages
    when there are any), so they are not set on fitted scores. Returns the held-out probabilities too."""
    labels = ["linked" if value else "not" for value in linked]
    held_out = held_out_probabilities(features, labels, weights, groups, L2)
    chosen = calibrate if calibrate.any() and linked[calibrate].any() else np.ones(len(labels), dtype=bool)
    link_threshold, auto_threshold = choose_thresholds(held_out[chosen], np.asarray(linked, dtype=bool)[chosen])
    return LinkScorer(fit_logistic(features, labels, L2, weights), link_threshold, auto_threshold, trained_on), held_out


def pair_metrics(probabilities: np.ndarray, linked: np.ndarray, threshold: float) -> dict:
    """Precision, recall and F1 of the pairs at or above a threshold."""
    chosen = probabilities >= threshold
    tp = int((chosen & linked).sum())
    precision = tp / max(1, int(chosen.sum()))
    recall = tp / max(1, int(linked.sum()))
    return {
        "precision": round(precision, 3),
        "recall": round(recall, 3),
        "f1": round(2 * precision * recall / max(1e-9, precision + recall), 3),
        "links": int(chosen.sum()),
    }
