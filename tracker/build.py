"""The pipeline as library calls: ingest a batch, embed, link, derive statuses, publish.

The CLI only parses options, draws progress bars and prints the reports these functions return;
any other caller (a notebook, a test, a scheduled job) builds a tracker without Click.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import sqlite_utils

from .ingest import IngestResult, expand_sources, ingest
from .link import LinkReport, Settings, documents_to_link, link_documents
from .progress import Progress, no_progress

if TYPE_CHECKING:
    from .embed import EmbedReport
    from .segment import Analyzer


@dataclass
class IngestReport:
    """What a batch ingest did, and what it changed once linked."""

    results: list[IngestResult]
    link: LinkReport | None = None
    changes: dict | None = None

    @property
    def changed_ids(self) -> list[int]:
        return [r.document_id for r in self.results if r.status in ("ingested", "updated") and r.document_id is not None]

    @property
    def failed(self) -> list[IngestResult]:
        return [r for r in self.results if r.status == "failed"]


@dataclass
class BuildReport:
    review: str
    register_items: int
    ingest: IngestReport
    link: LinkReport | None
    status_counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def ingest_many(
    db: sqlite_utils.Database,
    sources: Sequence[str],
    meta: dict | None = None,
    replace: bool = False,
    expect: int | None = None,
    analyzer: Analyzer | None = None,
    progress: Progress = no_progress,
    password: str | None = None,
) -> list[IngestResult]:
    """Ingest sources one transaction each; a bad source fails alone and the batch goes on."""
    from .segment import get_analyzer

    analyzer = analyzer or get_analyzer()
    results: list[IngestResult] = []
    with progress("Ingesting", len(sources)) as advance:
        for source in sources:
            results.append(ingest(db, source, meta, replace=replace, expect=expect, analyzer=analyzer, password=password, progress=progress))
            advance(1)
    return results


def embed_all(db: sqlite_utils.Database, progress: Progress = no_progress) -> EmbedReport | None:
    """Embed every passage and recommendation not cached yet, then bring the approximate vector
    index up to date (`tracker.vector_index`: only for a large database); None when there was
    nothing to encode (so the model is not even loaded)."""
    from .embed import count_missing, embed_texts, get_embedder, texts_to_embed
    from .vector_index import update_index

    texts = texts_to_embed(db)
    missing = count_missing(db, texts)
    report = None
    if missing:
        with progress("Embedding", missing) as advance:
            report = embed_texts(db, texts, get_embedder(), progress=advance)
    update_index(db, progress)
    return report


def link(
    db: sqlite_utils.Database,
    rebuild: bool = False,
    settings: Settings | None = None,
    document_ids: list[int] | None = None,
    progress: Progress = no_progress,
) -> LinkReport:
    """Embed what is missing, then link the given documents (default: every one no run has read)."""
    embed_all(db, progress)
    document_ids = documents_to_link(db, rebuild) if document_ids is None else document_ids
    with progress("Linking", len(document_ids)) as advance:
        return link_documents(db, settings, rebuild=rebuild, document_ids=document_ids, progress=advance)


def has_been_linked(db: sqlite_utils.Database) -> bool:
    return db.execute("select 1 from runs where command = 'link' limit 1").fetchone() is not None


def ingest_and_link(
    db: sqlite_utils.Database,
    sources: Sequence[str],
    meta: dict | None = None,
    replace: bool = False,
    expect: int | None = None,
    analyzer: Analyzer | None = None,
    link_new: bool = True,
    progress: Progress = no_progress,
    password: str | None = None,
) -> IngestReport:
    """Ingest sources; when DB has been linked before, link the new documents (and any document an
    earlier, interrupted run saved but never linked), refresh statuses and say what changed."""
    from .status import derive_statuses, refresh_statuses, what_changed

    linked = link_new and has_been_linked(db)
    before = {s.recommendation_id: s.status for s in derive_statuses(db)} if linked else {}
    report = IngestReport(ingest_many(db, expand_sources(sources), meta, replace, expect, analyzer, progress, password))
    changed = report.changed_ids
    pending = documents_to_link(db) if linked else []  # new, or saved by a run that never linked them
    if linked and (changed or pending):
        report.link = link(db, progress=progress) if pending else None
        refresh_statuses(db)
        report.changes = what_changed(db, before, sorted({*changed, *pending}))
    return report


def build(
    db: sqlite_utils.Database,
    corpus_dir: Path,
    analyzer: Analyzer | None = None,
    progress: Progress = no_progress,
) -> BuildReport:
    """Build a tracker from a corpus folder: register, every document in manifest order (unchanged
    files skipped), embed, link what is new, derive statuses, publish the indexes and views."""
    from . import publish
    from .corpus import load_register, read_manifest
    from .status import refresh_statuses, status_counts

    started = time.perf_counter()
    manifest = read_manifest(corpus_dir)
    review, items = load_register(db, manifest.review)
    results: list[IngestResult] = []
    for folder, kind in manifest.folders:
        results += ingest_many(db, expand_sources([str(folder)]), {"kind": kind, "review": review}, analyzer=analyzer, progress=progress)
    link_report = link(db, progress=progress)
    counts = status_counts(refresh_statuses(db))
    publish.publish(db)
    return BuildReport(review, items, IngestReport(results), link_report, counts, time.perf_counter() - started)
