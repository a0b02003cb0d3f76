"""A short load test of the served tracker, loopback only: page latency while an ingest runs.

The bundled corpus is built into a temporary database (`tracker build`), served with
`tracker serve` (live, the default) on 127.0.0.1, and --clients threads request a fixed mix of
pages in turn (dashboard, recommendation pages, the review queue, a word search, what changed).
Three phases, each bounded: idle (--seconds), during a `tracker ingest` of the seed documents into
the same database from another process (until it ends, at most --ingest-timeout), then idle again.
Printed per phase: requests, p50/p95/max latency in ms, and any answer that was not 200. Figures
only: nothing here asserts on timing, and other work on the machine shows in them (load average
printed).

    python bench/serve_load.py                       # 2 clients, 20 s idle phases
    python bench/serve_load.py --clients 4 --seconds 10 --seeds ../shared/seeds
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Self

ROOT = Path(__file__).resolve().parents[1]
TRACKER = [sys.executable, "-c", "from tracker.cli import cli; cli()"]
PAGES = ["/-/tracker/dashboard", "/-/tracker/recommendation/R1", "/-/tracker/recommendation/national-priorities", "/-/tracker/review",
         "/-/tracker/search?q=running+costs&mode=fts", "/-/tracker/changes", "/load/documents.json?_shape=array"]  # fmt: skip


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fetch(url: str) -> tuple[int, float]:
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            response.read()
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    except OSError:
        status = 0
    return status, (time.perf_counter() - started) * 1000


class Load:
    """--clients threads requesting PAGES in turn until stopped; samples go to the current phase."""

    def __init__(self, base: str, clients: int) -> None:
        self.base, self.phase, self.samples = base, "idle before", {}
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.client, args=(i,), daemon=True) for i in range(clients)]

    def client(self, offset: int) -> None:
        i = offset
        while not self.stop.is_set():
            path = PAGES[i % len(PAGES)]
            status, ms = fetch(self.base + path)
            with self.lock:
                self.samples.setdefault(self.phase, []).append((path, status, ms))
            i += 1

    def __enter__(self) -> Self:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=35)


def wait_listening(port: int, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if process.poll() is not None:
                sys.exit(f"tracker serve exited: {process.communicate()[0].decode(errors='replace')[-1000:]}")
            time.sleep(0.2)
    sys.exit("tracker serve did not start in time")


def report(samples: dict[str, list[tuple[str, int, float]]]) -> None:
    print(f"{'phase':<16}{'requests':>9}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}  not 200")
    for phase, found in samples.items():
        times = sorted(ms for _, _, ms in found)
        p95 = times[min(len(times) - 1, int(0.95 * len(times)))] if times else 0.0
        bad = [(path, status) for path, status, _ in found if status != 200]
        print(f"{phase:<16}{len(found):>9}{statistics.median(times) if times else 0:>9.1f}{p95:>9.1f}{max(times, default=0):>9.1f}  {len(bad)} {bad[:3]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=20, help="length of each idle phase")
    parser.add_argument("--ingest-timeout", type=float, default=300)
    parser.add_argument("--seeds", type=Path, default=ROOT.parent / "shared" / "seeds", help="documents to ingest during the load")
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus" / "hewitt-2023")
    args = parser.parse_args()
    if not args.seeds.is_dir():
        print(f"no seed documents at {args.seeds} (--seeds DIR)", file=sys.stderr)
        return 2
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; {args.clients} clients, loopback only")
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "load.db"
        subprocess.run([*TRACKER, "build", str(args.corpus), str(db)], check=True, capture_output=True)
        port = free_port()
        log = (Path(folder) / "serve.log").open("wb")
        server = subprocess.Popen([*TRACKER, "serve", str(db), "--port", str(port)], stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_listening(port, server)
            with Load(f"http://127.0.0.1:{port}", args.clients) as load:
                time.sleep(args.seconds)
                load.phase = "during ingest"
                started = time.monotonic()
                ingest = subprocess.run(
                    [*TRACKER, "ingest", str(db), str(args.seeds), "--kind", "stakeholder_response"],
                    capture_output=True,
                    timeout=args.ingest_timeout,
                    check=False,
                )
                print(f"ingest of {args.seeds} (linked): exit {ingest.returncode} in {time.monotonic() - started:.1f}s")
                load.phase = "idle after"
                time.sleep(args.seconds)
            report(load.samples)
        finally:
            server.terminate()
            server.wait(timeout=15)
            log.close()
            print("server log, last lines:", *(Path(folder) / "serve.log").read_text(errors="replace").splitlines()[-5:], sep="\n  ")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
