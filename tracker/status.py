"""Progress status per recommendation, always with its evidence.

A status is derived, at any date, from the government's position, dated evidence signals and human
overrides (see STATUSES). Replaying the evidence in date order gives the status history; views from
government and independent assessors are kept apart and a disagreement is flagged.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import date
from itertools import pairwise

import sqlite_utils

from .provenance import SUMMARY, human_date, wording
from .register import REGISTER_METHOD, register_link_id, register_positions

NO_POSITION = "no_position_found"  # the status before any position or evidence is found
# Progress statuses: what has happened. Kept apart from the government's position (POSITIONS): a
# rejected item whose work later stalled is "stalled" in progress and still "not accepted" in position.
STATUSES: dict[str, str] = {
    NO_POSITION: "The tracker has found no government position on it and no evidence of action yet (not: the government has not responded).",
    "deferred": "The government put off a decision: it promised further work or consideration, without accepting it.",
    "noted_no_commitment": "The government noted it without committing to act on it.",
    "not_accepted": "The government rejected it and no later evidence shows action.",
    "accepted_no_action_found": "Accepted (fully, in principle or in part); the tracker has found no evidence of action yet.",
    "planned": "A dated plan or commitment to act, not yet under way.",
    "in_progress": "Evidence that implementation is under way.",
    "implemented": "Evidence that it has been done.",
    "stalled": "Work was paused, delayed or found off track.",
    "reversed": "Action went the other way (cut, withdrawn, abolished).",
}
# The government's stated position on a recommendation, as the tracker records it.
POSITIONS: dict[str, str] = {
    "accepted": "The government accepted it.",
    "accepted_in_principle": "The government accepted its aim or intent, not necessarily the means proposed.",
    "partially_accepted": "The government accepted part of it.",
    "further_work": "The government deferred a decision, promising further work or consideration.",
    "noted": "The government noted it without committing to act.",
    "not_accepted": "The government rejected it.",
}
SIGNAL_STATUS = {s: s for s in ("planned", "in_progress", "implemented", "stalled", "reversed")}
POSITION_STATUS = {
    "accepted": "accepted_no_action_found",
    "accepted_in_principle": "accepted_no_action_found",
    "partially_accepted": "accepted_no_action_found",
    "further_work": "deferred",
    "noted": "noted_no_commitment",
    "not_accepted": "not_accepted",
}
METHOD_RANK = {"register": 5, "response_layout": 4, "explicit": 3, "named": 2, "semantic": 1}
METHOD_CONFIDENCE = {"register": 0.95, "response_layout": 0.95, "explicit": 0.9, "named": 0.75, "semantic": 0.6}
MACHINE_METHODS = {"named", "semantic"}  # links a model judged: they decide alone only above the auto threshold
DOCUMENT_CONFIDENCE = {"high": 1.0, "medium": 0.8, "low": 0.6}
SIGNAL_SEVERITY = {"reversed": 5, "stalled": 4, "implemented": 3, "in_progress": 2, "planned": 1}
# A machine link's progress signal decides a status alone only when the sentence reader is this sure of
# its label as well: chosen by 2-fold cross-validation over the tuning pages, where it raised the share
# of machine-set statuses that a reader also gives from 0.70 to 0.90 (README, "Status changes").
SIGNAL_READING_AUTO = 0.7
POSITIVE = {"planned", "in_progress", "implemented"}
NEGATIVE = {"stalled", "reversed"}


@dataclass
class Evidence:
    link_id: str
    task: str
    label: str
    method: str
    score: float | None
    quote: str
    document_id: int | None
    document_title: str
    publisher: str | None
    date: str | None
    url: str | None
    assessor: str
    target_date: str | None
    confirmed: bool
    document_confidence: str | None = None
    probability: float | None = None  # the link scorer's, for machine links
    auto_threshold: float | None = None  # the probability at which the scorer decides alone
    date_precision: str | None = None  # day, month, year or unverified: how the date may be shown
    wording: str | None = None  # summary (the tracker's words) or quote (the document's): `tracker.provenance`
    start: int | None = None  # where its passage starts in the document
    reading_probability: float | None = None  # how sure the sentence reader was of the label (None: no model)

    @classmethod
    def from_link(cls, row: dict, confirmed: bool = False) -> Evidence:
        """A stored link as evidence; its document's columns (title, publisher, published, url,
        assessor, confidence, date_precision, format) when the row was joined to them."""
        return cls(
            row["id"], row["task"], row["label"], row["method"], row["score"], row["quote"], row["document_id"],
            row.get("title") or "", row.get("publisher"), row.get("published"), row.get("url"), row.get("assessor") or "independent",
            row["target_date"], confirmed, row.get("confidence"), row["probability"], row["threshold"], row.get("date_precision"),
            wording(row["format"]) if "format" in row else None, row["start"], row["reading_probability"],
        )  # fmt: skip

    @property
    def confidence(self) -> float:
        if self.confirmed:
            return 1.0
        method = self.probability if self.method in MACHINE_METHODS and self.probability is not None else METHOD_CONFIDENCE.get(self.method, 0.5)
        return round(method * DOCUMENT_CONFIDENCE.get(self.document_confidence or "", 0.9), 2)

    def cite(self) -> str:
        who = self.publisher or self.document_title
        return f"{who}, {human_date(self.date, self.date_precision)}"


@dataclass
class Status:
    recommendation_id: int
    status: str
    reason: str
    confidence: float
    since: str | None = None
    position: str | None = None
    deciding: Evidence | None = None
    government_view: str | None = None
    independent_view: str | None = None
    disagreement: bool = False
    override_note: str | None = None
    evidence: list[Evidence] = field(default_factory=list)


# Who speaks in a document, for status: declared at ingest, else the government for its own response.
ASSESSOR_SQL = "coalesce(d.assessor, case when d.kind = 'government_response' then 'government' else 'independent' end)"


def load_evidence(db: sqlite_utils.Database, as_of: str | None = None, decisions: dict[str, str] | None = None) -> dict[int, list[Evidence]]:
    """Usable links per recommendation, dated on or before `as_of`; rejected links left out.
    `decisions` (link id: confirm or reject) are read as if recorded last: what a decision would do."""
    recorded = db.query("select link_id, action from overrides where action in ('confirm', 'reject') order by id")
    overrides = {row["link_id"]: row["action"] for row in recorded} | (decisions or {})
    rows = db.query(
        f"""select l.id, l.recommendation_id, l.task, l.label, l.method, l.score, l.quote, l.target_date, l.probability, l.threshold, l.start, l.reading_probability,
        d.id as document_id, d.title, d.publisher, d.published, d.date_precision, d.format, d.url, d.confidence, {ASSESSOR_SQL} as assessor,
        r.parent_id
        from links l join documents d on d.id = l.document_id join recommendations r on r.id = l.recommendation_id
        where (:as_of is null or d.published is null or d.published <= :as_of)
        order by d.published, l.id""",
        {"as_of": as_of},
    )
    evidence: dict[int, list[Evidence]] = {}
    for row in rows:
        if overrides.get(row["id"]) == "reject":
            continue
        item = Evidence.from_link(row, confirmed=overrides.get(row["id"]) == "confirm")
        evidence.setdefault(row["parent_id"] or row["recommendation_id"], []).append(item)
    for record in register_positions(db):
        if as_of is None or not record.get("date") or record["date"] <= as_of:
            evidence.setdefault(record["recommendation_id"], []).append(register_evidence(record))
    return evidence


def register_evidence(record: dict) -> Evidence:
    """A position recorded in the register (`tracker.register`), as evidence: never a machine link."""
    return Evidence(
        register_link_id(record["slug"]), "position", record["value"], REGISTER_METHOD, None, record.get("summary") or "", None,
        record.get("title") or "Government response (recorded in the register)", record.get("publisher"), record.get("date"),
        record.get("url"), "government", None, False, record.get("confidence"), date_precision=record.get("date_precision"), wording=SUMMARY,
    )  # fmt: skip


def strongest(items: list[Evidence], key=lambda e: 0) -> Evidence:
    return max(items, key=lambda e: (e.confirmed, e.date or "", METHOD_RANK.get(e.method, 0), key(e), e.score or 0))


def decisive_sql(decision: str) -> str:
    """decisive() in SQL, for the published link views: `l` is the link, `decision` the SQL of a
    person's latest decision on it."""
    machine = ", ".join(f"'{m}'" for m in sorted(MACHINE_METHODS))
    return (
        f"case when {decision} = 'confirm' or l.method not in ({machine}) then 1 "
        "when l.probability is not null and l.threshold is not null and l.probability >= l.threshold "
        f"and (l.task != 'signal' or l.reading_probability is null or l.reading_probability >= {SIGNAL_READING_AUTO}) then 1 else 0 end"
    )


def decisive(item: Evidence) -> bool:
    """Machine links (similarity, names) decide a status alone only when the link scorer is sure
    enough (its probability reaches the auto threshold chosen for link precision >= 0.9) and, for a
    progress signal, the sentence reader is sure of its label too (`SIGNAL_READING_AUTO`); otherwise
    they are shown as evidence and wait for a person to confirm them."""
    if item.confirmed or item.method not in MACHINE_METHODS:
        return True
    sure_link = item.probability is not None and item.auto_threshold is not None and item.probability >= item.auto_threshold
    sure_reading = item.task != "signal" or item.reading_probability is None or item.reading_probability >= SIGNAL_READING_AUTO
    return sure_link and sure_reading


def latest_signal(items: list[Evidence]) -> Evidence | None:
    """The newest document's signal; between documents of one date, the most severe."""
    signals = document_signals([e for e in items if e.task == "signal" and e.label in SIGNAL_STATUS and decisive(e)])
    return strongest(signals, key=lambda e: SIGNAL_SEVERITY[e.label]) if signals else None


def document_signals(signals: list[Evidence]) -> list[Evidence]:
    """One signal per document: the one a person confirmed; else a setback (stalled, reversed)
    anywhere on the page, the most severe, since a watchdog's verdict often follows its account of
    the plans; else its earliest passage's, because a page states its news first (headline, lede)
    and repeating a word further down should not outvote it."""
    chosen: dict[int | str, Evidence] = {}
    setback = {label: -severity for label, severity in SIGNAL_SEVERITY.items() if label in NEGATIVE}
    for item in sorted(signals, key=lambda e: (not e.confirmed, setback.get(e.label, 0), e.start if e.start is not None else 0)):
        chosen.setdefault(item.document_id if item.document_id is not None else item.link_id, item)
    return list(chosen.values())


def government_position(items: list[Evidence]) -> Evidence | None:
    positions = [e for e in items if e.task == "position" and e.label in POSITION_STATUS and decisive(e)]
    if not positions:
        return None
    return max(positions, key=lambda e: (e.confirmed, METHOD_RANK.get(e.method, 0), e.confidence, e.date or ""))


def decide(recommendation_id: int, items: list[Evidence], override: dict | None = None) -> Status:
    """The status a person would give from this evidence, with a one-sentence reason."""
    position = government_position(items)
    signal = latest_signal(items)
    government = latest_signal([e for e in items if e.assessor == "government"])
    independent = latest_signal([e for e in items if e.assessor != "government"])
    disagreement = bool(
        government and independent
        and ({government.label, independent.label} & POSITIVE) and ({government.label, independent.label} & NEGATIVE)
    )  # fmt: skip
    government_view = f"{government.label} ({government.cite()})" if government else None
    independent_view = f"{independent.label} ({independent.cite()})" if independent else None
    stated = f"The government's position: {position.label.replace('_', ' ')} ({position.cite()})" if position else "No government position found"
    if override:
        return Status(
            recommendation_id, override["status"], f"Set by a person on {override['effective']}: {override['note']}",
            1.0, override["effective"], position.label if position else None, None, government_view=government_view, independent_view=independent_view,
            disagreement=disagreement, override_note=override["note"], evidence=items,
        )  # fmt: skip
    if signal:
        slipped = slipped_deadline(items)
        reason = f"{stated}; latest evidence ({signal.cite()}) reads as {signal.label.replace('_', ' ')}" + (f"; {slipped}" if slipped else "") + "."
        return Status(
            recommendation_id, SIGNAL_STATUS[signal.label], reason, signal.confidence, signal.date,
            position.label if position else None, signal, government_view=government_view, independent_view=independent_view, disagreement=disagreement, evidence=items,
        )  # fmt: skip
    if position:
        return Status(
            recommendation_id, POSITION_STATUS[position.label], f"{stated}; no dated evidence of action since.",
            position.confidence, position.date, position.label, position, government_view=government_view, independent_view=independent_view, disagreement=disagreement, evidence=items,
        )  # fmt: skip
    return Status(
        recommendation_id,
        NO_POSITION,
        "No government position or evidence of action found.",
        0.5,
        evidence=items,
        government_view=government_view,
        independent_view=independent_view,
    )


def slipped_deadline(items: list[Evidence]) -> str | None:
    """'target moved from X to Y' when a later document gives a later target date."""
    targets = [(e.date or "", e.target_date) for e in items if e.target_date]
    for (first_date, first), (later_date, later) in pairwise(targets):
        if later_date > first_date and later > first:
            return f"target date moved from {first} to {later}"
    return None


def all_status_overrides(db: sqlite_utils.Database) -> list[dict]:
    """Every human-set status, oldest first, with the recommendation it names."""
    return list(
        db.query(
            """select o.*, r.id as recommendation_id from overrides o join recommendations r
            on r.review = o.review and (r.key = o.recommendation_key or r.slug = o.recommendation_key or r.label = o.recommendation_key)
            where o.action = 'status' order by o.id"""
        )
    )


def status_overrides(overrides: list[dict], as_of: str | None) -> dict[int, dict]:
    """The latest human-set status per recommendation, effective on or before `as_of`."""
    return {row["recommendation_id"]: row for row in overrides if as_of is None or row["effective"] <= as_of}


def derive_statuses(db: sqlite_utils.Database, as_of: str | None = None, history: list[dict] | None = None) -> list[Status]:
    """Status of every top-level recommendation on `as_of` (default: today, all evidence). `since`
    is the day the current status began (from the replayed `history`), not the latest evidence's."""
    evidence = load_evidence(db, as_of)
    overrides = status_overrides(all_status_overrides(db), as_of)
    ids = [row[0] for row in db.execute("select id from recommendations where parent_id is null order by id")]
    statuses = [decide(rec_id, evidence.get(rec_id, []), overrides.get(rec_id)) for rec_id in ids]
    return since_from_history(statuses, replay_history(db, as_of) if history is None else history)


def since_from_history(statuses: list[Status], history: list[dict]) -> list[Status]:
    """Set each status's `since` to the date of its last transition when that led to it; none when
    the status never changed (no position found from the start)."""
    last = {row["recommendation_id"]: row for row in history}
    for status in statuses:
        row = last.get(status.recommendation_id)
        status.since = row["date"] if row and row["to_status"] == status.status else None
    return statuses


def replay_history(db: sqlite_utils.Database, as_of: str | None = None) -> list[dict]:
    """Transitions per recommendation, by replaying evidence and overrides (up to `as_of`) in date order."""
    evidence = load_evidence(db, as_of)
    overrides = [o for o in all_status_overrides(db) if as_of is None or o["effective"] <= as_of]
    rows: list[dict] = []
    for rec_id in [row[0] for row in db.execute("select id from recommendations where parent_id is null order by id")]:
        items = evidence.get(rec_id, [])
        own = [o for o in overrides if o["recommendation_id"] == rec_id]
        dates = sorted({e.date for e in items if e.date} | {o["effective"] for o in own})
        previous = NO_POSITION
        for day in dates:
            status = decide(rec_id, [e for e in items if (e.date or "") <= day], status_overrides(own, day).get(rec_id))
            if status.status != previous:
                deciding = status.deciding
                rows.append(
                    {"recommendation_id": rec_id, "from_status": previous, "to_status": status.status, "date": day,
                     "link_id": deciding.link_id if deciding else None, "quote": deciding.quote if deciding else status.override_note,
                     "document_id": deciding.document_id if deciding else None, "reason": status.reason}
                )  # fmt: skip
                previous = status.status
    return rows


def status_row(status: Status, as_of: str) -> dict:
    deciding = status.deciding
    return {
        "recommendation_id": status.recommendation_id,
        "status": status.status,
        "since": status.since,
        "reason": status.reason,
        "confidence": status.confidence,
        "position": status.position,
        "deciding_link": deciding.link_id if deciding else None,
        "quote": deciding.quote if deciding else None,
        "document_id": deciding.document_id if deciding else None,
        "document_title": deciding.document_title if deciding else None,
        "publisher": deciding.publisher if deciding else None,
        "date": deciding.date if deciding else None,
        "url": deciding.url if deciding else None,
        "government_view": status.government_view,
        "independent_view": status.independent_view,
        "disagreement": int(status.disagreement),
        "override_note": status.override_note,
        "evidence": json.dumps([asdict(e) for e in status.evidence], ensure_ascii=False),
        "as_of": as_of,
    }


def refresh_statuses(db: sqlite_utils.Database) -> list[Status]:
    """Recompute and store current statuses and the full history, in one transaction."""
    history = replay_history(db)
    statuses = derive_statuses(db, history=history)
    today = date.today().isoformat()
    labels = dict(db.execute("select id, label from recommendations").fetchall())
    with db.atomic():
        db.execute("delete from statuses")
        db.execute("delete from status_history")
        db.table("statuses").insert_all(({**status_row(s, today), "label": labels.get(s.recommendation_id)} for s in statuses), pk="recommendation_id")
        db.table("status_history").insert_all(history)
    return statuses


def status_counts(statuses: list[Status]) -> dict[str, int]:
    counts = {name: 0 for name in STATUSES}
    for status in statuses:
        counts[status.status] = counts.get(status.status, 0) + 1
    return counts


def what_changed(db: sqlite_utils.Database, before: dict[int, str], document_ids: list[int]) -> dict:
    """Digest of what new documents did: links found, positions and signals, statuses changed."""
    labels = {row["id"]: row["label"] for row in db.query("select id, label from recommendations")}
    links = [
        {"recommendation": labels.get(row["recommendation_id"]), "task": row["task"], "label": row["label"],
         "method": row["method"], "link_id": row["id"], "quote": row["quote"]}
        for row in db.query(
            f"select * from links where document_id in ({','.join('?' * len(document_ids))}) order by passage_id",
            document_ids,
        )
    ] if document_ids else []  # fmt: skip
    changes = []
    for row in db.query("select recommendation_id, status, reason, quote from statuses"):
        previous = before.get(row["recommendation_id"])
        if previous != row["status"]:
            changes.append(
                {"recommendation": labels.get(row["recommendation_id"]), "before": previous, "after": row["status"],
                 "reason": row["reason"], "quote": row["quote"]}
            )  # fmt: skip
    return {"links": links, "status_changes": changes}
