"""Evaluation on real outside pages: labels per page (which items it is about, with stance, reported
government positions and evidence signals), the page text read from a folder that is never committed.

Gold format (JSON Lines, one page a line; see tests/gold/real_pages.jsonl):
  {"id": "...", "url": "...", "query": "...", "title": "...", "publisher": "...", "date": "2023-04-05",
   "date_precision": "day", "kind": "stakeholder_response", "split": "tune" | "report" | "holdout",
   "items": [{"recommendation": "peer-review", "stance": "support", "position": null, "signal": null,
              "changes_status": false}]}
The text of a page is `DIR/<id>.txt`. Pages are ingested into a copy of the database, linked, and
scored per (page, recommendation): links; stance, positions and signals on the gold items; and the
status the page gives an item without a person against the one a reader gives (a move to another
status, or on an item the reader says the page does not move, counts against it).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import sqlite_utils

from .build import embed_all, link
from .errors import TrackerError
from .evaluate import Score
from .progress import Progress, no_progress
from .recommendations import only_review, resolve_id
from .scorer import LinkScorer
from .status import POSITION_STATUS, SIGNAL_STATUS, Evidence, document_signals, government_position, latest_signal

TASKS = ("link", "stance", "position", "signal", "status_change")


@dataclass
class PageReport:
    pages: int
    missing_texts: list[str]
    scores: dict[str, Score] = field(default_factory=dict)
    by_kind: dict[str, dict[str, Score]] = field(default_factory=dict)
    errors: list[dict] = field(default_factory=list)

    def add(self, kind: str, task: str, tp: int = 0, fp: int = 0, fn: int = 0) -> None:
        for table in (self.scores, self.by_kind.setdefault(kind, {})):
            score = table.setdefault(task, Score())
            score.tp, score.fp, score.fn = score.tp + tp, score.fp + fp, score.fn + fn

    def as_dict(self) -> dict:
        return {
            "pages": self.pages, "missing_texts": self.missing_texts,
            "scores": {task: score.as_dict() for task, score in self.scores.items()},
            "by_kind": {kind: {task: score.as_dict() for task, score in tasks.items()} for kind, tasks in self.by_kind.items()},
            "errors": self.errors,
        }  # fmt: skip


def read_pages(path: Path, split: str | None = None) -> list[dict]:
    """The labelled pages of a gold file, optionally one split ('tune', 'report' or 'holdout': pages
    labelled later and kept out of fitting, to measure on)."""
    try:
        pages = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except (OSError, json.JSONDecodeError) as error:
        raise TrackerError(f"{path}: not a page gold file ({error})") from error
    return [page for page in pages if split in (None, "all") or page.get("split") == split]


@contextmanager
def database_copy(db_path: Path) -> Iterator[sqlite_utils.Database]:
    """A throwaway copy of a database (through SQLite's backup, so a live WAL is included)."""
    from .db import open_db

    with tempfile.TemporaryDirectory(prefix="tracker-eval-") as folder:
        target = Path(folder) / "copy.db"
        source = sqlite_utils.Database(db_path)
        destination = sqlite_utils.Database(target)
        source.conn.backup(destination.conn)
        source.close()
        destination.close()
        yield open_db(target)


def ingest_pages(db: sqlite_utils.Database, pages: list[dict], texts: Path, review: str | None = None) -> tuple[dict[str, int], list[str]]:
    """Ingest each page's text with its labelled metadata; (page id -> document id, ids without text)."""
    from .ingest import ingest

    documents, missing = {}, []
    with tempfile.TemporaryDirectory(prefix="tracker-pages-") as folder:
        for page in pages:
            source = texts / f"{page['id']}.txt"
            if not source.exists():
                missing.append(page["id"])
                continue
            staged = Path(folder) / f"{page['id']}.txt"
            shutil.copy(source, staged)
            meta = {"kind": page["kind"], "title": page.get("title"), "publisher": page.get("publisher"), "published": page.get("date"),
                    "date_precision": page.get("date_precision"), "url": page.get("url"), "review": review}  # fmt: skip
            result = ingest(db, str(staged), meta, replace=True)
            if result.document_id is None:
                raise TrackerError(f"page {page['id']}: {result.reason}")
            documents[page["id"]] = result.document_id
    return documents, missing


def predictions(db: sqlite_utils.Database, document_id: int) -> dict[int, dict]:
    """Per recommendation the page links to: its stance, reported position and signal (the one status
    takes from a page, `status.document_signals`), and the status the page alone would give it
    without a person (`moves_to`)."""
    found: dict[int, dict] = {}
    for row in db.query("select * from links where document_id = ? order by passage_id", [document_id]):
        item = found.setdefault(row["recommendation_id"], {"labels": {"stance": Counter(), "position": Counter()}, "evidence": []})
        item["evidence"].append(Evidence.from_link(row))
        if row["task"] != "signal":
            item["labels"][row["task"]][row["label"]] += 1
    return {rec: {"stance": pick_stance(item["labels"]["stance"]), "position": pick(item["labels"]["position"], POSITION_STATUS),
                  "signal": pick_signal([e for e in item["evidence"] if e.task == "signal"]), "moves_to": moves_to(item["evidence"])}
            for rec, item in found.items()}  # fmt: skip


def moves_to(evidence: list[Evidence]) -> str | None:
    """The status one page's links give an item without a person, in `status.decide`'s order: a
    decisive signal, else a decisive position."""
    if (signal := latest_signal(evidence)) is not None:
        return SIGNAL_STATUS[signal.label]
    position = government_position(evidence)
    return POSITION_STATUS[position.label] if position is not None else None


def gold_status(item: dict) -> str | None:
    """The status a reader says the page moves the item to (a signal before a position), if any."""
    if not item.get("changes_status"):
        return None
    return SIGNAL_STATUS.get(item.get("signal") or "") or POSITION_STATUS.get(item.get("position") or "")


def pick_stance(labels: Counter) -> str | None:
    views = Counter({label: n for label, n in labels.items() if label != "neutral"})
    return views.most_common(1)[0][0] if views else ("neutral" if labels else None)


def pick(labels: Counter, allowed: dict) -> str | None:
    named = Counter({label: n for label, n in labels.items() if label in allowed})
    return named.most_common(1)[0][0] if named else None


def pick_signal(signals: list[Evidence]) -> str | None:
    moving = document_signals([e for e in signals if e.label in SIGNAL_STATUS])
    return moving[0].label if moving else ("mention" if signals else None)


def score_pages(db: sqlite_utils.Database, pages: list[dict], documents: dict[str, int], missing: list[str]) -> PageReport:
    report = PageReport(len(documents), missing)
    slugs = {row["id"]: row["slug"] or row["label"] for row in db.query("select id, slug, label from recommendations")}
    for page in pages:
        if page["id"] not in documents:
            continue
        review = db.table("documents").get(documents[page["id"]])["review"]
        predicted = predictions(db, documents[page["id"]])
        gold = {resolve_id(db, item["recommendation"], review): item for item in page["items"]}
        if None in gold:
            raise TrackerError(f"page {page['id']}: unknown recommendation in {[i['recommendation'] for i in page['items']]}")
        score_page(report, page, {slugs[rec]: item for rec, item in gold.items()}, {slugs[rec]: item for rec, item in predicted.items()})
    return report


def score_page(report: PageReport, page: dict, gold: dict[str, dict], predicted: dict[str, dict]) -> None:
    """Score one page's predicted items against its gold items, both keyed by item slug: each item's
    link, stance, position and signal (`stance`, `position`, `signal` keys) and the status it moves to
    (`moves_to`; the gold side's from `gold_status`)."""
    kind = page["kind"]
    for rec in set(gold) | set(predicted):
        hit = rec in gold and rec in predicted
        report.add(kind, "link", tp=int(hit), fp=int(rec not in gold), fn=int(rec not in predicted))
        if not hit:
            report.errors.append({"page": page["id"], "task": "link", "recommendation": rec, "gold": rec in gold, "predicted": rec in predicted})
    for task in ("stance", "position", "signal"):
        for rec in set(gold) | set(predicted):
            wanted = (gold.get(rec) or {}).get(task)
            got = (predicted.get(rec) or {}).get(task)
            if task == "stance" and wanted is None:
                continue  # pages that are not stakeholder views carry no stance to judge
            if wanted is None and got is None or (task == "signal" and wanted is None and got == "mention"):
                continue
            report.add(kind, task, tp=int(wanted == got), fp=int(got is not None and wanted != got), fn=int(wanted is not None and wanted != got))
            if wanted != got:
                report.errors.append({"page": page["id"], "task": task, "recommendation": rec, "gold": wanted, "predicted": got})
    for rec in set(gold) | set(predicted):
        wanted, got = gold_status(gold.get(rec) or {}), (predicted.get(rec) or {}).get("moves_to")
        if wanted is None and got is None:
            continue
        report.add(kind, "status_change", tp=int(wanted == got), fp=int(got is not None and got != wanted), fn=int(wanted is not None and got != wanted))
        if wanted != got:
            report.errors.append({"page": page["id"], "task": "status_change", "recommendation": rec, "gold": wanted, "predicted": got})


def agreement(first: list[dict], second: list[dict]) -> PageReport:
    """How far a second reader's labels agree with the first's on the pages both read, scored exactly
    as the tracker is scored against the first (the second reading in the tracker's place): how
    finely the labels can tell a machine figure apart."""
    readings = {page["id"]: page for page in second}
    both = [page for page in first if page["id"] in readings]
    report = PageReport(len(both), [])
    for page in both:
        gold = {item["recommendation"]: item for item in page["items"]}
        other = {item["recommendation"]: {**item, "moves_to": gold_status(item)} for item in readings[page["id"]]["items"]}
        score_page(report, page, gold, other)
    return report


@contextmanager
def pages_in_copy(db_path: Path, pages: list[dict], texts: Path) -> Iterator[tuple[sqlite_utils.Database, dict[str, int], list[str]]]:
    """A throwaway copy of the database with the pages ingested: (copy, page id -> document id, ids without text)."""
    with database_copy(db_path) as db:
        documents, missing = ingest_pages(db, pages, texts, review=only_review(db))
        yield db, documents, missing


def evaluate_pages(db_path: Path, pages: list[dict], texts: Path, progress: Progress = no_progress) -> PageReport:
    """Ingest the pages into a copy of the database, link them, and score them; the database itself
    is not touched."""
    with pages_in_copy(db_path, pages, texts) as (db, documents, missing):
        link(db, document_ids=list(documents.values()), progress=progress)
        return score_pages(db, pages, documents, missing)


def fit_on_pages(db_path: Path, pages: list[dict], texts: Path, progress: Progress = no_progress) -> tuple[LinkScorer, dict]:
    """Fit the link scorer on labelled pages (ingested into a copy), the corpus and DB's decisions."""
    from .fit import corpus_labels, fit_link_scorer, page_labels

    with pages_in_copy(db_path, pages, texts) as (db, documents, missing):
        embed_all(db, progress)
        scorer, report = fit_link_scorer(db, {"pages": page_labels(db, pages, documents), "corpus": corpus_labels(db)})
        return scorer, {**report, "missing_texts": missing}


def reader_examples(db_path: Path, pages: list[dict], texts: Path, progress: Progress = no_progress) -> list[dict]:
    """Weak sentence examples for the readers from labelled pages, linked in a copy of the database
    (`fit.weak_examples`); they are held in memory only: page text is never written anywhere."""
    from .fit import weak_examples

    with pages_in_copy(db_path, pages, texts) as (db, documents, _):
        link(db, document_ids=list(documents.values()), progress=progress)
        return weak_examples(db, pages, documents)


def refit_readers_on_pages(db_path: Path, pages: list[dict], texts: Path, target: Path, progress: Progress = no_progress) -> dict:
    """Refit the sentence readers on the written sentences plus weak examples from the pages (linked
    in a copy of the database, with its current scorer), write them to `target`, and say how many
    examples each task gained."""
    from .readers import refit

    weak = reader_examples(db_path, pages, texts, progress)
    spec = refit(target, weak)
    return {"weak_examples": spec["weak_examples"], "by_task": {task: sum(1 for row in weak if row["task"] == task) for task in spec["models"]}}
