"""Align a review's register (items known from secondary sources) with the recommendations parsed
from the official document: explicit numbers first, then a one-to-one assignment by embedding
similarity (Hungarian algorithm). Matched register items take the official number and text and keep
their slug and sources; weak matches are listed for a person to confirm."""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlite_utils
from scipy.optimize import linear_sum_assignment

from .embed import Embedder, embed_texts, text_hash, vectors_for
from .errors import TrackerError
from .recommendations import forget

MIN_SIMILARITY = 0.45  # below this a pair is no match at all
CONFIDENT_SIMILARITY = 0.6  # below this a match is listed for a person to confirm


@dataclass
class Match:
    slug: str
    number: int
    method: str  # number | similarity
    score: float | None
    register_text: str
    official_text: str

    @property
    def needs_review(self) -> bool:
        return self.method == "similarity" and (self.score or 0) < CONFIDENT_SIMILARITY


@dataclass
class Reconciliation:
    review: str
    matches: list[Match] = field(default_factory=list)
    unmatched_register: list[str] = field(default_factory=list)
    unmatched_official: list[int] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "review": self.review,
            "matches": [{**m.__dict__, "needs_review": m.needs_review} for m in self.matches],
            "unmatched_register": self.unmatched_register,
            "unmatched_official": self.unmatched_official,
        }


def plan(db: sqlite_utils.Database, review: str, embedder: Embedder) -> Reconciliation:
    """Decide the matches without changing anything."""
    register = list(db.query("select * from recommendations where review = ? and origin = 'register' and parent_id is null", [review]))
    official = list(db.query("select * from recommendations where review = ? and origin = 'parsed' and parent_id is null", [review]))
    if not official:
        raise TrackerError(f"review {review!r} has no parsed recommendations: ingest the official document with --kind review --review {review}")
    result = Reconciliation(review)
    by_number = {rec["number"]: rec for rec in official}
    for rec in [r for r in register if r["number"] is not None and r["number"] in by_number]:
        match = by_number.pop(rec["number"])
        result.matches.append(Match(rec["slug"], match["number"], "number", None, rec["text"], match["text"]))
    taken = {m.slug for m in result.matches}
    left_register = [r for r in register if r["slug"] not in taken]
    left_official = list(by_number.values())
    if left_register and left_official:
        texts = {text_hash(r["text"]): r["text"] for r in left_register + left_official}
        embed_texts(db, texts, embedder)
        a = vectors_for(db, [text_hash(r["text"]) for r in left_register], embedder.name)
        b = vectors_for(db, [text_hash(r["text"]) for r in left_official], embedder.name)
        similarity = a @ b.T
        rows, cols = linear_sum_assignment(-similarity)
        for i, j in zip(rows, cols):
            if similarity[i, j] >= MIN_SIMILARITY:
                reg, off = left_register[i], left_official[j]
                result.matches.append(Match(reg["slug"], off["number"], "similarity", round(float(similarity[i, j]), 3), reg["text"], off["text"]))
    matched_slugs = {m.slug for m in result.matches}
    matched_numbers = {m.number for m in result.matches}
    result.unmatched_register = [r["slug"] for r in register if r["slug"] not in matched_slugs]
    result.unmatched_official = sorted(r["number"] for r in official if r["number"] not in matched_numbers)
    result.matches.sort(key=lambda m: m.number)
    return result


def apply(db: sqlite_utils.Database, result: Reconciliation) -> None:
    """Merge each matched official recommendation into its register item, in one transaction."""
    with db.atomic():
        for match in result.matches:
            register = db.execute("select id from recommendations where review = ? and slug = ? and parent_id is null", [result.review, match.slug]).fetchone()[
                0
            ]
            official = db.execute(
                "select * from recommendations where review = ? and origin = 'parsed' and number = ? and parent_id is null",
                [result.review, match.number],
            ).fetchone()
            if official is None:
                continue
            official = dict(zip([d[0] for d in db.execute("select * from recommendations limit 0").description], official))
            db.table("recommendations").update(
                register,
                {
                    "number": official["number"],
                    "label": official["label"],
                    "text": official["text"],
                    "section": official["section"],
                    "chapter": official["chapter"] or db.table("recommendations").get(register)["chapter"],
                    "addressees": official["addressees"],
                    "locations": official["locations"],
                    "number_verified": 1,
                    "origin": "reconciled",
                    "confidence": "high" if not match.needs_review else "medium",
                },
            )
            for table, column in (("recommendations", "parent_id"), ("mentions", "recommendation_id"), ("links", "recommendation_id")):
                db.execute(f"update {table} set {column} = ? where {column} = ?", [register, official["id"]])
            forget(db, [official["id"]])


def reconcile(db: sqlite_utils.Database, review: str, embedder: Embedder, dry_run: bool = False) -> Reconciliation:
    result = plan(db, review, embedder)
    if not dry_run:
        apply(db, result)
    return result
