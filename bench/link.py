"""Benchmark linking and k-nearest search on synthetic vectors stored through the real schema.

For each size N (default 1k, 10k, 100k passages) a temporary tracker database is built with
`tracker.open_db`: one review with R recommendations (default 30) and N passages spread over D
stakeholder-response documents (default 20), each passage and recommendation with a random unit
384-d float32 vector in `embeddings` (keyed by `passages.sha256` / `text_hash(recommendation.text)`,
model all-MiniLM-L6-v2). About 10% of the passages are a recommendation's vector plus noise, so
semantic links exist. Then, per backend ("sqlite-vec" and "numpy"):

* link: `link_documents(db, Settings(backend=...), rebuild=True)` end to end, on a fresh copy of the
  database (no links, no runs yet);
* knn fwd: `VectorIndex` over the R recommendations, every passage vector as a query with k = R (what
  `semantic_candidates` asks for), per-query p50/p95;
* knn rev: `VectorIndex` over the N passages (build time printed), Q random queries (default 100)
  with k=10, per-query p50/p95.

A last section links one fixed N (default 10k) split into more and more documents (numpy backend),
to show the per-document cost of `link_document` (it reads the whole embeddings table once per
document through `vectors_for`).

Figures only: nothing here asserts on timing.

    python bench/link.py                       # N = 1000, 10000, 100000
    python bench/link.py --sizes 1000,10000 --docs-scaling ''
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from vocabulary import NOUNS, VERBS  # bench/ is on sys.path when a script runs

from tracker.db import open_db, utcnow
from tracker.embed import DIMENSIONS, MODEL_NAME, VectorIndex, sqlite_vec_connection, text_hash, to_blob
from tracker.link import Settings, link_documents

REVIEW = "bench-review"
VOCABULARY = NOUNS + VERBS


def words(rng: np.random.Generator, low: int, high: int) -> str:
    count = int(rng.integers(low, high + 1))
    chosen = rng.choice(VOCABULARY, size=count)
    return " ".join(chosen).capitalize() + "."


def unit_rows(rng: np.random.Generator, n: int) -> np.ndarray:
    matrix = rng.standard_normal((n, DIMENSIONS), dtype=np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix


def synthetic_vectors(n: int, recs: int, near_fraction: float, noise: float, seed: int):
    """(recommendation matrix, passage matrix, index of the near recommendation or -1 per passage)."""
    rng = np.random.default_rng(seed)
    rec_matrix = unit_rows(rng, recs)
    passages = unit_rows(rng, n)
    near = np.full(n, -1)
    chosen = rng.choice(n, size=round(n * near_fraction), replace=False)
    near[chosen] = rng.integers(0, recs, size=len(chosen))
    # a near passage is its recommendation plus a random direction of length `noise` (cosine ~ 1/sqrt(1+noise^2))
    passages[chosen] = rec_matrix[near[chosen]] + noise * unit_rows(rng, len(chosen))
    passages[chosen] /= np.linalg.norm(passages[chosen], axis=1, keepdims=True)
    return rec_matrix, passages, near


def build_db(path: Path, rec_matrix: np.ndarray, passages: np.ndarray, documents: int, seed: int) -> dict:
    """A tracker database with the vectors stored as `embed` would store them."""
    rng = np.random.default_rng(seed + 1)
    db = open_db(path)
    now = utcnow()
    n = len(passages)
    with db.atomic():
        db["reviews"].insert({"slug": REVIEW, "title": "Synthetic review for benchmarks"})
        recs = []
        for number in range(1, len(rec_matrix) + 1):
            recs.append({"id": number, "review": REVIEW, "key": str(number), "number": number, "label": f"Recommendation {number}",
                         "title": words(rng, 3, 6), "text": words(rng, 20, 45), "origin": "synthetic"})  # fmt: skip
        db["recommendations"].insert_all(recs)
        db["embeddings"].insert_all(
            ({"model": MODEL_NAME, "sha256": text_hash(rec["text"]), "dims": DIMENSIONS, "vector": to_blob(vector), "created_at": now}
             for rec, vector in zip(recs, rec_matrix)),
            batch_size=1000,
        )  # fmt: skip
        bounds = np.linspace(0, n, documents + 1).astype(int)
        db["documents"].insert_all(
            {"id": doc + 1, "sha256": text_hash(f"bench document {doc}"), "review": REVIEW, "kind": "stakeholder_response",
             "title": f"Synthetic response {doc + 1}", "text": "(synthetic)", "ingested_at": now}
            for doc in range(documents)
        )  # fmt: skip
        texts = [f"{words(rng, 20, 60)} Point {i}." for i in range(n)]  # "Point i" keeps every text (and hash) unique
        hashes = [text_hash(text) for text in texts]
        rows = []
        offset = 0
        for doc in range(documents):
            for seq, i in enumerate(range(bounds[doc], bounds[doc + 1])):
                start = offset
                offset += len(texts[i]) + 1
                rows.append({"id": i + 1, "document_id": doc + 1, "seq": seq, "start": start, "end": start + len(texts[i]),
                             "text": texts[i], "block_kind": "paragraph", "sha256": hashes[i]})  # fmt: skip
        db["passages"].insert_all(rows, batch_size=1000)
        db["embeddings"].insert_all(
            ({"model": MODEL_NAME, "sha256": sha, "dims": DIMENSIONS, "vector": to_blob(vector), "created_at": now}
             for sha, vector in zip(hashes, passages)),
            batch_size=1000,
        )  # fmt: skip
    db.execute("pragma wal_checkpoint(truncate)")
    db.conn.close()
    return {"recommendations": len(recs), "documents": documents, "passages": n}


def percentiles(samples_ns: list[int]) -> tuple[float, float]:
    """p50 and p95 in milliseconds."""
    ordered = sorted(samples_ns)
    p50 = statistics.median(ordered)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return p50 / 1e6, p95 / 1e6


def time_queries(index: VectorIndex, queries: np.ndarray, k: int) -> tuple[float, float, float]:
    """(p50 ms, p95 ms, total s) of index.search over the queries, one call per query."""
    samples = []
    clock = time.perf_counter_ns
    for query in queries:
        started = clock()
        index.search(query, k)
        samples.append(clock() - started)
    p50, p95 = percentiles(samples)
    return p50, p95, sum(samples) / 1e9


def time_link(template: Path, workdir: Path, backend: str) -> tuple[float, object]:
    """link_documents(rebuild=True) on a fresh copy of the template database."""
    copy = workdir / f"link-{backend}.db"
    shutil.copyfile(template, copy)
    db = open_db(copy)
    started = time.perf_counter()
    report = link_documents(db, Settings(backend=backend), rebuild=True)
    seconds = time.perf_counter() - started
    report.pairs = {tuple(row) for row in db.execute("select passage_id, recommendation_id, score from links")}
    db.conn.close()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{copy}{suffix}").unlink(missing_ok=True)
    return seconds, report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,100000", help="comma-separated passage counts N (default: %(default)s)")
    parser.add_argument("--recs", type=int, default=30, help="recommendations (default: %(default)s)")
    parser.add_argument("--docs", type=int, default=20, help="documents the N passages are spread over (default: %(default)s)")
    parser.add_argument("--near", type=float, default=0.10, help="share of passages near a recommendation (default: %(default)s)")
    parser.add_argument("--noise", type=float, default=1.0, help="length of the noise added to a near passage (default: %(default)s)")
    parser.add_argument("--queries", type=int, default=100, help="random queries for the passage index (default: %(default)s)")
    parser.add_argument("--k", type=int, default=10, help="k for the passage index queries (default: %(default)s)")
    parser.add_argument("--backends", default="sqlite-vec,numpy", help="VectorIndex backends (default: %(default)s)")
    parser.add_argument("--docs-scaling", default="10,100,1000", help="document counts for the per-document section ('' to skip)")
    parser.add_argument("--scaling-n", type=int, default=10000, help="passages in the per-document section (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=20261123)
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]

    print("load average at start: " + " ".join(f"{x:.2f}" for x in os.getloadavg()) + " (other work on these 2 cores skews every figure)")
    print(f"python {sys.version.split()[0]}, numpy {np.__version__}, cores {os.cpu_count()}")
    vec_conn = sqlite_vec_connection()
    if vec_conn is None:
        print("sqlite-vec cannot be loaded by this SQLite build: running the numpy backend only")
        backends = [b for b in backends if b != "sqlite-vec"]
    else:
        sqlite_version, vec_version = vec_conn.execute("select sqlite_version(), vec_version()").fetchone()
        print(f"sqlite {sqlite_version}, sqlite-vec {vec_version}")
        vec_conn.close()
    print(f"{args.recs} recommendations, passages over {args.docs} documents, {args.near:.0%} near a recommendation "
          f"(noise {args.noise}, cosine ~{1 / np.sqrt(1 + args.noise**2):.2f}), seed {args.seed}")  # fmt: skip
    print("link = link_documents(rebuild=True) end to end on a fresh copy; knn fwd = index of the recommendations, every passage "
          f"a query, k={args.recs}; knn rev = index of the N passages, {args.queries} random queries, k={args.k}\n")  # fmt: skip

    header = (f"{'N':>7}  {'backend':<10}  {'link s':>7}  {'passages/s':>10}  {'links':>6}  {'knn fwd p50/p95 ms':>18}  "
              f"{'fwd total s':>11}  {'rev build s':>11}  {'knn rev p50/p95 ms':>18}")  # fmt: skip
    lines = []
    with tempfile.TemporaryDirectory(prefix="bench-link-") as tmp:
        workdir = Path(tmp)
        for n in sizes:
            rec_matrix, passages, near = synthetic_vectors(n, args.recs, args.near, args.noise, args.seed)
            template = workdir / f"template-{n}.db"
            started = time.perf_counter()
            build_db(template, rec_matrix, passages, min(args.docs, n), args.seed)
            print(f"N={n}: database built in {time.perf_counter() - started:.1f}s ({template.stat().st_size / 2**20:.0f} MiB), "
                  f"{int((near >= 0).sum())} passages near a recommendation", flush=True)  # fmt: skip
            queries = unit_rows(np.random.default_rng(args.seed + 2), args.queries)
            pairs = {}
            for backend in backends:
                link_s, report = time_link(template, workdir, backend)
                pairs[backend] = report.pairs
                fwd = VectorIndex(list(range(1, args.recs + 1)), rec_matrix, backend=backend)
                fwd_p50, fwd_p95, fwd_total = time_queries(fwd, passages, args.recs)
                started = time.perf_counter()
                rev = VectorIndex(list(range(1, n + 1)), passages, backend=backend)
                rev_build = time.perf_counter() - started
                rev_p50, rev_p95, _ = time_queries(rev, queries, args.k)
                del rev
                line = (f"{n:>7}  {backend:<10}  {link_s:>7.2f}  {n / link_s:>10.0f}  {report.links:>6}  "
                        f"{fwd_p50:>8.3f} / {fwd_p95:<7.3f}  {fwd_total:>11.2f}  {rev_build:>11.2f}  {rev_p50:>8.3f} / {rev_p95:<7.3f}")  # fmt: skip
                lines.append(line)
                print(f"  {backend}: link {link_s:.2f}s ({report.documents} documents, {report.links} links, backend {report.backend})", flush=True)
            template.unlink()
            if len(pairs) == 2:
                a, b = ({(p, r): score for p, r, score in links} for links in pairs.values())
                same = "yes" if a.keys() == b.keys() else f"NO ({len(a.keys() ^ b.keys())} differ)"
                gap = max((abs(a[key] - b[key]) for key in a.keys() & b.keys()), default=0.0)
                print(f"  links (passage, recommendation) identical across backends: {same}; largest score difference {gap:.4f}")

        print("\n" + header)
        print("\n".join(lines))
        print("load average: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))

        counts = [int(s) for s in args.docs_scaling.split(",") if s.strip()]
        if counts:
            n = args.scaling_n
            print(f"\nPer-document cost: N={n} passages split over more documents, link_documents(rebuild=True), numpy backend")
            print(f"{'documents':>9}  {'passages/doc':>12}  {'link s':>7}  {'ms/document':>11}  {'passages/s':>10}")
            rec_matrix, passages, _ = synthetic_vectors(n, args.recs, args.near, args.noise, args.seed)
            for documents in counts:
                template = workdir / f"scaling-{documents}.db"
                build_db(template, rec_matrix, passages, min(documents, n), args.seed)
                link_s, report = time_link(template, workdir, "numpy")
                template.unlink()
                print(f"{report.documents:>9}  {n / report.documents:>12.0f}  {link_s:>7.2f}  {1000 * link_s / report.documents:>11.1f}  {n / link_s:>10.0f}",
                      flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
