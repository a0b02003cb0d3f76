"""Write corpus.jsonl: gold judgements taken from the bundled corpus's curated front matter.

Signals come from each evidence digest's `signals` (a curator's reading; `context` means no signal);
positions from the government's stated positions in ../shared/facts/register_facts.yaml, as copied into
the register digest. Run from the repository root: python tests/gold/make_corpus_gold.py
"""

import json
import re
from pathlib import Path

import yaml

from tracker.extract.text import clean_inline

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "corpus" / "hewitt-2023"
POSITIONS = {
    "prevention-share": "not_accepted", "prevention-definition": "further_work", "national-health-mission": "not_accepted",
    "national-priorities": "accepted", "harps": "accepted_in_principle", "cqc-system-assessment": "accepted",
    "peer-review": "noted", "social-care-workforce-strategy": "noted", "capital-regime": "accepted",
    "section-75": "accepted", "collective-spend-tracking": "accepted",
}  # fmt: skip
CITATION = re.compile(r"\(register:\s*([a-z0-9, -]+)\)")


def paragraphs(path: Path):
    body = path.read_text(encoding="utf-8").split("\n---", 1)[1]
    for paragraph in re.split(r"\n\s*\n", body):
        found = CITATION.search(paragraph)
        if found:
            yield paragraph.strip(), [s.strip() for s in found.group(1).split(",")]


def first_words(paragraph: str, n: int = 8) -> str:
    return " ".join(clean_inline(paragraph).split()[:n])  # as the stored text reads


def main() -> None:
    rows = []
    for path in sorted((CORPUS / "evidence").glob("*.md")):
        meta = yaml.safe_load(path.read_text(encoding="utf-8").split("---")[1])
        signals = meta.get("signals") or {}
        for paragraph, slugs in paragraphs(path):
            for slug in slugs:
                if slug in signals:
                    label = "mention" if signals[slug] == "context" else signals[slug]
                    rows.append({"task": "signal", "document": path.name, "quote": first_words(paragraph), "recommendation": slug, "label": label})
    for path in sorted((CORPUS / "government").glob("*.md")):
        for paragraph, slugs in paragraphs(path):
            for slug in slugs:
                if slug in POSITIONS:
                    rows.append({"task": "position", "document": path.name, "quote": first_words(paragraph), "recommendation": slug, "label": POSITIONS[slug]})
    with open(Path(__file__).with_name("corpus.jsonl"), "w", encoding="utf-8") as out:
        out.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    print(f"{len(rows)} judgements")


if __name__ == "__main__":
    main()
