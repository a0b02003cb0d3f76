"""Benchmark passage search as the Datasette page and `tracker search` run it (`tracker.search`).

For each size N (default 1k, 10k, 100k passages) a temporary tracker database is built with
`tracker.open_db`: documents of four kinds from eight publishers over 2023-2026, N passages of
generated sentences (words drawn from a small vocabulary with Zipf-like frequencies, so some words are
everywhere and most are rare), a random 384-d unit vector per passage in `embeddings`, and
`tracker.publish.publish` for the FTS5 index and views. Then, with Q queries of 1-3 words (default
50) and a random unit query vector each (no model is loaded):

* fts: `search(conn, q, "fts")` (BM25 top 50, hit details for the top 20);
* vector: `search(conn, q, "vector", embed=...)`, the in-memory numpy matrix (`PassageMatrix`);
* knn vec0: the bare k=50 query on a sqlite-vec `vec0` table (in memory), when sqlite-vec loads;
* hybrid: `search(conn, q, "hybrid", embed=...)`, both rankings fused by reciprocal rank (k=60);
* hybrid+filter: the same with `kind=evidence` and `since=2024-01-01`.

Also printed: the build time and the time to load the passage matrix from SQLite (done once per
database file and mtime, then kept in memory). Figures only: nothing here asserts on timing.

    python bench/search.py                    # N = 1000, 10000, 100000
    python bench/search.py --sizes 1000,10000 --queries 100
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from sqlite_utils.db import sqlite3  # pysqlite3 when installed, as Datasette uses
from vocabulary import NOUNS, VERBS  # bench/ is on sys.path when a script runs

from tracker.db import open_db, utcnow
from tracker.embed import DIMENSIONS, MODEL_NAME, sqlite_vec_connection, text_hash, to_blob
from tracker.publish import publish
from tracker.search import DEPTH, Filters, passage_matrix, search

REVIEW = "bench-review"
VOCABULARY = np.array(NOUNS + VERBS)
KINDS = ["stakeholder_response", "government_response", "evidence", "other"]
PUBLISHERS = ["NHS England", "DHSC", "LGA", "NHS Confederation", "King's Fund", "Health Foundation", "NAO", "CQC"]


def zipf_weights(n: int) -> np.ndarray:
    weights = 1.0 / np.arange(1, n + 1)
    return weights / weights.sum()


def build(path: Path, n: int, seed: int = 0) -> float:
    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    db = open_db(path)
    now = utcnow()
    documents = max(10, n // 50)
    weights = zipf_weights(len(VOCABULARY))
    order = rng.permutation(len(VOCABULARY))  # which words are common: random, not alphabetical
    with db.atomic():
        db["reviews"].insert({"slug": REVIEW, "title": "Synthetic review for benchmarks"})
        db["documents"].insert_all(
            ({"id": d + 1, "sha256": text_hash(f"bench document {d}"), "review": REVIEW, "kind": KINDS[d % len(KINDS)],
              "title": f"Synthetic document {d + 1}", "publisher": PUBLISHERS[d % len(PUBLISHERS)],
              "published": f"{2023 + d % 4}-{1 + d % 12:02d}-{1 + d % 28:02d}", "text": "(synthetic)", "ingested_at": now}
             for d in range(documents)),
            batch_size=1000,
        )  # fmt: skip
        lengths = rng.integers(15, 45, size=n)
        tokens = VOCABULARY[order[rng.choice(len(VOCABULARY), size=int(lengths.sum()), p=weights)]]
        bounds = np.concatenate([[0], np.cumsum(lengths)])
        texts = [" ".join(tokens[bounds[i] : bounds[i + 1]]).capitalize() + f". Point {i}." for i in range(n)]
        hashes = [text_hash(t) for t in texts]
        per_doc = -(-n // documents)
        db["passages"].insert_all(
            ({"id": i + 1, "document_id": i // per_doc + 1, "seq": i % per_doc, "start": 0, "end": len(t), "text": t,
              "heading_path": "Section " + VOCABULARY[order[i % 20]], "block_kind": "paragraph", "sha256": h}
             for i, (t, h) in enumerate(zip(texts, hashes))),
            batch_size=2000,
        )  # fmt: skip
        vectors = rng.standard_normal((n, DIMENSIONS), dtype=np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        db["embeddings"].insert_all(
            ({"model": MODEL_NAME, "sha256": h, "dims": DIMENSIONS, "vector": to_blob(v), "created_at": now} for h, v in zip(hashes, vectors)),
            batch_size=2000,
        )
    publish(db)
    db.close()
    return time.perf_counter() - started


def percentiles(samples: list[float]) -> tuple[float, float]:
    """p50 and p95 in milliseconds."""
    ordered = sorted(samples)
    return statistics.median(ordered) * 1e3, ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))] * 1e3


def timed(function, items) -> tuple[float, float]:
    samples = []
    for item in items:
        started = time.perf_counter()
        function(item)
        samples.append(time.perf_counter() - started)
    return percentiles(samples)


def bench_size(n: int, queries: int, seed: int, use_vec0: bool) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"search-{n}.db"
        build_seconds = build(path, n, seed)
        conn = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
        started = time.perf_counter()
        matrix = passage_matrix(conn)  # read once, then cached for the searches below
        load_seconds = time.perf_counter() - started
        rng = np.random.default_rng(seed + 1)
        texts = [" ".join(rng.choice(VOCABULARY, size=int(rng.integers(1, 4)), replace=False)) for _ in range(queries)]
        vectors = rng.standard_normal((queries, DIMENSIONS), dtype=np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        work = list(zip(texts, vectors))
        search(conn, texts[0], "hybrid", embed=lambda _: vectors[0])  # warm the page cache
        row = {"n": n, "build_s": build_seconds, "load_s": load_seconds}
        row["fts"] = timed(lambda w: search(conn, w[0], "fts"), work)
        row["vector"] = timed(lambda w: search(conn, w[0], "vector", embed=lambda _: w[1]), work)
        row["hybrid"] = timed(lambda w: search(conn, w[0], "hybrid", embed=lambda _: w[1]), work)
        filters = Filters(kind="evidence", since="2024-01-01")
        row["hybrid_filter"] = timed(lambda w: search(conn, w[0], "hybrid", filters, embed=lambda _: w[1]), work)
        row["vec0"] = None
        vec = sqlite_vec_connection() if use_vec0 else None
        if vec is not None:
            vec.execute(f"create virtual table items using vec0(embedding float[{DIMENSIONS}] distance_metric=cosine)")
            vec.executemany("insert into items(rowid, embedding) values (?, ?)", ((int(i), to_blob(v)) for i, v in zip(matrix.ids, matrix.matrix)))
            query = "select rowid, distance from items where embedding match ? and k = ? order by distance"
            row["vec0"] = timed(lambda w: vec.execute(query, [to_blob(w[1]), DEPTH]).fetchall(), work)
            vec.close()
        conn.close()
    return row


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="Comma-separated passage counts.")
    parser.add_argument("--queries", type=int, default=50, help="Queries per size.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-vec0", action="store_true", help="Skip the sqlite-vec comparison.")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    print(
        f"search latency per query, ms (p50 / p95), {args.queries} queries of 1-3 words, depth {DEPTH}, top 20 shown; python {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version}, load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    header = ["passages", "build s", "load matrix s", "fts", "vector (numpy)", "knn vec0 (bare)", "hybrid", "hybrid+filter"]
    lines = []
    for n in sizes:
        row = bench_size(n, args.queries, args.seed, not args.no_vec0)

        def pair(value):
            return "n/a" if value is None else f"{value[0]:.1f} / {value[1]:.1f}"

        lines.append(
            [
                f"{n:,}",
                f"{row['build_s']:.1f}",
                f"{row['load_s']:.2f}",
                pair(row["fts"]),
                pair(row["vector"]),
                pair(row["vec0"]),
                pair(row["hybrid"]),
                pair(row["hybrid_filter"]),
            ]
        )
        print(f"  done {n:,}", file=sys.stderr, flush=True)
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(header)]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for line in lines:
        print("| " + " | ".join(c.rjust(w) for c, w in zip(line, widths)) + " |")


if __name__ == "__main__":
    main()
