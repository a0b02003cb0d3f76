"""Decisions by people, and their audit trail.

A person confirms or rejects a machine link, or sets a status by hand, from the terminal or the
review page. Each decision is one appended row of `overrides` saying who, when, from where, why, on
which recommendation, and its status before and after. The table is append-only (a trigger refuses
updates and deletes), so a decision is undone only by a later decision, and link ids are derived
from the document, passage and recommendation, so decisions survive relinking and rebuilds.
"""

from __future__ import annotations

import getpass
import os
from dataclasses import asdict, dataclass
from datetime import date

import sqlite_utils

from .db import utcnow
from .errors import TrackerError
from .export import rows_csv
from .recommendations import resolve
from .status import STATUSES, all_status_overrides, decide, load_evidence, refresh_statuses, status_overrides

LINK_ACTIONS = ("confirm", "reject")
ORIGINS = ("cli", "web")
MAX_NOTE = 2000  # characters: a reason, not a document
AUDIT_COLUMNS = ["id", "created_at", "actor", "origin", "action", "recommendation", "link_id", "status",
                 "status_before", "status_after", "effective", "note", "source"]  # fmt: skip


class DecisionError(TrackerError):
    """A decision that cannot be recorded as asked (unknown link, bad action, note too long)."""


class AlreadyDecided(DecisionError):
    """Someone decided the link after the reviewer saw it: nothing was recorded."""


@dataclass
class Decision:
    """One recorded decision and the status change it caused (`recorded` is False when the same
    decision by the same person was already the latest: a repeated click changes nothing)."""

    id: int
    action: str
    actor: str
    origin: str
    recommendation: str | None
    status_before: str | None
    status_after: str | None
    link_id: str | None = None
    note: str = ""
    created_at: str = ""
    recorded: bool = True

    @property
    def changed(self) -> bool:
        return self.status_before != self.status_after

    def as_dict(self) -> dict:
        return {**asdict(self), "changed": self.changed}


def cli_actor() -> str:
    """Who runs a terminal command: TRACKER_ACTOR, else the login name."""
    return os.environ.get("TRACKER_ACTOR") or getpass.getuser()


def checked_note(note: str | None) -> str:
    """The note, stripped; refused (nothing written) when longer than MAX_NOTE characters."""
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise DecisionError(f"the note has {len(note):,} characters; at most {MAX_NOTE:,} are kept: shorten it")
    return note


def latest_decision(db: sqlite_utils.Database, link_id: str) -> dict | None:
    found = list(db.query("select * from overrides where link_id = ? and action in ('confirm', 'reject') order by id desc limit 1", [link_id]))
    return found[0] if found else None


def link_target(db: sqlite_utils.Database, link_id: str) -> dict:
    """The top-level recommendation a link counts for (its id and label)."""
    found = list(
        db.query(
            """select coalesce(r.parent_id, r.id) as top_id, coalesce(p.label, r.label) as label from links l
            join recommendations r on r.id = l.recommendation_id left join recommendations p on p.id = r.parent_id where l.id = ?""",
            [link_id],
        )
    )
    if not found:
        raise DecisionError(f"no link {link_id}")
    return found[0]


def status_if(db: sqlite_utils.Database, top_id: int, decisions: dict[str, str] | None = None, override: dict | None = None) -> str:
    """The status `top_id` would have with the recorded decisions plus `decisions` (link id: action)
    and, when given, `override` as the latest status set by hand."""
    evidence = load_evidence(db, decisions=decisions).get(top_id, [])
    override = override or status_overrides(all_status_overrides(db), None).get(top_id)
    return decide(top_id, evidence, override).status


def _append(db: sqlite_utils.Database, row: dict) -> Decision:
    """Write one audit row and derive statuses again, inside the caller's transaction."""
    row = {"created_at": utcnow(), "effective": date.today().isoformat(), **row}
    row["id"] = int(db.table("overrides").insert(row).last_pk or 0)
    refresh_statuses(db)
    return decision_of(row)


def decision_of(row: dict) -> Decision:
    return Decision(row["id"], row["action"], row.get("actor") or "", row.get("origin") or "", row.get("recommendation"), row.get("status_before"),
                    row.get("status_after"), row.get("link_id"), row.get("note") or "", row.get("created_at") or "")  # fmt: skip


def decide_link(
    db: sqlite_utils.Database, link_id: str, action: str, actor: str, origin: str = "cli", note: str | None = "", seen: int | None = None
) -> Decision:
    """Confirm or reject a link. `seen` is the id of the latest decision on it the person saw (0: none);
    when someone decided since, nothing is written and AlreadyDecided says who (the same decision by
    the same person again is not an error: it returns the first, unrecorded again)."""
    if action not in LINK_ACTIONS:
        raise DecisionError(f"unknown decision {action!r}; choose from {', '.join(LINK_ACTIONS)}")
    note = checked_note(note)
    with db.atomic():  # BEGIN IMMEDIATE: two people deciding at once are taken one after the other
        target = link_target(db, link_id)
        latest = latest_decision(db, link_id)
        if seen is not None and (latest["id"] if latest else 0) != seen:
            assert latest is not None  # a decision was recorded after `seen`
            if latest["action"] == action and latest["actor"] == actor:
                return Decision(**{**asdict(decision_of(latest)), "recorded": False})
            raise AlreadyDecided(f"link {link_id} was {latest['action']}ed by {latest['actor'] or 'someone'} at {latest['created_at']} (UTC): nothing changed")
        row = {"action": action, "link_id": link_id, "note": note, "actor": actor, "origin": origin, "recommendation": target["label"],
               "status_before": status_if(db, target["top_id"]), "status_after": status_if(db, target["top_id"], {link_id: action})}  # fmt: skip
        return _append(db, row)


def set_status(db: sqlite_utils.Database, reference: str, status: str, note: str, actor: str, origin: str = "cli", **fields: str | None) -> Decision:
    """Set a recommendation's status by hand (`fields`: review, source, effective), recorded with
    the status it had before."""
    if status not in STATUSES:
        raise DecisionError(f"unknown status {status!r}; choose from {', '.join(STATUSES)}")
    note = checked_note(note)
    if not note:
        raise DecisionError("a status set by hand needs a note saying why")
    with db.atomic():
        rec = resolve(db, reference, fields.pop("review", None))
        top_id = rec["parent_id"] or rec["id"]
        effective = fields.pop("effective", None) or date.today().isoformat()
        row = {"action": "status", "review": rec["review"], "recommendation_key": rec["key"], "status": status, "note": note, "actor": actor,
               "origin": origin, "recommendation": rec["label"], "effective": effective, "status_before": status_if(db, top_id),
               "status_after": status_if(db, top_id, override={"status": status, "effective": effective, "note": note}), **fields}  # fmt: skip
        return _append(db, row)


def audit_rows(db: sqlite_utils.Database, top_id: int | None = None) -> list[dict]:
    """Every decision, oldest first, or those about one top-level recommendation (its parts included):
    its statuses set by hand, decisions on its links, and rows that name it."""
    if top_id is None:
        return list(db.query(f"select {', '.join(AUDIT_COLUMNS)} from overrides order by id"))
    ids = [row[0] for row in db.execute("select id from recommendations where ? in (id, parent_id)", [top_id])]
    label = db.execute("select label from recommendations where id = ?", [top_id]).fetchone()
    by_hand = [o["id"] for o in all_status_overrides(db) if o["recommendation_id"] == top_id]
    return list(
        db.query(
            f"""select {", ".join(AUDIT_COLUMNS)} from overrides where recommendation = ? or id in ({", ".join("?" * len(by_hand))})
            or link_id in (select id from links where recommendation_id in ({", ".join("?" * len(ids))})) order by id""",
            [label[0] if label else None, *by_hand, *ids],
        )
    )


def audit_csv(rows: list[dict]) -> str:
    return rows_csv(rows, AUDIT_COLUMNS)
