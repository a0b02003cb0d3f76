"""Read what a linked passage says about a recommendation: a stakeholder's stance, a government
position (stated, or reported in any kind of document), or an evidence signal.

Cue rules decide (`data/cues.json`, negation-aware, one vote per sentence, strength before
repetition; questions, calls, purposes and trends over years do not vote) and stay as the visible
explanation. A logistic model over the passage's embedding, trained on labelled sentences written
for the project (`data/training_sentences.jsonl` -> `data/readers.json`, refit with
`python -m tracker.readers`) and, through `tracker fit --readers-out`, on weak sentence labels from
the tuning pages (`fit.weak_examples`; the spec counts them), gives the probability, and names a
label alone only when it is very sure: on outside pages it reads topic more than meaning. The government's own acts are positions, never
the author's stance. A change of quantity or existence (cut, scrapped, raised) becomes a signal by
the direction the recommendation asks for, and, when the item's names are known, counts only when
done to the item ("reduce pressure on services" is no cut to the grant). A position reported in
someone else's page is read from the sentences in which the government acts that name the item
(`names.mentions`), when some do.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .attribution import government_acts, names_government, speaker, speaks_for_government, without_government
from .classify import BACKGROUND, Verdict, classify, cue_pattern, rules, target_dates
from .learn import LogisticModel, fit_logistic
from .names import ACRONYM, heads, mentions, stem_run

if TYPE_CHECKING:
    from .embed import Embedder

DEFAULT_LABEL = {"stance": "neutral", "signal": "mention", "position": "mention"}
# The model alone names a label (no cue in the passage) only when it is this sure; chosen by 2-fold
# cross-validation over the tuning pages (`tracker fit --readers-out` fits on them).
MODEL_ALONE = {"stance": 0.95, "signal": 0.7, "position": 0.9}
SENTENCE = re.compile(r"(?<=[.!?;])\s+(?=[A-Z“\"(‘'])")
PROGRESS = {"implemented", "in_progress", "planned"}
CONSEQUENCE = re.compile(r"(?:this|that|these|which)\s+(?:has|have|had|means|meant|led|leads|resulted)\b|as\s+a\s+result\b|consequently\b", re.IGNORECASE)
# What a reported position answers: a sentence where the government acts must be about the review's asks.
ANSWERS = re.compile(
    r"\b(?:recommend\w*|review|proposals?|call(?:s|ed)?\s+(?:for|to)|hewitt|report|targets?|ask\w*|idea|priorit\w*|the\s+need\s+for)\b", re.IGNORECASE
)
TRAINING = "training_sentences.jsonl"
READ_TASKS = ("stance", "signal", "position")
WEAK_WEIGHT = 0.5  # a sentence labelled by its page's reading counts less than one written for its label


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
                "rule": self.rule, "speaker": self.speaker, "reading_probability": self.probability}  # fmt: skip


def sentences(text: str) -> list[str]:
    return [part.strip() for part in SENTENCE.split(text) if part.strip()]


def focus(parts: list[str], names: tuple[str, ...]) -> list[str]:
    """The sentences of a passage that name the item, when some do: the government rejecting one
    item and working on another in the next sentence is two positions, not two votes on each."""
    named = [part for part in parts if mentions(part, names)] if names else []
    return named or parts


# A parliamentary written question is a question with no question mark: "To ask the Secretary of State ... whether ...".
WRITTEN_QUESTION = re.compile(r"^\W*(?:question\s+to\b[^:]{0,120}:\s*)?to\s+ask\b", re.IGNORECASE)


def asks(sentence: str) -> bool:
    return sentence.rstrip().endswith("?") or bool(WRITTEN_QUESTION.match(sentence))


def cue_votes(parts: list[str], task: str, names: tuple[str, ...] = ()) -> list[tuple[int, Verdict]]:
    """One verdict per sentence that has cues, with the sentence's position. A question votes for
    nothing ("Is the fund being abolished? No.", "To ask the Minister whether ..."). With the item's names, a change of quantity votes
    only when it is done to the item."""
    votes, changes_item = [], near_item(names) if task == "signal" and names else None
    for index, part in enumerate(parts):
        if task == "signal" and index and CONSEQUENCE.match(part) and BACKGROUND.search(parts[index - 1]):
            continue  # "This has meant ..." after a trend over years is more background
        verdict = None if asks(part) else stance_verdict(part, names) if task == "stance" else classify(part, task, changes_item)
        if verdict is not None:
            votes.append((index, verdict))
    return votes


OBJECT_END = re.compile(r"[,;:()\u2013\u2014]|\b(?:and|but|while|whereas|which|who|although|though|because|so)\b", re.IGNORECASE)


def near_item(names: tuple[str, ...]) -> Callable[[str, int, int], bool]:
    """Whether a cue at a span bears on the item (a change done to it, its absence regretted): the
    words of its clause just after it (what is cut) or just before it (what fell) hold an acronym of
    the item, the head word of one of its names, or two words of one name ("cut their running costs",
    not "reduce pressure on health")."""
    head_words, stems = heads(names)

    def check(text: str, start: int, end: int) -> bool:
        after = OBJECT_END.split(text[end:], maxsplit=1)[0].split()[:6]
        before = OBJECT_END.split(text[:start])[-1].split()[-5:]
        window = " ".join(before + after)
        words = set(stem_run(window).split())
        return bool(set(ACRONYM.findall(window)) & head_words) or bool(words & head_words) or any(len(name & words) >= 2 for name in stems)

    return check


def stance_verdict(sentence: str, names: tuple[str, ...] = ()) -> Verdict | None:
    """The author's stance in a sentence: regretting a government refusal supports the item ("we are
    disappointed that ministers rejected X"), and so does regretting that the item is missing ("the
    absence of a workforce plan"); otherwise the cues left once the government's own acts are cut out."""
    spec = rules()["stance"]
    if names_government(sentence):
        regret, refusal = first_cue(sentence, tuple(spec["regret"])), first_cue(sentence, tuple(spec["refusal"]))
        if regret and refusal:
            return Verdict("support", (f"{regret} + {refusal}",), 1.0, ("support",))
    if names and (missing := absence(sentence, names)):
        return Verdict("support", (missing,), 1.0, ("support",))
    return classify(without_government(sentence) if government_acts(sentence) else sentence, "stance")


def absence(sentence: str, names: tuple[str, ...]) -> str | None:
    """An absence cue whose clause holds the item ("lack of a multi-year settlement", "the workforce
    plan is still missing"), as the cue that explains a reading."""
    names_it = near_item(names)
    for pattern in cue_patterns(tuple(rules()["stance"]["absence"])):
        for found in pattern.finditer(sentence):
            if names_it(sentence, found.start(), found.end()):
                return f"{found.group(0).lower()} + item"
    return None


def first_cue(sentence: str, cues: tuple[str, ...]) -> str | None:
    return next((found.group(0).lower() for pattern in cue_patterns(cues) if (found := pattern.search(sentence))), None)


@lru_cache(maxsize=8)
def cue_patterns(cues: tuple[str, ...]) -> list[re.Pattern]:
    return [cue_pattern(cue) for cue in sorted(cues, key=len, reverse=True)]


def strongest(votes: list[tuple[int, Verdict]], order: list[str] | None = None) -> Verdict | None:
    """Strength first, then `order` (a stance's caveat does not outvote its support), then the number
    of sentences saying it, then the latest."""
    if not votes:
        return None
    tally: dict[str, tuple[float, int, int]] = {}
    for index, verdict in votes:
        strength, count, _ = tally.get(verdict.label, (0.0, 0, 0))
        tally[verdict.label] = (max(strength, verdict.score), count + 1, index)
    rank = {label: -position for position, label in enumerate(order or [])}
    label = max(tally, key=lambda name: (tally[name][0], rank.get(name, -99), *tally[name][1:]))
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
    """The label and the model's probability for it. Cues decide when there are any (they are the
    explanation a person can check, and they travel to outside text better than a model trained on
    our sentences); without cues the model names a label only when it is very sure."""
    model = reader_models().get(task)
    if model is None or vector is None or not vector.any():
        return (verdict.label if verdict else DEFAULT_LABEL[task]), None
    probabilities = dict(zip(model.labels, (float(p) for p in model.probabilities(vector.reshape(1, -1))[0])))
    if verdict is not None:
        label = verdict.label
    else:
        label = max(probabilities, key=lambda name: probabilities[name])
        label = label if probabilities[label] >= MODEL_ALONE[task] else DEFAULT_LABEL[task]
    return label, round(probabilities.get(label, 0.0), 3)


def by_direction(verdict: Verdict, direction: str | None) -> str:
    """A change of quantity or existence read against what the item asks for: cutting what it wants
    more of is a reversal, cutting what it wants less of is progress ("none" when the item is unknown).
    A change still to come that goes the item's way is a plan. An item that asks for a plan to be
    stopped (direction "stop") loses ground with every step of that plan, whatever the verb."""
    table = rules()["signal"]["by_direction"]
    key = direction or "none"
    if key == "stop" and verdict.label in PROGRESS:
        return "reversed"
    if verdict.label in table:
        label = table[verdict.label].get(key, table[verdict.label]["none"])
        return "planned" if label in PROGRESS and "planned" in verdict.found else label
    return verdict.label


def read(
    task: str,
    text: str,
    vector: np.ndarray | None = None,
    lead_in: str | None = None,
    direction: str | None = None,
    reported: bool = False,
    names: tuple[str, ...] = (),
) -> Reading | None:
    """The reading of a passage (with its list lead-in) for a task. `reported`: a position read in
    someone else's document (`reporting`; None when there is none); `names`: the item's names (which
    sentences report a position; which changes are done to the item)."""
    parts = reporting(text, lead_in, names) if reported else ([lead_in] if lead_in else []) + sentences(text)
    votes = cue_votes(parts, task, names if task in ("signal", "stance") else ())
    if task == "signal":
        votes = [(index, Verdict(by_direction(verdict, direction), verdict.cues, verdict.score)) for index, verdict in votes]
    verdict = strongest(votes, rules()[task].get("caveat_order"))
    if reported and (verdict is None or verdict.score < rules()["position"]["reported_strength"]):
        return None  # someone else's page reports a position only in so many words
    label, probability = weigh(task, verdict, vector)
    rule = f"cues:{task}" + (";model" if probability is not None else "") + (f";direction:{direction}" if task == "signal" and direction else "")
    dates = target_dates(text) if task == "signal" else []
    return Reading(
        task, label, probability, verdict.cues if verdict else (), "government" if task == "position" else speaker(text),
        dates[0][1] if dates else None, rule + (f";target:{dates[0][0]}" if dates else ""),
    )  # fmt: skip


def reporting(text: str, lead_in: str | None, names: tuple[str, ...]) -> list[str]:
    """The sentences that may report the government's position on an item: those in which it acts
    (or bullets under a lead-in it speaks) on the review's asks, said in so many words or by naming
    the item; of a passage's sentences, only those that name the item when some do."""
    by_government = lead_in is not None and speaks_for_government(lead_in)
    parts = ([lead_in] if lead_in else []) + focus(sentences(text), names)
    return [part for part in parts if (by_government or government_acts(part)) and (ANSWERS.search(f"{lead_in or ''} {part}") or mentions(part, names))]


@dataclass
class PageView:
    """The author's view across a whole page, for items the page lists without judging each one
    ("We welcome the review. It proposes X, Y and Z"): the view most passages take, if any does.
    Passages are added one at a time, so a long page is never held whole."""

    votes: dict[str, tuple[Reading, list[float]]] = field(default_factory=dict)  # label -> (first reading, each vote's probability)

    def add(self, reading: Reading | None) -> None:
        if reading is not None and reading.label != "neutral" and (reading.cues or (reading.probability or 0) >= 0.6):
            self.votes.setdefault(reading.label, (reading, []))[1].append(reading.probability or 0)

    def reading(self) -> Reading | None:
        if not self.votes:
            return None
        label = max(self.votes, key=lambda name: (len(self.votes[name][1]), sum(self.votes[name][1])))
        return self.votes[label][0]


def declared(signal: str, reading: Reading) -> Reading:
    """A curated digest's own signal (front matter `signals`) outranks the reading of its text;
    'context' means the document bears on the item without moving it."""
    label = "mention" if signal == "context" else signal
    return Reading(reading.task, label, reading.probability, (f"declared: {signal}",), reading.speaker, reading.target_date, f"declared;{reading.rule}")


def training_examples() -> list[dict]:
    text = (resources.files("tracker") / "data" / TRAINING).read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def fit_readers(embedder: Embedder, weak: list[dict] | None = None) -> dict:
    """Fit one model per task on the project's labelled sentences plus `weak` ones (labelled by their
    page, `fit.weak_examples`, weighing less); the spec `data/readers.json` holds."""
    examples = training_examples() + list(weak or [])
    weights = np.array([1.0] * (len(examples) - len(weak or [])) + [WEAK_WEIGHT] * len(weak or []))
    vectors = embedder.encode([example["text"] for example in examples])
    models = {}
    for task in READ_TASKS:
        rows = [i for i, example in enumerate(examples) if example["task"] == task]
        models[task] = fit_logistic(vectors[rows], [examples[i]["label"] for i in rows], l2=16.0, sample_weight=weights[rows]).as_dict()
    digest = hashlib.sha256((resources.files("tracker") / "data" / TRAINING).read_bytes()).hexdigest()
    return {"training_sha256": digest, "weak_examples": len(weak or []), "model": embedder.name, "models": models}


def refit(path: str | Path | None = None, weak: list[dict] | None = None) -> dict:
    """Refit the readers on the training sentences (and `weak` ones) and write the spec (default: the
    package's `data/readers.json`); run `python -m tracker.readers` after editing the sentences."""
    from .embed import get_embedder

    spec = fit_readers(get_embedder(), weak)
    target = path or str(resources.files("tracker") / "data" / "readers.json")
    with open(target, "w", encoding="utf-8") as handle:
        json.dump(spec, handle, separators=(",", ":"))
    reader_models.cache_clear()
    return spec


if __name__ == "__main__":
    written = refit()
    print(f"readers refitted on {len(training_examples())} sentences (sha256 {written['training_sha256'][:12]})")
