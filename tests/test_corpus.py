"""The bundled corpus: every digest and register entry carries a source; citations resolve; no text is
copied from the seed documents."""

import re
from pathlib import Path

import pytest
import yaml

from tracker.extract.text import split_front_matter
from tracker.ingest import KINDS, normalise_date

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus" / "hewitt-2023"
SEEDS = ROOT.parent / "shared" / "seeds"
DIGESTS = sorted(CORPUS.rglob("*.md"))
REGISTER = yaml.safe_load((CORPUS / "review.yaml").read_text(encoding="utf-8"))
SLUGS = {item["slug"] for item in REGISTER["register"]}


def test_register_covers_30_items_and_only_recommendation_1_is_numbered():
    assert len(REGISTER["register"]) == len(SLUGS) == 30
    assert REGISTER["recommendations_expected"] == 36
    numbered = [(item["slug"], item["number"]) for item in REGISTER["register"] if item.get("number") is not None]
    assert numbered == [("prevention-share", 1)]
    assert all(item["number_verified"] == (item["slug"] == "prevention-share") for item in REGISTER["register"])


@pytest.mark.parametrize("item", REGISTER["register"], ids=lambda item: item["slug"])
def test_register_entry_has_sources_and_summary(item):
    assert item["sources"] and all(url.startswith("http") for url in item["sources"])
    assert 5 <= len(item["summary"].split()) <= 80
    assert item["chapter"] in REGISTER["chapters"]


@pytest.mark.parametrize("path", DIGESTS, ids=lambda path: path.name)
def test_digest_front_matter_and_citations(path):
    meta, body = split_front_matter(path.read_text(encoding="utf-8"))
    assert meta["kind"] in KINDS
    assert meta["url"].startswith("http")
    assert normalise_date(meta["date"])
    assert meta.get("assessor") in ("government", "independent")
    cited = {slug.strip() for found in re.findall(r"\(register:\s*([a-z0-9, -]+)\)", body) for slug in found.split(",")}
    assert cited <= SLUGS
    assert set(meta.get("recommendations") or []) <= SLUGS
    assert set(meta.get("signals") or {}) <= SLUGS


def shingles(text: str, n: int = 10) -> set[str]:
    words = re.findall(r"[a-z0-9£%']+", text.lower())
    return {" ".join(words[i : i + n]) for i in range(len(words) - n + 1)}


@pytest.mark.skipif(not SEEDS.exists(), reason="../shared/seeds is absent")
def test_no_ten_word_run_is_copied_from_the_seeds():
    seed_runs = set().union(*(shingles(p.read_text(encoding="utf-8", errors="replace")) for p in SEEDS.glob("*.txt")))

    def prose(path: Path) -> str:  # titles and URLs cite the source; they are not our prose
        return re.sub(r"^title:.*$|https?://\S+", "", path.read_text(encoding="utf-8"), flags=re.MULTILINE)

    copied = {p.name: len(shingles(prose(p)) & seed_runs) for p in [*DIGESTS, CORPUS / "review.yaml"]}
    assert {name: n for name, n in copied.items() if n} == {}
