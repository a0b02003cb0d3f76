"""Benchmark linking: the cost per document of `link_documents`, from 1k documents up, against the
bare floor of the same work (one numpy product of a document's passage vectors with every profile).

For each document count D (default 1,000 and 10,000) a temporary tracker database is built with
`tracker.open_db`: R reviews x 36 recommendations (default R = 1), each with six profile sentences and
eight names, and D stakeholder responses of P passages (default 10), with random unit 384-d vectors
stored as `embed` stores them (no model is loaded). A tenth of the passages sit near one profile
sentence, so links exist. The shipped link scorer decides. Figures only: nothing asserts on time.

    python bench/link.py                          # D = 1000, 10000
    python bench/link.py --documents 1000,10000,100000 --reviews 100
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from vocabulary import NOUNS, VERBS  # bench/ is on sys.path when a script runs

from tracker.db import open_db, utcnow
from tracker.embed import DIMENSIONS, MODEL_NAME, text_hash, to_blob, vectors_for
from tracker.link import Settings, link_documents, make_linker
from tracker.recommendations import profile_texts

VOCABULARY = NOUNS + VERBS
RECOMMENDATIONS_PER_REVIEW = 36


def words(rng: np.random.Generator, low: int, high: int) -> str:
    return " ".join(rng.choice(VOCABULARY, size=int(rng.integers(low, high + 1)))).capitalize() + "."


def unit_rows(rng: np.random.Generator, n: int) -> np.ndarray:
    matrix = rng.standard_normal((n, DIMENSIONS), dtype=np.float32)
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def store_vectors(db, texts: list[str], vectors: np.ndarray, now: str) -> None:
    db.table("embeddings").insert_all(
        ({"model": MODEL_NAME, "sha256": text_hash(t), "dims": DIMENSIONS, "vector": to_blob(v), "created_at": now} for t, v in zip(texts, vectors)),
        batch_size=2000,
        replace=True,
    )


def build_db(path: Path, reviews: int, documents: int, passages_per_document: int, seed: int) -> None:
    """Recommendations with profiles and names, and documents of synthetic passages, all embedded."""
    rng = np.random.default_rng(seed)
    db = open_db(path)
    now = utcnow()
    with db.atomic():
        recs = []
        for review in range(reviews):
            db.table("reviews").insert({"slug": f"review-{review}", "title": f"Synthetic review {review}"})
            for number in range(1, RECOMMENDATIONS_PER_REVIEW + 1):
                recs.append({"review": f"review-{review}", "key": str(number), "number": number, "label": f"R{number}", "title": words(rng, 3, 6),
                             "text": words(rng, 20, 40), "profile": json.dumps([words(rng, 12, 30) for _ in range(6)]),
                             "aliases": json.dumps([f"{words(rng, 2, 3)[:-1]} {review} {number} {k}" for k in range(8)]), "origin": "synthetic"})  # fmt: skip
        db.table("recommendations").insert_all(recs, batch_size=2000)
        profile = [text for rec in recs for text in profile_texts(rec)]
        profile_vectors = unit_rows(rng, len(profile))
        store_vectors(db, profile, profile_vectors, now)
        db.table("documents").insert_all(
            ({"id": d + 1, "sha256": text_hash(f"bench {d}"), "review": f"review-{d % reviews}", "kind": "stakeholder_response",
              "title": f"Response {d + 1}", "text": "(synthetic)", "source_path": f"bench-{d}", "ingested_at": now} for d in range(documents)),
            batch_size=2000,
        )  # fmt: skip
        texts = [f"{words(rng, 20, 60)} Point {i}." for i in range(documents * passages_per_document)]
        vectors = unit_rows(rng, len(texts))
        near = rng.random(len(texts)) < 0.1
        vectors[near] = profile_vectors[rng.integers(0, len(profile), int(near.sum()))] + 0.8 * unit_rows(rng, int(near.sum()))
        vectors[near] /= np.linalg.norm(vectors[near], axis=1, keepdims=True)
        db.table("passages").insert_all(
            ({"id": i + 1, "document_id": i // passages_per_document + 1, "seq": i % passages_per_document, "start": 0, "end": len(t), "text": t,
              "block_kind": "paragraph", "sha256": text_hash(t)} for i, t in enumerate(texts)),
            batch_size=2000,
        )  # fmt: skip
        store_vectors(db, texts, vectors, now)
    db.conn.close()


def floor_seconds(db, document_ids: list[int]) -> float:
    """The bare work per document: read its vectors and multiply by the whole profile matrix."""
    linker = make_linker(db)
    started = time.perf_counter()
    for document_id in document_ids:
        hashes = [row[0] for row in db.execute("select sha256 from passages where document_id = ? order by seq", [document_id])]
        vectors_for(db, hashes) @ linker.profiles.matrix.T
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", default="1000,10000", help="comma-separated document counts (default: %(default)s)")
    parser.add_argument("--reviews", type=int, default=1, help="reviews of 36 recommendations each (default: %(default)s)")
    parser.add_argument("--passages", type=int, default=10, help="passages per document (default: %(default)s)")
    parser.add_argument("--sample", type=int, default=300, help="documents linked and timed per size (default: %(default)s)")
    parser.add_argument("--threshold", type=float, default=0.2, help="link probability (low: synthetic text should still link; default: %(default)s)")
    parser.add_argument("--seed", type=int, default=20261125)
    args = parser.parse_args(argv)
    print("load average at start: " + " ".join(f"{x:.2f}" for x in os.getloadavg()) + " (other work on these 2 cores skews every figure)")
    print(
        f"{args.reviews} review(s) x {RECOMMENDATIONS_PER_REVIEW} recommendations, {args.passages} passages a document, {args.sample} documents timed per size\n"
    )
    print(f"{'documents':>9}  {'build s':>7}  {'batch ms/doc':>12}  {'one-doc run ms':>14}  {'floor ms/doc':>12}  {'links/doc':>9}")
    with tempfile.TemporaryDirectory(prefix="bench-link-") as tmp:
        for documents in [int(n) for n in args.documents.split(",") if n.strip()]:
            path = Path(tmp) / f"link-{documents}.db"
            started = time.perf_counter()
            build_db(path, args.reviews, documents, args.passages, args.seed)
            build_s = time.perf_counter() - started
            db = open_db(path)
            sample = [int(i) for i in np.linspace(1, documents, min(args.sample, documents)).astype(int)]
            started = time.perf_counter()
            links = link_documents(db, Settings(threshold=args.threshold), document_ids=sample).links
            batch = (time.perf_counter() - started) / len(sample)
            single = []
            for document_id in sample[:20]:
                started = time.perf_counter()
                link_documents(db, Settings(threshold=args.threshold), document_ids=[document_id])
                single.append(time.perf_counter() - started)
            floor = floor_seconds(db, sample) / len(sample)
            print(
                f"{documents:>9}  {build_s:>7.1f}  {1000 * batch:>12.1f}  {1000 * statistics.median(single):>14.1f}  {1000 * floor:>12.2f}  {links / len(sample):>9.1f}",
                flush=True,
            )
            db.conn.close()
    print("\nbatch: one link run over the sample; one-doc run: a run for a single document (what `tracker ingest` does), which also reads")
    print("the recommendations, profiles and scorer; floor: reading a document's vectors and one product with every profile sentence.")
    print("load average: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
