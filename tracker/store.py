"""Writing one document's rows: passages spooled to a temporary file while the document is segmented
and copied into the store in batches inside the write transaction, so a large document's passages are
never all in memory and the write lock is held only while rows are copied, not while spaCy reads."""

from __future__ import annotations

import hashlib
import json
import pickle
import tempfile
from collections.abc import Callable, Iterable, Iterator
from typing import IO, TYPE_CHECKING

import sqlite_utils

from .recommendations import forget

if TYPE_CHECKING:
    from .parse import ParsedRecommendation
    from .segment import Passage

SPOOL_BATCH = 2_000  # passages per pickled batch, and per insert


def sha256(data: bytes | str) -> str:
    return hashlib.sha256(data.encode("utf-8") if isinstance(data, str) else data).hexdigest()


def next_id(db: sqlite_utils.Database, table: str) -> int:
    return (db.execute(f"select coalesce(max(id), 0) from [{table}]").fetchone()[0] or 0) + 1


def delete_document(db: sqlite_utils.Database, document_id: int) -> None:
    """Remove a document and everything derived from it (inside the caller's transaction)."""
    forget(db, [row[0] for row in db.execute("select id from recommendations where document_id = ? and parent_id is null", [document_id])])
    for table in ("links", "mentions", "entities", "passages"):
        db.execute(f"delete from {table} where document_id = ?", [document_id])
    db.execute("delete from documents where id = ?", [document_id])


class PassageSpool:
    """Passages as compact tuples (their text is sliced from the document's text when stored),
    pickled in batches to a temporary file."""

    def __init__(self, batch: int = SPOOL_BATCH) -> None:
        self.batch = batch
        self.count = 0
        self.buffer: list[tuple] = []
        self.file: IO[bytes] = tempfile.TemporaryFile(prefix="tracker-passages-")  # noqa: SIM115 - closed by close()

    def add(self, passage: Passage) -> None:
        entities = [(e.entity, e.label, e.text, e.start, e.end) for e in passage.entities]
        mentions = [(m.ref, m.text, m.start, m.end, m.rule) for m in passage.mentions]
        self.buffer.append((passage.seq, passage.start, passage.end, passage.heading_path, passage.page, passage.block_kind, entities, mentions))
        self.count += 1
        if len(self.buffer) >= self.batch:
            self.flush()

    def extend(self, passages: Iterable[Passage], progress: Callable[[int], None] | None = None) -> PassageSpool:
        done = 0
        for passage in passages:
            self.add(passage)
            if progress:  # advanced by characters read
                progress(passage.end - done)
                done = passage.end
        self.flush()
        return self

    def flush(self) -> None:
        if self.buffer:
            pickle.dump(self.buffer, self.file, protocol=pickle.HIGHEST_PROTOCOL)
            self.buffer = []

    def batches(self) -> Iterator[list[tuple]]:
        self.flush()
        self.file.seek(0)
        while True:
            try:
                yield pickle.load(self.file)
            except EOFError:
                return

    def close(self) -> None:
        self.file.close()


def store_passages(db: sqlite_utils.Database, document_id: int, text: str, spool: PassageSpool, progress: Callable[[int], None] | None = None) -> None:
    """Passages, their entities and mentions, one batch at a time (inside the caller's transaction)."""
    first = next_id(db, "passages")
    for batch in spool.batches():
        db.table("passages").insert_all(
            {"id": first + seq, "document_id": document_id, "seq": seq, "start": start, "end": end, "text": text[start:end],
             "heading_path": heading or None, "page": page, "block_kind": kind, "sha256": sha256(text[start:end])}
            for seq, start, end, heading, page, kind, _, _ in batch
        )  # fmt: skip
        db.table("entities").insert_all(
            {"passage_id": first + row[0], "document_id": document_id, "entity": entity, "label": label, "text": said, "start": start, "end": end}
            for row in batch for entity, label, said, start, end in row[6]
        )  # fmt: skip
        db.table("mentions").insert_all(
            {"passage_id": first + row[0], "document_id": document_id, "recommendation_id": None, "ref": ref.lower(), "ref_text": said,
             "start": start, "end": end, "rule": rule}
            for row in batch for ref, said, start, end, rule in row[7]
        )  # fmt: skip
        if progress:
            progress(len(batch))


def store_recommendations(db: sqlite_utils.Database, review: str, document_id: int, parsed: list[ParsedRecommendation]) -> None:
    for rec in parsed:
        existing = db.execute("select id from recommendations where review = ? and key = ?", [review, rec.key]).fetchone()
        if existing:  # the same key from an older version of this review: replace it
            forget(db, [existing[0]])
        row = {
            "review": review,
            "key": rec.key,
            "number": rec.number,
            "label": rec.label,
            "text": rec.text,
            "chapter": rec.chapter,
            "section": rec.section,
            "addressees": json.dumps(rec.addressees),
            "locations": json.dumps([{**location, "document_id": document_id} for location in rec.locations]),
            "number_verified": 1,
            "origin": "parsed",
            "confidence": "high",
            "document_id": document_id,
        }
        parent_id = db.table("recommendations").insert(row).last_pk
        for part, text in rec.parts:
            db.table("recommendations").insert(
                {**row, "key": f"{rec.key}{part}", "label": f"{rec.label}({part})", "part": part, "text": text,
                 "parent_id": parent_id, "locations": None}
            )  # fmt: skip
