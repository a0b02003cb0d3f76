"""Benchmark passage search as the Datasette page and `tracker search` run it (`tracker.search`), the
exact numpy path and the approximate index (`tracker.vector_index`) side by side in the same run.

For each size N (default 1k, 10k, 100k passages) a temporary tracker database is built with
`tracker.open_db`: documents of four kinds from eight publishers over 2023-2026, N passages of
generated sentences (words drawn from a small vocabulary with Zipf-like frequencies, so some words are
everywhere and most are rare), a 384-d unit vector per passage in `embeddings`, and
`tracker.publish.publish` for the FTS5 index and views. The vectors are `--vectors clustered`
(default: about 100 passages around each of N/100 topic centres, a passage's cosine to its nearest
neighbours 0.5-0.7, closer to text embeddings) or `random` (uniform on the sphere: every neighbour is
nearly as far as any other passage, the worst case for HNSW). Each of Q queries (default 50) has 1-3
words and a query vector (near a topic centre, or uniform); no model is loaded.

Per size and path (exact: `search(..., exact=True)`, the numpy matrix; ann: the usearch index, which
the script uses at every size; the tracker itself uses it from `vector_index.EXACT_BELOW` passages):

* ready: the time to load the matrix from SQLite (exact), or to build the index (`update_index`, ann);
* fts, vector, hybrid, hybrid+filter (`kind=evidence`, `since=2024-01-01`): p50 / p95 per query, ms;
* recall@10: the share of the exact top 10 that the approximate ranking (depth 50, as search asks)
  also puts in its top 10, without and with the filter;
* a fresh process (`--serve`) that opens the database, answers one hybrid search (first answer, s:
  connecting, opening the vectors, the query) and then Q hybrid and Q vector searches: its peak RSS
  (VmHWM, memory-mapped index pages included) is the memory of serving that path;
* knn vec0: the bare k=50 query on a sqlite-vec `vec0` table (in memory), when sqlite-vec loads.

Figures only: nothing here asserts on timing.

    python bench/search.py                    # N = 1000, 10000, 100000, clustered vectors
    python bench/search.py --sizes 1000000 --no-vec0
    python bench/search.py --sizes 100000 --vectors random --exact
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

import numpy as np
from sqlite_utils.db import sqlite3  # pysqlite3 when installed, as Datasette uses
from vocabulary import NOUNS, VERBS  # bench/ is on sys.path when a script runs

from tracker import vector_index
from tracker.db import open_db, utcnow
from tracker.embed import DIMENSIONS, MODEL_NAME, sqlite_vec_connection, text_hash, to_blob
from tracker.publish import publish
from tracker.search import DEPTH, Filters, search
from tracker.vector_files import index_folder
from tracker.vector_matrix import passage_matrix

REVIEW = "bench-review"
VOCABULARY = np.array(NOUNS + VERBS)
KINDS = ["stakeholder_response", "government_response", "evidence", "other"]
PUBLISHERS = ["NHS England", "DHSC", "LGA", "NHS Confederation", "King's Fund", "Health Foundation", "NAO", "CQC"]
FILTER = Filters(kind="evidence", since="2024-01-01")
PER_TOPIC = 100  # passages per topic centre (clustered vectors)


def zipf_weights(n: int) -> np.ndarray:
    weights = 1.0 / np.arange(1, n + 1)
    return weights / weights.sum()


def unit(matrix: np.ndarray) -> np.ndarray:
    return matrix / np.linalg.norm(matrix, axis=-1, keepdims=True)


def make_vectors(n: int, kind: str, seed: int, near: np.ndarray | None = None) -> np.ndarray:
    """n unit vectors: uniform, or a topic centre (chosen at random, or the `near` ones) plus noise as
    long as the centre, so that a vector's cosine to its centre is ~0.7 and to its neighbours ~0.5."""
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal((n, DIMENSIONS), dtype=np.float32)
    if kind == "random":
        return unit(noise)
    centres = unit(np.random.default_rng(10_000 + seed).standard_normal((max(1, n // PER_TOPIC), DIMENSIONS), dtype=np.float32))
    chosen = centres[rng.integers(0, len(centres), n)] if near is None else near
    return unit(chosen + noise / np.sqrt(DIMENSIONS))


def build(path: Path, n: int, seed: int = 0, kind: str = "clustered") -> float:
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
        vectors = make_vectors(n, kind, seed)
        db["embeddings"].insert_all(
            ({"model": MODEL_NAME, "sha256": h, "dims": DIMENSIONS, "vector": to_blob(v), "created_at": now} for h, v in zip(hashes, vectors)),
            batch_size=2000,
        )
    publish(db)
    db.close()
    return time.perf_counter() - started


def make_queries(n: int, count: int, kind: str, seed: int) -> tuple[list[str], np.ndarray]:
    """Query words, and query vectors near the topic centres of the passages (or uniform)."""
    rng = np.random.default_rng(seed + 1)
    texts = [" ".join(rng.choice(VOCABULARY, size=int(rng.integers(1, 4)), replace=False)) for _ in range(count)]
    centres = unit(np.random.default_rng(10_000 + seed).standard_normal((max(1, n // PER_TOPIC), DIMENSIONS), dtype=np.float32))
    return texts, make_vectors(count, kind, seed + 2, near=centres[rng.integers(0, len(centres), count)]).astype(np.float32)


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


def recall(conn, vectors: np.ndarray, filters: Filters) -> float:
    """Mean share of the exact top 10 found in the approximate top 10 (each ranked to DEPTH, as search asks)."""
    ann, exact = vector_index.vector_store(conn), passage_matrix(conn)
    assert isinstance(ann, vector_index.AnnIndex) and exact is not None
    shares = []
    for vector in vectors:
        truth = {i for i, _ in exact.nearest(conn, vector, filters, DEPTH)[:10]}
        shares.append(len(truth & {i for i, _ in ann.nearest(conn, vector, filters, DEPTH)[:10]}) / max(1, len(truth)))
    return float(np.mean(shares))


def path_figures(conn, work: list, exact: bool) -> dict:
    def run(mode: str, filters: Filters | None = None):
        return lambda w: search(conn, w[0], mode, filters, embed=lambda _: w[1], exact=exact)

    return {"vector": timed(run("vector"), work), "hybrid": timed(run("hybrid"), work), "hybrid_filter": timed(run("hybrid", FILTER), work)}


def serve_figures(path: Path, queries_file: Path, exact: bool) -> dict:
    """Run `--serve` in a fresh process: its time to the first answer and its peak RSS."""
    args = [sys.executable, __file__, "--serve", str(path), "--queries-file", str(queries_file)] + (["--exact"] if exact else [])
    done = subprocess.run(args, stdout=subprocess.PIPE, text=True, check=True)
    return {key: value for line in done.stdout.splitlines() for key, value in json.loads(line).items()}


def peak_rss_mib() -> float:
    """This process's peak resident set (VmHWM). Not `ru_maxrss`: after a vfork and exec Linux starts
    a child's from its parent's resident set, so a child of a large parent would report the parent's."""
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024


def server_figures(path: Path, exact: bool, texts: list[str], timeout: float = 300.0) -> dict:
    """Start Datasette on the database as `tracker serve` does (the plugin loads the real model and the
    passage vectors in the background) and time it to the first search answered by words and meaning;
    then Q more searches and the server's peak RSS. For the exact path the index folder is moved aside."""
    folder = index_folder(path)
    aside = folder.with_name(folder.name + ".aside")
    if exact and folder.exists():
        folder.rename(aside)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "TRACKER_WARM_MODEL": "1", "HF_HUB_OFFLINE": "1"}
    args = [sys.executable, "-m", "datasette", "serve", "-i", str(path), "--port", str(port), "--setting", "sql_time_limit_ms", "30000"]
    started = time.perf_counter()
    server = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/-/tracker/search.json?mode=hybrid&q="
    try:
        first = None
        while first is None and time.perf_counter() - started < timeout:
            try:
                answer = json.load(urllib.request.urlopen(url + urllib.parse.quote(texts[0]), timeout=60))
                first = time.perf_counter() - started if answer["mode_used"] == "hybrid" else None
            except OSError:
                pass
            time.sleep(0.05)
        for text in texts:
            urllib.request.urlopen(url + urllib.parse.quote(text), timeout=60).read()
        with open(f"/proc/{server.pid}/status") as status:
            rss = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024
        return {"first_s": first, "rss_mib": rss}
    finally:
        server.terminate()
        server.wait()
        if aside.exists():
            aside.rename(folder)


def serve(path: str, queries_file: str, exact: bool) -> None:
    """The child: open the database, answer a first hybrid search, print its time, answer the rest."""
    vector_index.EXACT_BELOW = 0
    data = np.load(queries_file)
    texts, vectors = [str(t) for t in data["texts"]], data["vectors"]
    started = time.perf_counter()
    conn = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
    first = search(conn, texts[0], "hybrid", embed=lambda _: vectors[0], exact=exact)
    print(json.dumps({"first_s": time.perf_counter() - started, "mode_used": first.mode_used}), flush=True)
    for text, vector in zip(texts, vectors):
        for mode in ("hybrid", "vector"):
            search(conn, text, mode, embed=lambda _, v=vector: v, exact=exact)
    print(json.dumps({"rss_mib": peak_rss_mib()}))


def bench_size(n: int, args: argparse.Namespace) -> list[dict]:
    with contextlib.ExitStack() as stack:
        folder = args.keep or stack.enter_context(tempfile.TemporaryDirectory())
        path = Path(folder) / f"search-{n}-{args.vectors}-{args.seed}.db"
        build_seconds = None if path.exists() else build(path, n, args.seed, args.vectors)
        texts, vectors = make_queries(n, args.queries, args.vectors, args.seed)
        queries_file = Path(folder) / "queries.npz"
        np.savez(queries_file, texts=np.array(texts), vectors=vectors)
        work = list(zip(texts, vectors))
        rows = [{"n": n, "path": "exact", "build_s": build_seconds}]
        if not args.exact:
            started, reused = time.perf_counter(), index_folder(path).exists()
            db = open_db(path)
            vector_index.update_index(db)
            db.close()
            rows.append({"n": n, "path": "ann", "ready_s": None if reused else time.perf_counter() - started})
            rows[-1]["index_mib"] = sum(p.stat().st_size for p in index_folder(path).iterdir()) / 2**20
        conn = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
        started = time.perf_counter()
        passage_matrix(conn)  # read once, then cached for the searches below
        rows[0]["ready_s"] = time.perf_counter() - started
        search(conn, texts[0], "hybrid", embed=lambda _: vectors[0], exact=True)  # warm the page cache
        rows[0]["fts"] = timed(lambda w: search(conn, w[0], "fts"), work)
        rows[0].update(path_figures(conn, work, exact=True), vec0=vec0_figures(conn, vectors) if args.vec0 else None)
        if not args.exact:
            started = time.perf_counter()
            vector_index.vector_store(conn)
            rows[1].update(open_s=time.perf_counter() - started, fts=rows[0]["fts"], **path_figures(conn, work, exact=False))
            rows[1].update(recall=recall(conn, vectors, Filters()), recall_filter=recall(conn, vectors, FILTER))
        conn.close()
        for row in rows:
            row["serve"] = serve_figures(path, queries_file, row["path"] == "exact")
            row["server"] = server_figures(path, row["path"] == "exact", texts) if args.server else None
    return rows


def vec0_figures(conn, vectors: np.ndarray) -> tuple[float, float] | None:
    vec = sqlite_vec_connection()
    if vec is None:
        return None
    matrix = passage_matrix(conn)
    assert matrix is not None
    vec.execute(f"create virtual table items using vec0(embedding float[{DIMENSIONS}] distance_metric=cosine)")
    vec.executemany("insert into items(rowid, embedding) values (?, ?)", ((int(i), to_blob(v)) for i, v in zip(matrix.ids, matrix.matrix)))
    query = "select rowid, distance from items where embedding match ? and k = ? order by distance"
    figures = timed(lambda v: vec.execute(query, [to_blob(v), DEPTH]).fetchall(), vectors)
    vec.close()
    return figures


def table(rows: list[dict]) -> list[str]:
    def pair(value):
        return "n/a" if value is None else f"{value[0]:.1f} / {value[1]:.1f}"

    def server(value):
        return "-" if value is None else f"{'no answer' if value['first_s'] is None else format(value['first_s'], '.2f')} / {value['rss_mib']:,.0f}"

    header = [
        "passages",
        "path",
        "ready s",
        "fts",
        "vector",
        "hybrid",
        "hybrid+filter",
        "recall@10",
        "recall@10 filter",
        "first answer s",
        "peak RSS MiB",
        "server s / MiB",
    ]
    lines = [
        [
            f"{row['n']:,}", "exact (numpy)" if row["path"] == "exact" else "ann (usearch)", "reused" if row["ready_s"] is None else f"{row['ready_s']:.2f}", pair(row["fts"]), pair(row["vector"]),
            pair(row["hybrid"]), pair(row["hybrid_filter"]), f"{row['recall']:.4f}" if "recall" in row else "-",
            f"{row['recall_filter']:.4f}" if "recall" in row else "-", f"{row['serve']['first_s']:.2f}", f"{row['serve']['rss_mib']:,.0f}", server(row["server"]),
        ]
        for row in rows
    ]  # fmt: skip
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(header)]
    out = ["| " + " | ".join(h.ljust(w) for h, w in zip(header, widths)) + " |", "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    return out + ["| " + " | ".join(c.rjust(w) for c, w in zip(line, widths)) + " |" for line in lines]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="Comma-separated passage counts.")
    parser.add_argument("--queries", type=int, default=50, help="Queries per size.")
    parser.add_argument("--vectors", choices=["clustered", "random"], default="clustered", help="How the passage vectors are drawn.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--exact", action="store_true", help="Only the exact numpy path (no index is built).")
    parser.add_argument("--no-vec0", dest="vec0", action="store_false", help="Skip the sqlite-vec comparison.")
    parser.add_argument("--keep", help="Keep the databases and their indexes in this folder, and reuse them when there.")
    parser.add_argument("--server", action="store_true", help="Also time Datasette from start to a first hybrid answer (real model).")
    parser.add_argument("--serve", help=argparse.SUPPRESS)  # the child process: a database to search
    parser.add_argument("--queries-file", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve, args.queries_file, args.exact)
        return
    print(
        f"search latency per query, ms (p50 / p95), {args.queries} queries of 1-3 words, {args.vectors} vectors, depth {DEPTH}, top 20 shown; "
        f"python {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version}, load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    vector_index.EXACT_BELOW = 0  # measure the index at every size
    rows = []
    for n in [int(s) for s in args.sizes.split(",") if s]:
        found = bench_size(n, args)
        exact, ann = found[0], found[1:]
        extra = f", index {ann[0]['index_mib']:,.0f} MiB, opened in {ann[0]['open_s']:.2f} s" if ann else ""
        vec0 = f", knn vec0 (bare) {exact['vec0'][0]:.1f} / {exact['vec0'][1]:.1f} ms" if exact.get("vec0") else ""
        built = "reused" if exact["build_s"] is None else f"built in {exact['build_s']:.1f} s"
        print(f"  {n:,} passages: database {built}{extra}{vec0}; load average {os.getloadavg()[0]:.1f}", flush=True)
        rows += found
    print("\n".join(table(rows)))


if __name__ == "__main__":
    main()
