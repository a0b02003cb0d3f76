"""Link passages of responses and evidence to recommendations, and read what each passage says.

Methods, strongest first: `response_layout` (a government response laid out by recommendation
number), `explicit` (an inline reference the parser found: "Recommendation 12", "(register: slug)"),
and `semantic` (cosine similarity of embeddings above a calibrated threshold). Each link then gets a
label by the document's kind: a stakeholder's stance, the government's position, or an evidence
signal with any target date. Every link keeps its provenance: method, score, threshold, model, rule,
cues, quote and span, and the run that made it. Link ids are stable hashes, so human confirmations
and rejections survive `--rebuild`.
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
from .classify import classify, target_dates
from .db import utcnow
from .embed import MODEL_NAME, VectorIndex, text_hash, vectors_for
from .recommendations import refresh_mentions, resolve_id
from .references import LABEL

SEMANTIC_THRESHOLD = 0.375  # on the centred score; calibrated on the dev gold set (README "Evaluation")
SEMANTIC_MIN_COSINE = 0.35  # and the plain cosine must reach this
SEMANTIC_MARGIN = 0.05  # further candidates must score within this of the best to be linked too
SEMANTIC_TOP_K = 3
LEXICAL_WEIGHT = 0.6  # weight of the shared key-term share in the score
CANDIDATES = 10  # nearest recommendations by cosine that are scored in full
MIN_PASSAGE_WORDS = 8
TASK_BY_KIND = {
    "stakeholder_response": "stance",
    "other": "stance",
    "government_response": "position",
    "evidence": "signal",
}
RESPONSE_HEADING = re.compile(r"^(?:the\s+)?(?:government(?:'s|’s)?\s+)?response\b", re.IGNORECASE)


@dataclass
class Settings:
    threshold: float = SEMANTIC_THRESHOLD
    min_cosine: float = SEMANTIC_MIN_COSINE
    margin: float = SEMANTIC_MARGIN
    lexical_weight: float = LEXICAL_WEIGHT
    top_k: int = SEMANTIC_TOP_K
    min_words: int = MIN_PASSAGE_WORDS
    model: str = MODEL_NAME
    backend: str = "auto"

    def as_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class LinkReport:
    run_id: int
    documents: int
    links: int
    by_method: dict[str, int] = field(default_factory=dict)
    by_label: dict[str, int] = field(default_factory=dict)
    backend: str = "numpy"


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


def read_passage(text: str, task: str) -> dict:
    """Label, cues and target date of a passage for the task."""
    verdict = classify(text, task)
    label = verdict.label if verdict else ("neutral" if task == "stance" else "mention")
    dates = target_dates(text) if task == "signal" else []
    return {
        "label": label,
        "cues": json.dumps(list(verdict.cues)) if verdict else None,
        "target_date": dates[0][1] if dates and dates[0][1] else None,
        "rule": f"cues:{task}" + (f";target:{dates[0][0]}" if dates else ""),
    }


def declared_reading(signal: str, reading: dict) -> dict:
    """A curated digest's own signal (front matter `signals`) outranks the cue reading of its text;
    'context' means the document bears on the item without moving it."""
    label = "mention" if signal == "context" else signal
    return {**reading, "label": label, "cues": json.dumps([f"declared: {signal}"]), "rule": f"declared;{reading['rule']}"}


STOPWORDS = frozenset(
    ["the", "and", "for", "that", "with", "this", "from", "have", "will", "should", "their", "they", "been", "more", "than", "into", "over", "about", "which", "would", "there", "what", "when", "where", "also", "other", "some", "such", "only", "very", "must", "each", "these", "those", "them", "then", "were", "being", "most", "many", "much", "make", "made", "does", "could", "review", "recommendation", "recommendations", "system", "systems"]
)


def stems(text: str) -> frozenset[str]:
    """Crude content-word stems (first six letters): enough to reward shared key terms."""
    return frozenset(word[:6] for word in re.findall(r"[a-z]{4,}", text.lower()) if word not in STOPWORDS)


def semantic_candidates(
    index: VectorIndex,
    vector: np.ndarray,
    passage_text: str,
    passage_prior: float,
    priors: dict[int, float],
    terms: dict[int, frozenset],
    settings: Settings,
) -> list[tuple[int, float]]:
    """Recommendations whose score clears the threshold. The score is the cosine centred on the two
    sides' average similarity (so generic passages and generic recommendations do not link to
    everything) plus a bonus for the share of the recommendation's key terms the passage uses."""
    hits = index.search(vector, max(CANDIDATES, settings.top_k))
    if not hits:
        return []
    words = stems(passage_text)
    scored = sorted(
        (
            (rec_id, cos - 0.5 * (priors.get(rec_id, 0.0) + passage_prior) + settings.lexical_weight * len(words & terms.get(rec_id, frozenset())) / max(1, len(terms.get(rec_id, ()))), cos)
            for rec_id, cos in hits
        ),
        key=lambda item: -item[1],
    )[: settings.top_k]
    best = scored[0][1]
    return [
        (rec_id, score)
        for rec_id, score, cos in scored
        if score >= settings.threshold and cos >= settings.min_cosine and best - score <= settings.margin
    ]


def recommendation_priors(db: sqlite_utils.Database, recs: list[dict], matrix: np.ndarray, model: str) -> dict[int, float]:
    """Mean cosine of each recommendation to all passages of linkable documents."""
    hashes = [row[0] for row in db.execute("select p.sha256 from passages p join documents d on d.id = p.document_id where d.kind != 'review'")]
    passages = vectors_for(db, hashes, model)
    passages = passages[passages.any(axis=1)]
    if len(passages) == 0:
        return {}
    means = (passages @ matrix.T).mean(axis=0)
    return {rec["id"]: float(means[i]) for i, rec in enumerate(recs)}


def recommendation_vectors(db: sqlite_utils.Database, model: str) -> tuple[list[dict], np.ndarray]:
    recs = list(db.query("select id, review, key, slug, title, text from recommendations where parent_id is null order by id"))
    matrix = vectors_for(db, [text_hash(r["text"]) for r in recs], model)
    return recs, matrix


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
    (everything) or `document_ids` (those). Requires `embed` to have run for semantic links."""
    settings = settings or Settings()
    refresh_mentions(db)
    recs, matrix = recommendation_vectors(db, settings.model)
    known = [i for i, row in enumerate(matrix) if row.any()]
    index = VectorIndex([recs[i]["id"] for i in known], matrix[known], backend=settings.backend)
    priors = recommendation_priors(db, recs, matrix, settings.model)
    terms = {rec["id"]: stems(f"{rec['title'] or ''} {rec['text']}") for rec in recs}
    rec_by_id = {r["id"]: r for r in recs}
    with db.atomic():
        run_id = int(
            db.table("runs").insert({"command": "link", "version": __version__, "settings": json.dumps(settings.as_dict()), "started_at": utcnow()}).last_pk or 0
        )
    if document_ids is None:
        document_ids = documents_to_link(db, rebuild)
    report = LinkReport(run_id, 0, 0, backend=index.backend)
    for document_id in document_ids:
        with db.atomic():
            rows = link_document(db, document_id, settings, index, priors, terms, rec_by_id, run_id)
        report.documents += 1
        report.links += len(rows)
        for row in rows:
            report.by_method[row["method"]] = report.by_method.get(row["method"], 0) + 1
            report.by_label[row["label"]] = report.by_label.get(row["label"], 0) + 1
        if progress:
            progress(1)
    db.table("runs").update(run_id, {"finished_at": utcnow(), "summary": json.dumps(report.__dict__, default=str)})
    return report


def link_document(
    db: sqlite_utils.Database,
    document_id: int,
    settings: Settings,
    index: VectorIndex,
    priors: dict[int, float],
    terms: dict[int, frozenset],
    rec_by_id: dict[int, dict],
    run_id: int,
) -> list[dict]:
    """Replace the links of one document (inside the caller's transaction) and return them."""
    document = db.table("documents").get(document_id)
    task = TASK_BY_KIND.get(document["kind"])
    db.execute("delete from links where document_id = ?", [document_id])
    if task is None:
        db.table("documents").update(document_id, {"linked_run": run_id})
        return []
    passages = list(db.query("select * from passages where document_id = ? order by seq", [document_id]))
    mentions: dict[int, list[int]] = {}
    for row in db.query("select passage_id, recommendation_id from mentions where document_id = ? and recommendation_id is not null", [document_id]):
        mentions.setdefault(row["passage_id"], []).append(row["recommendation_id"])
    layout = layout_sections(passages) if task == "position" else {}
    declared_signals = json.loads(document["declared"] or "{}").get("signals") or {}
    vectors = vectors_for(db, [p["sha256"] for p in passages], settings.model)
    passage_priors = (vectors @ index.matrix.T).mean(axis=1) if len(index.ids) else np.zeros(len(passages))
    rows: list[dict] = []
    for passage, vector, passage_prior in zip(passages, vectors, passage_priors):
        candidates: list[tuple[int, str, float | None]] = []
        answered = resolve_id(db, layout[passage["id"]], document["review"]) if passage["id"] in layout else None
        if answered is not None:
            candidates.append((answered, "response_layout", None))
        for rec_id in dict.fromkeys(mentions.get(passage["id"], [])):
            if not any(c[0] == rec_id for c in candidates):
                candidates.append((rec_id, "explicit", None))
        if not candidates and vector.any() and len(passage["text"].split()) >= settings.min_words:
            candidates = [(rec_id, "semantic", score) for rec_id, score in semantic_candidates(index, vector, passage["text"], float(passage_prior), priors, terms, settings)]
        if not candidates:
            continue
        reading = read_passage(passage["text"], task)
        for rec_id, method, score in candidates:
            rec = rec_by_id.get(rec_id)
            if rec is None:
                continue
            declared = task == "signal" and rec["slug"] in declared_signals
            row_reading = declared_reading(declared_signals[rec["slug"]], reading) if declared else reading
            rows.append(
                {
                    "id": link_id(document["sha256"], passage["seq"], f"{rec['review']}:{rec['key']}"),
                    "passage_id": passage["id"],
                    "document_id": document_id,
                    "recommendation_id": rec_id,
                    "task": task,
                    "method": method,
                    "score": round(score, 4) if score is not None else None,
                    "threshold": settings.threshold if method == "semantic" else None,
                    "model": settings.model if method == "semantic" else None,
                    "quote": passage["text"],
                    "start": passage["start"],
                    "end": passage["end"],
                    "run_id": run_id,
                    **row_reading,
                    "rule": f"{method};{row_reading['rule']}",
                }
            )
    db.table("links").insert_all(rows, replace=True)
    db.table("documents").update(document_id, {"linked_run": run_id})
    return rows
