"""Peak memory of ingesting one large text: a synthetic plain-text document of --mb megabytes
(paragraphs of generated sentences, headings every 40 paragraphs, references now and then) ingested
into a fresh database by `tracker ingest --no-link` in a child process, whose peak resident set size
(ru_maxrss) is printed with the time taken and the rows stored. Figures only: nothing is asserted.

    python bench/ingest_memory.py                 # 50 MB
    python bench/ingest_memory.py --mb 10 --mb 50
    python bench/ingest_memory.py --mb 5 --link   # also link it (loads the embedding model)

With --link the database has a register and a link run first, so the ingest links the document and
prints the bounded "What this changes" digest; the passages are few distinct sentences, so embedding
stays short while linking reads every passage.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-c", "import sys; from tracker.cli import cli; sys.exit(cli())"]
SUBJECTS = ["The harbour board", "Each ferry operator", "The island council", "Residents", "The review panel", "NHS England", "HM Treasury"]
VERBS = ["should publish", "reported on", "will consider", "has reviewed", "must explain", "agreed to fund"]
OBJECTS = ["the winter timetable", "its annual accounts", "the fare structure", "a new pier", "staff training plans"]


def generate(path: Path, size: int, distinct: bool = True, seed: int = 20240312) -> int:
    """Write about `size` characters; with `distinct`, every sentence is unique (item numbers)."""
    rng = random.Random(seed)
    written, n = 0, 0
    with path.open("w", encoding="utf-8") as out:
        while written < size:
            n += 1
            item = f" in item {n}" if distinct else ""
            sentences = [f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)}{item}." for _ in range(rng.randint(2, 6))]
            if n % 50 == 0:
                sentences.append(f"See Recommendation {n % 36 + 1}.")
            paragraph = " ".join(sentences) if n % 40 else f"Section {n // 40} on island services"
            out.write(paragraph + "\n\n")
            written += len(paragraph) + 2
    return written


def prepare_linked(db: Path) -> None:
    """A register and a link run, so that `tracker ingest` links the new document."""
    import tracker
    from tracker.corpus import load_register

    database = tracker.open_db(db)
    load_register(database, ROOT / "corpus" / "hewitt-2023" / "review.yaml")
    database["runs"].insert({"command": "link", "version": tracker.__version__, "started_at": "2026-01-01T00:00:00+00:00"})
    database.close()


def measure(mb: float, link: bool) -> None:
    with tempfile.TemporaryDirectory(prefix="tracker-memory-") as folder:
        source, db = Path(folder) / "large.txt", Path(folder) / "t.db"
        chars = generate(source, int(mb * 1_000_000), distinct=not link)
        if link:
            prepare_linked(db)
        env = {**os.environ, "HF_HUB_OFFLINE": "1"}
        args = ["ingest", str(db), str(source), "--kind", "evidence", "--json"] + ([] if link else ["--no-link"])
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        started = time.perf_counter()
        done = subprocess.run([*CLI, *args], capture_output=True, text=True, env=env, check=False)
        seconds = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        if done.returncode != 0:
            print(f"{mb:>6.1f} MB: failed ({done.returncode}): {done.stderr.strip()[-300:]}")
            return
        import tracker

        database = tracker.open_db(db)
        passages = database.execute("select count(*) from passages").fetchone()[0]
        links = database.execute("select count(*) from links").fetchone()[0]
        note = "" if peak > before else " (peak of an earlier child: run one size per process for exact figures)"
        print(f"{mb:>6.1f} MB  {chars / 1e6:>6.1f} M chars  {passages:>9,} passages  {links:>9,} links  {seconds:>7.1f} s  "
              f"peak RSS {peak / 1024:>7.0f} MiB  output {len(done.stdout) / 1024:>7.1f} KiB{note}")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=float, action="append", help="document size in MB (repeatable; default 50)")
    parser.add_argument("--link", action="store_true", help="ingest into a linked database (links the document; loads the model)")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, load average {os.getloadavg()[0]:.1f}; ingest {'with' if args.link else 'without'} linking")
    for mb in sorted(args.mb or [50.0]):
        measure(mb, args.link)
    return 0


if __name__ == "__main__":
    sys.exit(main())
