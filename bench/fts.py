"""Benchmark full-text top-k: the old ranking (FTS5 `order by bm25` over every match, each match
joined to its document and highlighted) against `tracker.search.fts_ranking` (`tracker.fts_rank`),
in the same run, on the corpus `bench/search.py` builds (Zipf-like words, so some are everywhere).

For each size N (default 100k and 1M passages) and Q queries of 1-3 words (default 100, as
`bench/search.py` draws them), each query runs once per path, the paths alternating, unfiltered and
with `kind=evidence, since=2024-01-01`, then `publisher=NAO` (one publisher in eight). Printed: p50
and p95 per path, how the new path ranked (exact, rarer terms, or length), and how its top 20 agrees
with the exact BM25 top 20 (the old path's): overlap of ids, and overlap counting any passage tied
with the exact 20th score. Figures only: nothing asserts on time.

    python bench/fts.py                                   # N = 100000, 1000000
    python bench/fts.py --sizes 100000 --queries 50 --keep /tmp/fts-bench   # reuse built databases
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
from search import VOCABULARY, build  # bench/ is on sys.path when a script runs
from sqlite_utils.db import sqlite3

from tracker.fts_query import query_terms
from tracker.fts_rank import COMMON, document_frequency, index_stats
from tracker.search import DEPTH, HIGHLIGHT, Filters, fts_ranking

TOP = 20
# `not indexed`: the plan this query had before migration 009 indexed documents; with those indexes
# SQLite drives it from the documents and runs the MATCH (and bm25's pass over a posting list) once per passage.
OLD_SQL = """select passages_fts.rowid, bm25(passages_fts), highlight(passages_fts, 0, :open, :close)
from passages_fts join passages p on p.id = passages_fts.rowid join documents d not indexed on d.id = p.document_id
where passages_fts match :q {where} order by bm25(passages_fts) limit :depth"""
FILTERS = {"none": Filters(), "kind+since": Filters(kind="evidence", since="2024-01-01"), "publisher": Filters(publisher="NAO")}


def old_ranking(conn, query: str, filters: Filters) -> list[tuple[int, float, str]]:
    """The ranking before issue 14 (every match scored, joined and highlighted), all words only."""
    where, params = filters.clause()
    sql = OLD_SQL.format(where=where)
    found = conn.execute(sql, {"q": " ".join(query_terms(query)), "depth": DEPTH, "open": HIGHLIGHT[0], "close": HIGHLIGHT[1], **params})
    return [(row[0], row[1], row[2]) for row in found]


def kind_of(conn, query: str) -> str:
    """Which way the new path ranks this query (as `tracker.fts_rank.top_matches` decides)."""
    stats = index_stats(conn)
    if stats.rows <= COMMON:
        return "exact"
    counts = [document_frequency(conn, term, stats) for term in query_terms(query)]
    return "rarer terms" if min(counts) <= COMMON else "length"


def tied_ids(conn, query: str, filters: Filters, exact: list) -> set[int]:
    """Every passage whose exact BM25 is at least as good as the exact 20th (ties included)."""
    if len(exact) < TOP:
        return {row[0] for row in exact}
    where, params = filters.clause()
    sql = OLD_SQL.replace("highlight(passages_fts, 0, :open, :close)", "0").format(where=where)
    rows = conn.execute(sql, {"q": " ".join(query_terms(query)), "depth": 5000, **params}).fetchall()
    return {row[0] for row in rows if row[1] <= exact[TOP - 1][1] + 1e-9}


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    return f"{statistics.median(ordered) * 1e3:.1f} / {ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))] * 1e3:.1f}"


def measure(conn, texts: list[str], filters: Filters) -> dict:
    """Both paths on every query, alternating which goes first; overlap of the top 20."""
    old, new, overlap, tied, kinds = [], [], [], [], {}
    for i, text in enumerate(texts):
        for path in ("old", "new") if i % 2 == 0 else ("new", "old"):
            started = time.perf_counter()
            result = old_ranking(conn, text, filters) if path == "old" else fts_ranking(conn, text, filters)[0]
            (old if path == "old" else new).append(time.perf_counter() - started)
            if path == "old":
                exact = result
            else:
                found = result
        if not exact:  # nothing has every word (the new path then tries any word): no exact top 20 to compare
            continue
        ids = {row[0] for row in found[:TOP]}
        overlap.append(len(ids & {row[0] for row in exact[:TOP]}) / min(TOP, len(exact)))
        tied.append(min(1.0, len(ids & tied_ids(conn, text, filters, exact)) / min(TOP, len(exact))))
        kind = kind_of(conn, text)
        kinds[kind] = kinds.get(kind, 0) + 1
    return {"old": percentiles(old), "new": percentiles(new), "overlap": np.mean(overlap), "tied": np.mean(tied), "kinds": kinds}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,1000000", help="Comma-separated passage counts.")
    parser.add_argument("--queries", type=int, default=100, help="Queries per size.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", help="Folder to keep the built databases in and reuse (default: a temporary one).")
    args = parser.parse_args(argv)
    print(
        f"FTS top-{TOP} of depth {DEPTH}, ms p50 / p95; {args.queries} queries of 1-3 words; SQLite {sqlite3.sqlite_version}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    print("| passages | filter | old (every match) | new | overlap@20 | overlap@20 with ties | new path ranked by |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(args.keep or scratch)
        folder.mkdir(parents=True, exist_ok=True)
        for n in [int(s) for s in args.sizes.split(",") if s]:
            path = folder / f"search-{n}-{args.seed}.db"
            if not path.exists():
                print(f"  building {n:,} passages: {build(path, n, args.seed):.0f} s", file=sys.stderr, flush=True)
            conn = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
            rng = np.random.default_rng(args.seed + 1)
            texts = [" ".join(rng.choice(VOCABULARY, size=int(rng.integers(1, 4)), replace=False)) for _ in range(args.queries)]
            old_ranking(conn, texts[0], Filters())  # warm the page cache
            for name, filters in FILTERS.items():
                row = measure(conn, texts, filters)
                kinds = ", ".join(f"{k} {v}" for k, v in sorted(row["kinds"].items()))
                print(f"| {n:,} | {name} | {row['old']} | {row['new']} | {row['overlap']:.2f} | {row['tied']:.2f} | {kinds} |", flush=True)
            conn.close()
    print(f"load average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
