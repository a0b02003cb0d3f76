"""Progress reporting for long library stages: the library takes a factory and the command line
fills it with progress bars; the default does nothing."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

Advance = Callable[[int], None]
# A progress factory: given a stage name and its total, a context manager yielding an advance function.
Progress = Callable[[str, int], contextlib.AbstractContextManager[Advance]]


@contextlib.contextmanager
def no_progress(stage: str, total: int) -> Iterator[Advance]:
    yield lambda n: None
