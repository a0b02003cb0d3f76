"""SQL functions for Datasette's SQL editor and the canned queries (registered on every connection)."""

from __future__ import annotations

import numpy as np

from tracker.embed import to_blob
from tracker.references import reference_number
from tracker.search import embed_query


def cosine(blob_a: bytes | None, blob_b: bytes | None) -> float | None:
    """Cosine similarity of two little-endian float32 blobs; NULL when either is missing or sizes differ."""
    if not blob_a or not blob_b or len(blob_a) != len(blob_b) or len(blob_a) % 4:
        return None
    a, b = np.frombuffer(blob_a, "<f4"), np.frombuffer(blob_b, "<f4")
    norms = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(a @ b) / norms if norms else None


def embed_similarity(text: str | None, blob: bytes | None) -> float | None:
    """Cosine of the embedding of `text` (model loaded on first use) and a vector blob."""
    if not text or not blob:
        return None
    return cosine(to_blob(embed_query(str(text))), blob)


def reference_number_sql(ref: object) -> str | None:
    """`tracker.references.reference_number` for SQL ('R12', 'Recommendation 12' -> '12'), so a canned
    query resolves a reference by the same rule as `tracker.recommendations.resolve`."""
    return reference_number(str(ref)) if ref is not None else None
