"""Keep torch out of processes that do not need it.

Why: spaCy imports thinc, and thinc imports torch whenever it is installed (`thinc.compat`), which
costs ~0.7 s and ~180 MB on every `tracker ingest`, although the blank pipeline the tracker runs
never touches it, and embedding runs on ONNX Runtime. `torch_hidden()` makes `import torch` fail
inside its block only, so thinc records "no torch"; torch itself stays importable afterwards (the
torch embedding fallback, a benchmark, a test).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator

HIDDEN = ("torch",)


def torch_wanted() -> bool:
    """True when torch must stay visible: it is loaded already, or a trained spaCy pipeline (which
    may be a transformer one, run by thinc on torch) is asked for by TRACKER_SPACY_MODEL."""
    return "torch" in sys.modules or bool(os.environ.get("TRACKER_SPACY_MODEL"))


@contextlib.contextmanager
def torch_hidden() -> Iterator[None]:
    """Within the block, `import torch` raises ImportError (a None entry in sys.modules), unless
    `torch_wanted()`; the entries are removed on exit so later imports find the real torch."""
    if torch_wanted():
        yield
        return
    added = [name for name in HIDDEN if name not in sys.modules]
    for name in added:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        for name in added:
            if sys.modules.get(name, False) is None:
                del sys.modules[name]
