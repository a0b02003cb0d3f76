"""Read what a linked passage says about a recommendation: a stakeholder's stance, a government
position (stated, or reported in any kind of document), or an evidence signal.

Two readers agree or are weighed: cue rules (`data/cues.json`, negation-aware, one vote per sentence,
the strongest and latest sentence before repetition), which stay as the visible explanation, and a
logistic model over the passage's sentence embedding, trained on labelled sentences written for the
project (`data/training_sentences.jsonl` -> `data/readers.json`), which gives the probability.
Sentences in which the government acts are positions, never the author's stance. A signal is turned
round when what happened runs against the direction the recommendation asks for.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING

import numpy as np

from .attribution import government_acts, speaker
from .classify import Verdict, classify, target_dates
from .learn import LogisticModel, fit_logistic

if TYPE_CHECKING:
    from .embed import Embedder

DEFAULT_LABEL = {"stance": "neutral", "signal": "mention", "position": "mention"}
CUE_WEIGHT = 0.6  # how much a cue reading counts against the model's probabilities
SENTENCE = re.compile(r"(?<=[.!?;])\s+(?=[A-Z“\"(‘'])")
DECREASE = re.compile(
    r"\b(?:cut\w*|reduc\w*|slash\w*|halv\w*|freez\w*|froze\w*|scrap\w*|abolish\w*|ax(?:e|ed|ing)|withdr\w*|drop\w*|shrink\w*|shrunk|remov\w*|end(?:s|ed|ing)?)\b",
    re.IGNORECASE,
)
INCREASE = re.compile(r"\b(?:increas\w*|rais\w*|expand\w*|boost\w*|grow\w*|add(?:s|ed|ing)?|more than doubled|doubl\w*)\b", re.IGNORECASE)
PROGRESS = {"implemented", "in_progress", "planned"}
# What a reported position answers: a sentence where the government acts must be about the review's asks.
ANSWERS = re.compile(r"\b(?:recommend\w*|review|proposals?|call(?:s|ed)?\s+(?:for|to)|hewitt|report|target|ask\w*|idea)\b", re.IGNORECASE)
TRAINING = "training_sentences.jsonl"


@dataclass
class Reading:
    task: str
    label: str
    probability: float | None
    cues: tuple[str, ...]
    speaker: str
    target_date: str | None = None
    rule: str = ""

    def columns(self) -> dict:
        return {"label": self.label, "cues": json.dumps(list(self.cues)) if self.cues else None, "target_date": self.target_date,
                "rule": self.rule, "speaker": self.speaker}  # fmt: skip


def sentences(text: str) -> list[str]:
    return [part.strip() for part in SENTENCE.split(text) if part.strip()]


def cue_votes(parts: list[str], task: str) -> list[tuple[int, Verdict]]:
    """One verdict per sentence that has cues, with the sentence's position."""
    return [(index, verdict) for index, part in enumerate(parts) if (verdict := classify(part, task)) is not None]


def strongest(votes: list[tuple[int, Verdict]]) -> Verdict | None:
    """Strength first, then the number of sentences saying it, then the latest."""
    if not votes:
        return None
    tally: dict[str, tuple[float, int, int]] = {}
    for index, verdict in votes:
        strength, count, _ = tally.get(verdict.label, (0.0, 0, 0))
        tally[verdict.label] = (max(strength, verdict.score), count + 1, index)
    label = max(tally, key=lambda name: tally[name])
    cues = tuple(cue for _, verdict in votes if verdict.label == label for cue in verdict.cues)
    return Verdict(label, cues, tally[label][0])


@lru_cache(maxsize=1)
def reader_models() -> dict[str, LogisticModel]:
    path = resources.files("tracker") / "data" / "readers.json"
    if not path.is_file():
        return {}
    spec = json.loads(path.read_text(encoding="utf-8"))
    return {task: LogisticModel.from_dict(model) for task, model in spec["models"].items()}


def weigh(task: str, verdict: Verdict | None, vector: np.ndarray | None) -> tuple[str, float | None]:
    """The label and its probability from the model's probabilities plus the cue reading."""
    model = reader_models().get(task)
    if model is None or vector is None or not vector.any():
        return (verdict.label if verdict else DEFAULT_LABEL[task]), None
    probabilities = model.probabilities(vector.reshape(1, -1))[0]
    combined = {label: float(p) for label, p in zip(model.labels, probabilities)}
    if verdict is not None:
        combined[verdict.label] = combined.get(verdict.label, 0.0) + CUE_WEIGHT
    label = max(combined, key=lambda name: combined[name])
    return label, round(float(dict(zip(model.labels, probabilities)).get(label, 0.0)), 3)


def against_direction(label: str, text: str, direction: str | None) -> str:
    """An evidence signal measured against what the recommendation asks: cuts to something it wanted
    more of or wanted created, or progress of something it asked to stop; and scrapping what it
    wanted less of is progress. ("change" asks for a different way, where a cut may be the change
    itself; growth is not read against "less", since "increase" is as often about freedoms.)"""
    if direction in ("more", "new") and label in PROGRESS and DECREASE.search(text) and not INCREASE.search(text):
        return "reversed"
    if direction == "less" and label == "reversed" and DECREASE.search(text):
        return "implemented"  # scrapping or cutting what the item wanted less of is doing what it asks
    if direction == "stop" and label in PROGRESS:
        return "reversed"
    if direction == "stop" and label == "stalled":
        return "in_progress"
    return label


def read(
    task: str, text: str, vector: np.ndarray | None = None, lead_in: str | None = None, direction: str | None = None, reported: bool = False
) -> Reading | None:
    """The reading of a passage (with its list lead-in) for a task. `reported`: a position read in
    someone else's document, only from sentences in which the government acts (None when there is none)."""
    parts = ([lead_in] if lead_in else []) + sentences(text)
    if task == "stance":
        parts = [part for part in parts if speaker(part) != "government"]
    elif reported:
        parts = [part for part in parts if government_acts(part) and ANSWERS.search(part)]
    verdict = strongest(cue_votes(parts, task))
    if reported and verdict is None:
        return None
    label, probability = weigh(task, verdict, vector)
    rule = f"cues:{task}" + (";model" if probability is not None else "")
    if task == "signal":
        said = next((part for part in reversed(parts) if classify(part, task) is not None), text)  # the sentence that decided
        turned = against_direction(label, said, direction)
        rule += f";direction:{direction}" if turned != label else ""
        label = turned
    dates = target_dates(text) if task == "signal" else []
    return Reading(
        task, label, probability, verdict.cues if verdict else (), "government" if task == "position" else speaker(text),
        dates[0][1] if dates else None, rule + (f";target:{dates[0][0]}" if dates else ""),
    )  # fmt: skip


def declared(signal: str, reading: Reading) -> Reading:
    """A curated digest's own signal (front matter `signals`) outranks the reading of its text;
    'context' means the document bears on the item without moving it."""
    label = "mention" if signal == "context" else signal
    return Reading(reading.task, label, reading.probability, (f"declared: {signal}",), reading.speaker, reading.target_date, f"declared;{reading.rule}")


def training_examples() -> list[dict]:
    text = (resources.files("tracker") / "data" / TRAINING).read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def fit_readers(embedder: Embedder) -> dict:
    """Fit one model per task on the project's labelled sentences; the spec `data/readers.json` holds."""
    examples = training_examples()
    vectors = embedder.encode([example["text"] for example in examples])
    models = {}
    for task in ("stance", "signal", "position"):
        rows = [i for i, example in enumerate(examples) if example["task"] == task]
        models[task] = fit_logistic(vectors[rows], [examples[i]["label"] for i in rows], l2=16.0).as_dict()
    digest = hashlib.sha256((resources.files("tracker") / "data" / TRAINING).read_bytes()).hexdigest()
    return {"training_sha256": digest, "model": embedder.name, "models": models}
