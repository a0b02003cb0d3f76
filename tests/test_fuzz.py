"""The seeded fuzz run of bench/fuzz.py at a small size: malformed HTML, PDF bytes, text encodings,
URLs and dates must each end as a document or one failure line, and the database must stay whole.
`python bench/fuzz.py --cases 2000` runs it larger."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

FUZZ = Path(__file__).resolve().parents[1] / "bench" / "fuzz.py"


@pytest.fixture(scope="module")
def fuzz():
    pytest.importorskip("reportlab")
    spec = importlib.util.spec_from_file_location("tracker_fuzz", FUZZ)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("seed", [11, 12])
def test_fuzz_finds_no_traceback_and_no_broken_database(fuzz, seed):
    report = fuzz.run(cases=250, seed=seed, seconds=60)
    assert report.problems == [], "\n".join(report.problems[:5])
    assert report.integrity == "ok"
    assert report.cases == 250 and set(report.by_kind) == set(fuzz.KINDS)
    assert report.outcomes["ingested"] > 0 and report.outcomes["failed"] > 0  # both paths were exercised
