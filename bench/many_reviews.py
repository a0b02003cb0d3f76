"""Many reviews: generate a tracker of R reviews x 36 recommendations, D documents and P passages, then
build, link, derive statuses and publish it through the library, reporting time, peak RSS and disk
per stage and the cost of linking per document as the tracker grows.

Each review's register (36 items: number, title, summary, six profile sentences, three names, a
government position for a third of them) is written as a `review.yaml` and loaded with
`tracker.corpus.load_register`. Documents (stakeholder responses, evidence, government responses,
other) are split into passages of 20-80 words drawn from `bench/vocabulary.py` (Zipf-like), stored by
`tracker.store.store_passages` as an ingest stores them. A share of passages (`--about`, default 10%)
is about one of the two or three recommendations its document discusses: half of those name it
("Recommendation 12", with the mention the parser would record), half use its topic words or one of
its names. Passage vectors are random unit vectors, those about a recommendation near its profile,
written straight to `embeddings` (the real model would take hours for a million passages on two
cores; `bench/embed.py` measures it). Documents are added in steps (`--steps`, default 1k, 10k and
D); after each step the new documents are linked with `tracker.link.link_documents`, and one more
document is added and linked alone (what `tracker ingest` does), so the cost per document can be
compared across sizes. Then `tracker.status.refresh_statuses` and `tracker.publish.publish`.

    python bench/many_reviews.py --reviews 2 --documents 1000 --passages 10000      # about a minute
    python bench/many_reviews.py                                # 100 reviews, 100k documents, 1M passages
    python bench/many_reviews.py --keep /tmp/many.db            # keep the database
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml
from vocabulary import NOUNS, VERBS  # bench/ is on sys.path when a script runs

from tracker.corpus import load_register
from tracker.db import open_db, utcnow
from tracker.embed import DIMENSIONS, MODEL_NAME, text_hash, to_blob
from tracker.link import Settings, link_documents
from tracker.publish import publish
from tracker.recommendations import profile_texts
from tracker.segment import Mention, Passage
from tracker.status import refresh_statuses, status_counts
from tracker.store import PassageSpool, store_passages

RECOMMENDATIONS = 36
WORDS = np.array(sorted(set(NOUNS + VERBS)))
KINDS = (["stakeholder_response"] * 6) + (["evidence"] * 3) + ["other"]  # plus one government response a review
PUBLISHERS = ["NHS England", "DHSC", "LGA", "NHS Confederation", "King's Fund", "Health Foundation", "NAO", "CQC", "Nuffield Trust", "ADASS"]
POSITIONS = ["accepted", "accepted_in_principle", "partially_accepted", "further_work", "noted", "not_accepted"]


@dataclass
class Corpus:
    """The generator's state: its random stream, the recommendations' topic words and vector centres."""

    rng: np.random.Generator
    reviews: int
    about: float
    weights: np.ndarray = field(init=False)
    topics: np.ndarray = field(init=False)  # (reviews, 36, 3) word indexes
    centres: np.ndarray = field(init=False)  # (reviews, 36, DIMENSIONS)

    def __post_init__(self) -> None:
        ranks = self.rng.permutation(len(WORDS)) + 1  # which words are common: random, not alphabetical
        self.weights = (1.0 / ranks) / (1.0 / ranks).sum()
        self.topics = self.rng.integers(0, len(WORDS), size=(self.reviews, RECOMMENDATIONS, 3))
        self.centres = unit(self.rng.standard_normal((self.reviews, RECOMMENDATIONS, DIMENSIONS), dtype=np.float32))

    def words(self, low: int, high: int) -> str:
        return " ".join(WORDS[self.rng.choice(len(WORDS), size=int(self.rng.integers(low, high + 1)), p=self.weights)])

    def topic(self, review: int, number: int) -> str:
        return " ".join(WORDS[self.topics[review, number - 1]])

    def near(self, review: int, number: int, spread: float) -> np.ndarray:
        """A unit vector near the recommendation's centre (cosine ~ 1 / sqrt(1 + spread^2))."""
        noise = unit(self.rng.standard_normal(DIMENSIONS, dtype=np.float32))
        return unit(self.centres[review, number - 1] + spread * noise)


def unit(matrix: np.ndarray) -> np.ndarray:
    return matrix / np.linalg.norm(matrix, axis=-1, keepdims=True)


def register(corpus: Corpus, review: int) -> dict:
    """A review.yaml: the review and its 36 register items."""
    items = []
    for number in range(1, RECOMMENDATIONS + 1):
        topic = corpus.topic(review, number)
        item = {"slug": f"r{review}-item-{number}", "number": number, "number_verified": True, "chapter": f"Chapter {1 + (number - 1) // 9}",
                "title": f"{topic.capitalize()} ({review}.{number})", "summary": f"{corpus.words(15, 30)} {topic}.",
                "addressees": ["DHSC"], "confidence": "high", "profile": [f"{corpus.words(12, 25)} {topic}." for _ in range(6)],
                "aliases": [f"{topic} plan {review}-{number}", f"the {WORDS[corpus.topics[review, number - 1, 0]]} review {review}-{number}"]}  # fmt: skip
        if number % 3 == 0:
            item["government_position"] = {"value": POSITIONS[(review + number) % len(POSITIONS)], "date": "2024-03-01", "summary": corpus.words(10, 20)}
        items.append(item)
    return {"slug": f"review-{review}", "title": f"Synthetic review {review}", "published": f"{2015 + review % 10}-06-01",
            "recommendations_expected": RECOMMENDATIONS, "register": items}  # fmt: skip


def load_registers(db, corpus: Corpus, folder: Path) -> list[dict]:
    """Every register through `load_register`, and random vectors for the profile texts near each centre."""
    for review in range(corpus.reviews):
        path = folder / f"review-{review}.yaml"
        path.write_text(yaml.safe_dump(register(corpus, review), sort_keys=False), encoding="utf-8")
        load_register(db, path)
    recs = list(db.query("select * from recommendations order by id"))
    review_of = {f"review-{r}": r for r in range(corpus.reviews)}
    vectors = {text_hash(t): corpus.near(review_of[rec["review"]], rec["number"], 0.6) for rec in recs for t in profile_texts(rec)}
    store_vectors(db, vectors)
    return recs


def store_vectors(db, vectors: dict[str, np.ndarray]) -> None:
    now = utcnow()
    rows = ({"model": MODEL_NAME, "sha256": h, "dims": DIMENSIONS, "vector": to_blob(v), "created_at": now} for h, v in vectors.items())
    db.table("embeddings").insert_all(rows, batch_size=2000, replace=True)


def passage_text(corpus: Corpus, review: int, topic: int | None, index: int) -> tuple[str, list[Mention]]:
    """20-80 words; about recommendation `topic`: named by number half the time, else by its words."""
    text = corpus.words(20, 80).capitalize()
    if topic is None:
        return f"{text} (point {index}).", []
    if corpus.rng.random() < 0.5:
        lead = f"On Recommendation {topic}, "
        return f"{lead}{text} {corpus.topic(review, topic)} (point {index}).", [Mention(str(topic), f"Recommendation {topic}", 3, len(lead) - 2, "matcher")]
    return f"{text} {corpus.topic(review, topic)} plan {review}-{topic} (point {index}).", []


def add_document(db, corpus: Corpus, document_id: int, passages: int, first_passage: int) -> int:
    """One document through `store_passages`, its vectors straight into `embeddings`; returns its passages."""
    review = (document_id - 1) % corpus.reviews
    kind = "government_response" if document_id <= corpus.reviews else KINDS[document_id % len(KINDS)]
    discussed = corpus.rng.choice(np.arange(1, RECOMMENDATIONS + 1), size=3, replace=False)
    spool, parts, vectors, offset = PassageSpool(), [], {}, 0
    for seq in range(passages):
        topic = int(corpus.rng.choice(discussed)) if corpus.rng.random() < corpus.about else None
        text, mentions = passage_text(corpus, review, topic, first_passage + seq)
        for mention in mentions:
            mention.start, mention.end = mention.start + offset, mention.end + offset
        spool.add(Passage(seq, offset, offset + len(text), text, f"Section {1 + seq // 5}", None, "paragraph", mentions=mentions))
        vectors[text_hash(text)] = corpus.near(review, topic, 0.9) if topic else unit(corpus.rng.standard_normal(DIMENSIONS, dtype=np.float32))
        parts.append(text)
        offset += len(text) + 2
    text = "\n\n".join(parts)
    db.table("documents").insert({"id": document_id, "sha256": text_hash(text), "review": f"review-{review}", "kind": kind,
                                  "title": f"{kind.replace('_', ' ').capitalize()} {document_id}", "publisher": PUBLISHERS[document_id % len(PUBLISHERS)],
                                  "published": f"{2023 + document_id % 4}-{1 + document_id % 12:02d}-{1 + document_id % 28:02d}", "date_precision": "day",
                                  "text": text, "source_path": f"synthetic-{document_id}.txt", "format": "text", "ingested_at": utcnow()})  # fmt: skip
    store_passages(db, document_id, text, spool)
    spool.close()
    store_vectors(db, vectors)
    return passages


@dataclass
class Stage:
    name: str
    seconds: float
    peak_mib: float
    disk_mib: float
    note: str = ""


def reset_peak() -> None:
    """Start a new peak of resident memory (VmHWM) for this process: Linux's clear_refs, value 5."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def peak_mib() -> float:
    """VmHWM since the last `reset_peak`; ru_maxrss (the whole run's) where /proc is not there."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def disk_mib(path: Path) -> float:
    return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists()) / 2**20


class Run:
    """Times each stage and prints it as it ends."""

    def __init__(self, path: Path) -> None:
        self.path, self.stages = path, []

    def stage(self, name: str, work, *args) -> object:
        reset_peak()
        started = time.perf_counter()
        result = work(*args)
        note = f"{result:,} passages" if isinstance(result, int) else str(result or "")
        stage = Stage(name, time.perf_counter() - started, peak_mib(), disk_mib(self.path), note)
        self.stages.append(stage)
        print(f"  {name:<34} {stage.seconds:8.1f} s  peak {stage.peak_mib:6.0f} MiB  disk {stage.disk_mib:7.0f} MiB  {stage.note}", flush=True)
        return result


def add_documents(db, corpus: Corpus, first: int, last: int, per_document: int, first_passage: int) -> int:
    """Documents `first`..`last` (ids), 500 to a transaction; returns the passages added."""
    added = 0
    for start in range(first, last + 1, 500):
        with db.atomic():
            for document_id in range(start, min(last, start + 499) + 1):
                size = int(corpus.rng.integers(max(1, per_document // 2), per_document * 3 // 2 + 1))
                added += add_document(db, corpus, document_id, size, first_passage + added)
    return added


def link_new(db, document_ids: list[int], settings: Settings) -> str:
    started = time.perf_counter()
    report = link_documents(db, settings, document_ids=document_ids)
    seconds = time.perf_counter() - started
    return f"{1000 * seconds / max(1, len(document_ids)):.1f} ms/document, {report.links:,} links ({report.links / max(1, len(document_ids)):.1f}/document)"


def grow(run: Run, db, corpus: Corpus, steps: list[int], passages: int, sample: int) -> list[tuple[int, str, str]]:
    """Add documents step by step; after each step link the new ones (or `sample` of them, evenly
    spread), then add one more and link it alone."""
    settings = Settings()
    per_document = max(1, round(passages / steps[-1]))
    done, passage_count, costs = 0, 0, []
    for step in steps:
        first = done + 1
        passage_count += run.stage(f"documents {first:,}-{step:,}", add_documents, db, corpus, first, step, per_document, passage_count)  # type: ignore[operator]
        new = list(range(first, step + 1))
        chosen = new if not sample or sample >= len(new) else [new[i] for i in np.linspace(0, len(new) - 1, sample).astype(int)]
        batch = run.stage(f"link {len(chosen):,} of {len(new):,} new documents", link_new, db, chosen, settings)
        passage_count += add_documents(db, corpus, step + 1, step + 1, per_document, passage_count)
        single = run.stage(f"link 1 document alone at {step + 1:,}", link_new, db, [step + 1], settings)
        costs.append((step, str(batch).split(",")[0], str(single).split(",")[0]))
        done = step + 1
    return costs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reviews", type=int, default=100, help="reviews of 36 recommendations (default: %(default)s)")
    parser.add_argument("--documents", type=int, default=100_000, help="documents (default: %(default)s)")
    parser.add_argument("--passages", type=int, default=1_000_000, help="passages, spread over the documents (default: %(default)s)")
    parser.add_argument("--steps", default="1000,10000", help="document counts at which to link and time, before --documents (default: %(default)s)")
    parser.add_argument("--about", type=float, default=0.1, help="share of passages about a recommendation (default: %(default)s)")
    parser.add_argument("--link-sample", type=int, default=0, help="link at most this many of each step's new documents (default: all)")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--keep", help="write the database here and keep it (default: a temporary folder)")
    args = parser.parse_args(argv)
    steps = sorted({int(s) for s in args.steps.split(",") if s.strip() and int(s) < args.documents} | {args.documents})
    print(f"{args.reviews} reviews x {RECOMMENDATIONS} recommendations, {args.documents:,} documents, ~{args.passages:,} passages; steps {steps}")
    print("load average at start: " + " ".join(f"{x:.2f}" for x in os.getloadavg()) + f" ({os.cpu_count()} cores; other work skews every figure)")
    with tempfile.TemporaryDirectory(prefix="many-reviews-") as scratch:
        path = Path(args.keep) if args.keep else Path(scratch) / "many.db"
        path.unlink(missing_ok=True)
        run, corpus = Run(path), Corpus(np.random.default_rng(args.seed), args.reviews, args.about)
        started = time.perf_counter()
        db = open_db(path)
        run.stage("registers", lambda: f"{len(load_registers(db, corpus, Path(scratch)))} recommendations")
        costs = grow(run, db, corpus, steps, args.passages, args.link_sample)
        run.stage("statuses", lambda: json.dumps(status_counts(refresh_statuses(db))))
        run.stage("publish (FTS5 index, views)", lambda: json.dumps(publish(db)["fts"]))
        counts = {t: db.table(t).count for t in ("reviews", "recommendations", "documents", "passages", "mentions", "links", "embeddings")}
        db.conn.close()
        print(f"\ntotal {time.perf_counter() - started:.0f} s; database {disk_mib(path):,.0f} MiB; {json.dumps(counts)}")
        print(
            "\nlinking cost per document as the tracker grows (must be flat):\n| documents | batch of new documents | one document alone (as `tracker ingest`) |\n|---|---|---|"
        )
        for step, batch, single in costs:
            print(f"| {step:,} | {batch} | {single} |")
    print("load average at end: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
