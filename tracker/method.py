"""The Method page's content: how statuses are derived, how links are made, what confidence means,
and the latest evaluation figures, each read from the code that applies it (so the page cannot
drift from the rules) or from `data/evaluation.yaml` (the published `tracker eval` figures).
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any

import sqlite_utils
import yaml

from .provenance import WORDING_LABELS
from .register import REGISTER_METHOD
from .status import (
    DOCUMENT_CONFIDENCE,
    MACHINE_METHODS,
    METHOD_CONFIDENCE,
    METHOD_RANK,
    POSITION_STATUS,
    POSITIONS,
    SIGNAL_READING_AUTO,
    SIGNAL_STATUS,
    STATUSES,
)

METHODS: dict[str, str] = {
    REGISTER_METHOD: "A government position recorded by hand in the tracker's register, from public sources that report it, "
    "with their links and a confidence. It ranks above any position read from a document.",
    "response_layout": "A government response laid out recommendation by recommendation: the passage sits under the recommendation's heading.",
    "explicit": 'The passage names the recommendation: its number ("Recommendation 1") or, in the tracker\'s own digests, a register tag.',
    "named": 'A machine link: the passage uses a name the register gives the item ("HARPs", "section 75"), scored by the learned link scorer.',
    "semantic": "A machine link: the passage's meaning is close to the recommendation's profile (sentence embeddings), scored by the learned link scorer.",
}
RULES = [
    "A person's status set with tracker set-status wins, shown as such with its note and date.",
    (
        "Otherwise the latest dated evidence signal decides (ties: the stronger link, then the more severe signal); "
        "a page gives an item one signal: a setback anywhere on it, else its earliest passage's."
    ),
    "Otherwise the government's position decides (the register's recorded position first).",
    "Otherwise the status is “no position found”: the tracker holds no government position and no evidence of action.",
    (
        "A machine link (named or similarity) decides alone only when the scorer's probability reaches the auto threshold "
        "and, for a progress signal, the sentence reader is sure enough of its label; "
        "otherwise the link is shown, muted, and waits for a person's confirmation (tracker confirm)."
    ),
    "“Since” is the day the current status began, from the replayed history; the latest evidence date is shown apart.",
]


@lru_cache(maxsize=1)
def evaluation() -> dict[str, Any]:
    """The published evaluation figures (data/evaluation.yaml)."""
    return yaml.safe_load(resources.files("tracker").joinpath("data/evaluation.yaml").read_text(encoding="utf-8"))


def thresholds(db: sqlite_utils.Database | None) -> dict[str, float | None]:
    """The link scorer's thresholds in use: the database's fitted scorer, else the shipped one."""
    from .scorer import load_scorer, shipped_scorer

    try:
        scorer = load_scorer(db) if db is not None else shipped_scorer()
    except Exception:  # noqa: BLE001 - a page must render without a scorer
        scorer = None
    return {"link": scorer.link_threshold if scorer else None, "auto": scorer.auto_threshold if scorer else None, "signal_reading": SIGNAL_READING_AUTO}


def method_content(db: sqlite_utils.Database | None = None) -> dict[str, Any]:
    """Everything the Method page shows."""
    return {
        "statuses": STATUSES,
        "positions": POSITIONS,
        "position_status": POSITION_STATUS,
        "signals": list(SIGNAL_STATUS),
        "rules": RULES,
        "methods": [
            {
                "method": name,
                "description": text,
                "machine": name in MACHINE_METHODS,
                "rank": METHOD_RANK.get(name, 0),
                "confidence": None if name in MACHINE_METHODS else METHOD_CONFIDENCE.get(name),
            }
            for name, text in METHODS.items()
        ],
        "document_confidence": DOCUMENT_CONFIDENCE,
        "wording": WORDING_LABELS,
        "thresholds": thresholds(db),
        "evaluation": evaluation(),
    }
