"""Benchmark the whole `tracker ingest DB note.md` process: one short note into a linked database.

This is the daily job of adding a document from the command line. The database is built once from the
bundled corpus (`tracker build corpus/hewitt-2023`, so it has been linked). Every timed run gets a
fresh copy of it and ingests the same one-page evidence note: the process extracts, segments, embeds
the new passages, links them and prints what changed. Two paths, in the same run, alternating:

  torch: TRACKER_EMBED_BACKEND=torch, sentence-transformers on torch (today's path before ONNX);
  onnx:  the default, all-MiniLM-L6-v2 through ONNX Runtime from the export cache (no torch import).

Each path runs once untimed first (a missing ONNX export is made then, and page caches warm up),
then --runs times (default 5). Printed: wall time per run, the median, the peak RSS of each process
(`os.wait4`), whether both paths printed the same digest, and, from one `python -X importtime` run
of the onnx path, which heavy modules it imported. Figures only: nothing here asserts on timing.

    python bench/startup.py
    python bench/startup.py --runs 3 --corpus corpus/hewitt-2023
    python bench/startup.py --db hewitt-tracker.db     # a database you have built and linked
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTE = """---
kind: evidence
title: "Peer review programme launched for integrated care systems"
publisher: "Local Government Association"
date: 2026-05-01
url: https://example.org/peer-review-note
assessor: independent
---
# Peer review launched

The LGA and NHS Confederation launched a sector-led peer review programme for integrated care systems
this month, with the first three systems reviewed by the end of the summer. The programme follows the
review's call for peer support as part of a lighter national oversight model.

Each review is carried out by a team of senior leaders from other systems, including a chief executive
of an integrated care board, a council leader and a director of adult social care. Reports are shared
with the system and published only with its consent.

NHS England said the programme would sit alongside its oversight framework rather than replace it, and
that data reporting requirements would be reviewed separately during the year. The Care Quality
Commission's system assessments remain paused while its new approach is tested.

Leaders welcomed the programme but warned that funding for the support offer covers only the first
year, and that without a longer settlement the work could stall once the pilot ends. Several systems
asked for the findings to feed into the next planning guidance, and for the programme to report its
first results publicly before the spending review.

## Next steps

The first round covers systems in the North West, the Midlands and the South West. A second round is
planned for the autumn, subject to funding, and the LGA expects to publish a summary of common themes
early next year. The Department of Health and Social Care said it would consider the findings
alongside its work on a smaller set of national targets and on the accountability of integrated care
boards to local people.

Local Healthwatch organisations asked to take part in each review, and the programme board agreed that
patient and carer representatives would be interviewed in every system. The peer teams will also look
at how systems share data between the NHS and councils, one of the areas the review singled out.
"""
HEAVY = ("torch", "transformers", "sentence_transformers", "scipy", "sklearn", "spacy", "onnxruntime", "tokenizers", "sqlite_utils")
PATHS = {"torch": {"TRACKER_EMBED_BACKEND": "torch"}, "onnx": {"TRACKER_EMBED_BACKEND": "auto"}}


def tracker_command() -> list[str]:
    """The installed console script, as a person runs it; else the same entry point through python."""
    script = shutil.which("tracker")
    return [script] if script else [sys.executable, "-c", "from tracker.cli import cli; cli()"]


def run(command: list[str], env: dict[str, str]) -> tuple[float, float, int, str, str]:
    """(wall seconds, peak RSS MiB, exit code, stdout, stderr) of one whole process."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(command, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0), err.seek(0)
        return seconds, usage.ru_maxrss / 1024, process.returncode, out.read().decode(), err.read().decode()


def fresh_copy(base: Path, target: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
        if Path(f"{base}{suffix}").exists():
            shutil.copyfile(f"{base}{suffix}", f"{target}{suffix}")


def build_base(corpus: Path, workdir: Path, env: dict[str, str]) -> Path:
    base = workdir / "base.db"
    seconds, rss, code, out, err = run(tracker_command() + ["build", str(corpus), str(base)], env)
    if code != 0:
        raise SystemExit(f"tracker build failed ({code}):\n{out}\n{err}")
    print(f"linked database built from {corpus} in {seconds:.1f}s (peak RSS {rss:.0f} MiB)")
    return base


def digest(stdout: str) -> str:
    """The 'What this changes' part of the output (without link ids, which are stable anyway)."""
    return stdout.split("What this changes", 1)[-1].strip() if "What this changes" in stdout else "(no digest)"


def heavy_imports(base: Path, note: Path, workdir: Path, env: dict[str, str]) -> str:
    """Which heavy modules one onnx-path process loaded, with their cumulative import time (ms)."""
    target = workdir / "importtime.db"
    fresh_copy(base, target)
    code = (
        "import atexit, sys\n"
        f"atexit.register(lambda: print('LOADED', *[m for m in {HEAVY!r} if sys.modules.get(m) is not None], file=sys.stderr))\n"
        "from tracker.cli import cli\n"
        "sys.argv = ['tracker', 'ingest', sys.argv[1], sys.argv[2]]\n"
        "cli()"
    )
    command = [sys.executable, "-X", "importtime", "-c", code, str(target), str(note)]
    result = subprocess.run(command, check=False, env=env, capture_output=True, text=True)
    loaded = next((line.split()[1:] for line in result.stderr.splitlines() if line.startswith("LOADED")), [])
    cumulative: dict[str, int] = {}
    for line in result.stderr.splitlines():
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \|\s*(\S+)$", line)
        if match:
            cumulative[match.group(2)] = max(cumulative.get(match.group(2), 0), int(match.group(1)))
    listed = ", ".join(f"{name} {cumulative.get(name, 0) / 1000:.0f} ms" if name in loaded else f"{name} no" for name in HEAVY)
    return f"modules loaded by one onnx-path process (cumulative import time): {listed}"


def time_paths(runs: int, base: Path, note: Path, workdir: Path, env: dict[str, str]) -> tuple[dict, dict, dict]:
    """Warm-up, then `runs` timed ingests per path, alternating: (seconds, peak RSS MiB, digests) by path."""
    times: dict[str, list[float]] = {name: [] for name in PATHS}
    peaks: dict[str, list[float]] = {name: [] for name in PATHS}
    digests: dict[str, set[str]] = {name: set() for name in PATHS}
    target = workdir / "run.db"
    for round_number in range(runs + 1):  # round 0: untimed warm-up of each path
        for name in list(PATHS) if round_number % 2 else list(reversed(PATHS)):
            fresh_copy(base, target)
            seconds, rss, code, out, err = run(tracker_command() + ["ingest", str(target), str(note)], env | PATHS[name])
            if code != 0:
                raise SystemExit(f"{name}: tracker ingest failed ({code}):\n{out}\n{err}")
            notes = " ".join(line for line in err.splitlines() if line.startswith("tracker:"))  # e.g. the torch fallback notice
            label = "warm-up" if round_number == 0 else f"run {round_number}"
            print(f"{label:8s} {name:6s} {seconds:6.2f}s  peak RSS {rss:5.0f} MiB  load {os.getloadavg()[0]:.2f}  {notes}".rstrip(), flush=True)
            if round_number:
                times[name].append(seconds)
                peaks[name].append(rss)
                digests[name].add(digest(out))
    return times, peaks, digests


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="timed runs per path (default: %(default)s)")
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus" / "hewitt-2023", help="corpus to build the linked database from")
    parser.add_argument("--db", type=Path, help="an already linked database to copy for every run (instead of building one)")
    args = parser.parse_args(argv)

    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    print("load average at start: " + " ".join(f"{x:.2f}" for x in os.getloadavg()) + f" ({os.cpu_count()} cores; other work skews every figure)")
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        workdir = Path(tmp)
        note = workdir / "note.md"
        note.write_text(NOTE)
        base = args.db.resolve() if args.db else build_base(args.corpus, workdir, env)
        times, peaks, digests = time_paths(args.runs, base, note, workdir, env)
        print(heavy_imports(base, note, workdir, env | PATHS["onnx"]))
    print(f"\nsummary: `tracker ingest` of a one-page note into a linked database, whole process, {args.runs} runs each")
    print(f"  {'path':6s} {'median s':>9s} {'min s':>7s} {'max s':>7s} {'peak RSS MiB':>13s}")
    for name in PATHS:
        print(f"  {name:6s} {statistics.median(times[name]):9.2f} {min(times[name]):7.2f} {max(times[name]):7.2f} {max(peaks[name]):13.0f}")
    speedup = statistics.median(times["torch"]) / statistics.median(times["onnx"])
    same = digests["torch"] == digests["onnx"] and len(digests["onnx"]) == 1
    print(f"  onnx is {speedup:.1f}x faster (target: median < 2 s); same digest from both paths: {'yes' if same else 'NO'}")
    print(f"  load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
