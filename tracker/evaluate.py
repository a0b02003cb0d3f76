"""Measure linking against a gold file: precision, recall and F1 per task, and confusion tables.

Gold format (JSON Lines), one judgement per line:
  {"task": "link", "document": "mip-2023-04-04-response.txt", "quote": "absolute maximum of 10", "recommendation": "national-priorities"}
  {"task": "link", "document": "...", "quote": "...", "recommendation": null}          # this passage links to nothing
  {"task": "stance" | "position" | "signal", "document": "...", "quote": "...", "recommendation": "1", "label": "support"}
`document` matches the end of a document's source path (or its title); `quote` is a short fragment
that identifies one passage of it; `recommendation` is a number or a register slug.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import sqlite_utils

from .errors import TrackerError
from .readers import read
from .recommendations import resolve_id

LABEL_TASKS = ("stance", "position", "signal")


@dataclass
class Score:
    """True and false positives and negatives, and the figures made from them."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_dict(self) -> dict:
        return {"precision": round(self.precision, 3), "recall": round(self.recall, 3), "f1": round(self.f1, 3), "tp": self.tp, "fp": self.fp, "fn": self.fn}


@dataclass
class TaskScore(Score):
    task: str = ""
    confusion: Counter = field(default_factory=Counter)
    unresolved: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "task": self.task, **super().as_dict(),
            "confusion": {f"{gold} -> {predicted}": n for (gold, predicted), n in sorted(self.confusion.items())},
            "unresolved": self.unresolved,
        }  # fmt: skip


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def read_gold(path: Path) -> list[dict]:
    try:
        lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        return [json.loads(line) for line in lines]
    except (OSError, json.JSONDecodeError) as error:
        raise TrackerError(f"{path}: not a gold JSONL file ({error})") from error


def find_passage(db: sqlite_utils.Database, document: str, quote: str) -> dict | None:
    docs = list(db.query("select id, review from documents where source_path like :end or title = :doc", {"end": f"%{document}", "doc": document}))
    for doc in docs:
        for passage in db.query("select id, text from passages where document_id = ? order by seq", [doc["id"]]):
            if squash(quote) in squash(passage["text"]):
                return {**passage, "review": doc["review"]}
    return None


def evaluate(db: sqlite_utils.Database, gold: list[dict]) -> dict[str, TaskScore]:
    scores = {task: TaskScore(task=task) for task in ("link", *LABEL_TASKS)}
    expected: dict[int, set[int]] = {}
    for item in gold:
        task = item["task"]
        passage = find_passage(db, item["document"], item["quote"])
        if passage is None:
            scores[task].unresolved.append(f"{item['document']}: {item['quote']}")
            continue
        rec_id = resolve_id(db, item.get("recommendation"), passage["review"])
        if item.get("recommendation") is not None and rec_id is None:
            scores[task].unresolved.append(f"recommendation {item['recommendation']}")
            continue
        if task == "link":
            expected.setdefault(passage["id"], set())
            if rec_id is not None:
                expected[passage["id"]].add(rec_id)
        else:
            link = db.execute("select label, rule from links where passage_id = ? and recommendation_id = ?", [passage["id"], rec_id]).fetchone()
            if link is None:
                predicted = "missing"
            elif "declared;" in (link[1] or ""):
                direction = db.execute("select direction from recommendations where id = ?", [rec_id]).fetchone()[0]  # as the linker reads it
                predicted = reading.label if (reading := read(task, passage["text"], direction=direction)) else "missing"  # measure the reader, not the curator
            else:
                predicted = link[0]
            score = scores[task]
            score.confusion[(item["label"], predicted)] += 1
            if predicted == item["label"]:
                score.tp += 1
            else:
                score.fn += 1
                score.fp += predicted != "missing"
    for passage_id, gold_ids in expected.items():
        predicted_ids = {row[0] for row in db.execute("select recommendation_id from links where passage_id = ?", [passage_id])}
        link_score = scores["link"]
        link_score.tp += len(predicted_ids & gold_ids)
        link_score.fp += len(predicted_ids - gold_ids)
        link_score.fn += len(gold_ids - predicted_ids)
    return scores
