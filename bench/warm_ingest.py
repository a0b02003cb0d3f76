"""Benchmark warm ingest: one real page at a time into a linked database, in one process.

Issue 9 asks that reading real pages well does not make adding them slow: a page added to a linked
database (extract, segment, embed, link with the profiles and readers, refresh statuses, say what
changed) should take at most 0.5 s median once the process is warm. The database is built from the
bundled corpus into a temporary folder (or copied from --db); the pages are the real-text set's texts
(`real-pages/<id>.txt`, see README "On real pages"), or the seeds when that folder is absent. The
first page is a warm-up and not timed. Printed: per-page seconds (median, p95, max), passages per
page, and the same for a bare encode of each page's passages (the embedder alone) as the floor. Figures only.

    python bench/warm_ingest.py
    python bench/warm_ingest.py --texts real-pages --db hewitt-tracker.db
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT.parent / "shared" / "seeds"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--texts", type=Path, default=ROOT / "real-pages", help="folder of page texts (default real-pages/, else the seeds)")
    parser.add_argument("--db", type=Path, help="a linked database to copy (default: build the bundled corpus)")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from sqlite_utils.db import sqlite3  # the SQLite library tracker's connections use

    from tracker import open_db
    from tracker.build import build, ingest_and_link
    from tracker.embed import get_embedder

    folder = args.texts if args.texts.is_dir() else SEEDS
    pages = sorted(folder.glob("*.txt"))
    if len(pages) < 2:
        sys.exit(f"no page texts in {args.texts} or {SEEDS}")
    with tempfile.TemporaryDirectory(prefix="tracker-warm-") as scratch:
        target = Path(scratch) / "t.db"
        db = open_db(target)
        if args.db:  # SQLite's backup, so a live WAL is copied too (a file copy would miss it)
            source = sqlite3.connect(args.db)
            source.backup(db.conn)
            source.close()
        else:
            build(db, ROOT / "corpus" / "hewitt-2023")
        timings, floors, sizes = [], [], []
        for index, page in enumerate(pages):
            started = time.perf_counter()
            report = ingest_and_link(db, [str(page)], {"kind": "evidence"})
            elapsed = time.perf_counter() - started
            ids = report.changed_ids
            texts = [row["text"] for row in db.query(f"select text from passages where document_id in ({','.join('?' * len(ids))})", ids)] if ids else []
            started = time.perf_counter()
            get_embedder().encode(texts)
            floor = time.perf_counter() - started
            if index:  # the first page warms the process up
                timings.append(elapsed)
                floors.append(floor)
                sizes.append(len(texts))
    print(f"python {sys.version.split()[0]}, load average {os.getloadavg()[0]:.1f}; {len(timings)} pages from {folder} (after one warm-up)")
    print(f"  passages per page  median {statistics.median(sizes):.0f}  max {max(sizes)}")
    print(f"  ingest and link    median {statistics.median(timings):.3f} s  p95 {percentile(timings, 0.95):.3f} s  max {max(timings):.3f} s")
    print(f"  bare embedding     median {statistics.median(floors):.3f} s  p95 {percentile(floors, 0.95):.3f} s")


if __name__ == "__main__":
    main()
