"""Plan events as webhook payloads: which activity is which event, and the JSON
each endpoint gets. Pure functions of the rows they are given.

The schema is versioned (`SCHEMA`) and published as JSON Schema in
docs/webhooks/event.v1.schema.json; a field is only ever added to a version,
never renamed or removed. The envelope is the Standard Webhooks one (`type`,
`timestamp`, `data`) with the event's `id` (also the `webhook-id` header).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from storage.rules import derive_milestone_status

SCHEMA = "mapbot.webhook.v1"
EVENT_TYPES = (
    "plan.created",
    "plan.target_moved",
    "plan.health_changed",
    "milestone.completed",
    "task.created",
    "task.assigned",
    "task.due_changed",
    "task.status_changed",
    "task.completed",
    "comment.added",
    "webhook.test",
)
# Activity actions (storage.services) and the events they are.
_BY_ACTION = {
    "plan.create": ("plan.created",),
    "plan.target": ("plan.target_moved",),
    "plan.health": ("plan.health_changed",),
    "task.add": ("task.created",),
    "task.assign": ("task.assigned",),
    "task.due": ("task.due_changed",),
    "task.comment": ("comment.added",),
}


@dataclass(frozen=True)
class Note:
    """One activity row, as the service wrote it."""

    plan_id: int
    task_id: int | None
    milestone_id: int | None
    actor_id: str
    actor_side: str
    action: str
    before: str | None
    after: str | None
    at: datetime


def event_types(note: Note) -> tuple[str, ...]:
    """The events an activity row is (milestone completion is worked out apart:
    it depends on the milestone's other tasks)."""
    if note.action == "task.status":
        done = ("task.completed",) if note.after == "completed" else ()
        return ("task.status_changed", *done)
    return _BY_ACTION.get(note.action, ())


def new_event_id(at: datetime) -> str:
    """Time-ordered and unique: `evt_` + milliseconds (hex) + 64 random bits."""
    return f"evt_{int(at.timestamp() * 1000):012x}{secrets.token_hex(8)}"


class PlanRow(Protocol):
    id: int
    team_id: str
    channel_id: str
    title: str
    target_date: date | None
    tz: str


class MilestoneRow(Protocol):
    id: int
    title: str
    position: int
    due_date: date | None
    manual_status: str | None


class TaskRow(Protocol):
    id: int
    number: int
    title: str
    milestone_id: int
    owner_side: str
    assignee_id: str | None
    status: str
    internal: bool
    due_date: date | None
    risk: str
    risk_reason: str
    notes: str
    completed_at: datetime | None


def _day(d: date | None) -> str | None:
    return d.isoformat() if d is not None else None


def _instant(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def plan_json(plan: PlanRow) -> dict[str, Any]:
    return {
        "id": plan.id,
        "title": plan.title,
        "channel_id": plan.channel_id,
        "target_date": _day(plan.target_date),
        "tz": plan.tz,
    }


def milestone_json(m: MilestoneRow, status: str) -> dict[str, Any]:
    return {
        "id": m.id,
        "title": m.title,
        "position": m.position,
        "due_date": _day(m.due_date),
        "status": status,
    }


def task_json(t: TaskRow, *, internal: bool) -> dict[str, Any]:
    """A task; `seller_only` (the internal flag, risk, its reason, notes) only
    for endpoints added as internal."""
    body: dict[str, Any] = {
        "id": t.id,
        "number": t.number,
        "title": t.title,
        "milestone_id": t.milestone_id,
        "owner_side": t.owner_side,
        "assignee_id": t.assignee_id,
        "status": t.status,
        "due_date": _day(t.due_date),
        "completed_at": _instant(t.completed_at) if t.completed_at else None,
    }
    if internal:
        body["seller_only"] = {
            "internal": t.internal,
            "risk": t.risk,
            "risk_reason": t.risk_reason,
            "notes": t.notes,
        }
    return body


def envelope(
    event_id: str,
    event_type: str,
    at: datetime,
    team_id: str,
    actor: tuple[str, str] | None,
    data: dict[str, Any],
) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "id": event_id,
        "type": event_type,
        "timestamp": _instant(at),
        "team_id": team_id,
        "actor": {"user_id": actor[0], "side": actor[1]} if actor else None,
        "data": data,
    }


def change(note: Note) -> dict[str, Any]:
    return {"before": note.before, "after": note.after}


def milestone_completed_for(
    statuses: list[tuple[str, bool]], manual: str | None, old_status: str, task_index: int
) -> tuple[bool, bool]:
    """Whether the milestone has just become completed for (buyers, sellers):
    `statuses` are its tasks' (status, internal) now, `task_index` the one that
    changed from `old_status`. A buyer's milestone is derived from what buyers
    see, as on the card (storage.readmodel)."""
    before = list(statuses)
    before[task_index] = (old_status, statuses[task_index][1])

    def done(rows: list[tuple[str, bool]], seller: bool) -> bool:
        seen = [s for s, internal in rows if seller or not internal]
        return derive_milestone_status(seen, manual) == "completed"

    return (
        done(statuses, False) and not done(before, False),
        done(statuses, True) and not done(before, True),
    )
