"""Give every page of a page gold file its half, once: pages sorted by kind, date and id alternate
between "tune" and "report", so both halves hold every kind and period. Pages that already have a
split keep it (a page never moves between halves); new pages continue the alternation of their kind.

    python tests/gold/split_pages.py tests/gold/real_pages.jsonl
"""

import json
import sys
from collections import Counter
from pathlib import Path


def assign(pages: list[dict]) -> list[dict]:
    done = Counter((page["kind"], page["split"]) for page in pages if page.get("split"))
    for page in sorted((p for p in pages if not p.get("split")), key=lambda p: (p["kind"], p["date"], p["id"])):
        page["split"] = "tune" if done[(page["kind"], "tune")] <= done[(page["kind"], "report")] else "report"
        done[(page["kind"], page["split"])] += 1
    return pages


if __name__ == "__main__":
    path = Path(sys.argv[1])
    pages = assign([json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()])
    path.write_text("".join(json.dumps(page, ensure_ascii=False) + "\n" for page in pages), encoding="utf-8")
    print(Counter((page["kind"], page["split"]) for page in pages))
