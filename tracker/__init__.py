"""review-tracker: follow what happens to the recommendations of an official review."""

from .db import open_db
from .errors import ExtractionError, TrackerError
from .ingest import IngestResult, expand_sources, ingest

__version__ = "0.1.0"

__all__ = ["ExtractionError", "IngestResult", "TrackerError", "__version__", "expand_sources", "ingest", "open_db"]
