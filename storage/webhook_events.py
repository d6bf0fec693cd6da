"""Activity becomes webhook events, in the transaction that wrote it.

Every change a service makes writes an activity row (`services._log`), which
also notes it on the session. Just before that transaction commits, the notes
are turned into events — one outbox row per endpoint per event, written in the
same transaction, so a change and its events are committed together or not at
all. Internal tasks and seller-only fields go only to endpoints added as
internal. Nothing is queued while a team has no endpoint (one indexed query).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, Final

from sqlalchemy import bindparam, event, select
from sqlalchemy.orm import Session

from reminders.delivery.outgoing import Outgoing
from reminders.webhooks import events as ev
from storage.models import Comment, Milestone, Plan, Task, WebhookEndpoint

KIND: Final = "webhook"
# Who an event goes to: every endpoint, internal ones only (internal tasks, what
# only sellers see), or the others only (what buyers see changed after sellers did).
ALL, INTERNAL, BUYER_SAFE = "all", "internal", "buyer_safe"
_NOTES = "mapbot.webhook_notes"
DataFor = Callable[[bool], dict[str, Any]]  # the event's data, for an internal endpoint or not


def recipient(endpoint_id: int) -> str:
    return f"hook:{endpoint_id}"


def endpoint_of(recipient_: str) -> int | None:
    head, _, number = recipient_.partition(":")
    return int(number) if head == "hook" and number.isdigit() else None


def note(s: Session, rows: Iterable[dict[str, Any]]) -> None:
    """Remember activity rows (as inserted) for the events at commit. Every
    service that writes activity calls this beside its INSERT."""
    s.info.setdefault(_NOTES, []).extend(
        ev.Note(
            r["plan_id"],
            r["task_id"],
            r["milestone_id"],
            r["actor_id"],
            r["actor_side"],
            r["action"],
            r["before"],
            r["after"],
            r["at"],
        )
        for r in rows
    )


@event.listens_for(Session, "before_commit")
def _before_commit(s: Session) -> None:
    notes = s.info.pop(_NOTES, None)
    if notes:
        emit(s, notes)


@event.listens_for(Session, "after_rollback")
def _after_rollback(s: Session) -> None:
    s.info.pop(_NOTES, None)  # the change is gone, and its events with it


def serialise(payload: dict[str, Any]) -> str:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def queue_event(
    s: Session,
    endpoints: list[WebhookEndpoint],
    event_type: str,
    at: datetime,
    team_id: str,
    actor: tuple[str, str] | None,
    data_for: DataFor,
    *,
    audience: str = ALL,
) -> list[Outgoing]:
    """One event: an id, and a row per endpoint of the audience; `data_for(internal)`
    builds the data for an internal endpoint or for the others."""
    event_id = ev.new_event_id(at)
    out: list[Outgoing] = []
    for ep in endpoints:
        if (audience == INTERNAL and not ep.internal) or (audience == BUYER_SAFE and ep.internal):
            continue
        body = ev.envelope(event_id, event_type, at, team_id, actor, data_for(ep.internal))
        out.append(Outgoing(KIND, team_id, recipient(ep.id), event_id, at.date(), serialise(body)))
    return out


# Built once: it runs at the commit of every change (a click's hot path).
_LIVE_ENDPOINTS = (
    select(WebhookEndpoint.id, Plan.id)
    .join(Plan, Plan.team_id == WebhookEndpoint.team_id)
    .where(
        Plan.id.in_(bindparam("plan_ids", expanding=True)),
        WebhookEndpoint.disabled_at.is_(None),
    )
    .order_by(WebhookEndpoint.id)
)


def emit(s: Session, notes: list[ev.Note]) -> int:
    # One query finds the live endpoints of the plans changed; the usual case, a
    # workspace with no webhooks, ends here.
    # (Core, ids only: no ORM loading for the usual empty answer; flushed first,
    # as Session.execute would, so what this transaction added is seen.)
    s.flush()
    found = (
        s.connection()
        .execute(_LIVE_ENDPOINTS, {"plan_ids": sorted({n.plan_id for n in notes})})
        .all()
    )
    if not found:
        return 0
    loaded = {
        ep.id: ep
        for ep in s.scalars(
            select(WebhookEndpoint).where(WebhookEndpoint.id.in_({e for e, _ in found}))
        )
    }
    by_plan: dict[int, list[WebhookEndpoint]] = {}
    for endpoint_id, plan_id in found:
        by_plan.setdefault(plan_id, []).append(loaded[endpoint_id])
    wanted = [(by_plan[n.plan_id], n) for n in notes if n.plan_id in by_plan]
    # Everything the events describe, in a fixed number of queries.
    task_ids = {n.task_id for _, n in wanted if n.task_id is not None}
    tasks = (
        {t.id: t for t in s.scalars(select(Task).where(Task.id.in_(task_ids)))} if task_ids else {}
    )
    created = {n.plan_id for _, n in wanted if n.action == "plan.create"}
    out: list[Outgoing] = []
    completed_milestones: set[tuple[int, str]] = set()
    for endpoints, n in wanted:
        plan = s.get(Plan, n.plan_id)
        if plan is None:
            continue
        team = plan.team_id
        actor = (n.actor_id, n.actor_side)
        plan_body = ev.plan_json(plan)
        if n.action == "plan.target" and n.before is None and n.plan_id in created:
            continue  # part of plan.created
        task = tasks.get(n.task_id) if n.task_id is not None else None
        if n.task_id is not None and task is None:
            continue  # removed in the same transaction
        for event_type in ev.event_types(n):
            out += queue_event(
                s,
                endpoints,
                event_type,
                n.at,
                team,
                actor,
                _data_maker(s, n, plan_body, task),
                audience=INTERNAL if task is not None and task.internal else ALL,
            )
        for m, audience in _milestones_completed(s, n, task):
            if (m.id, audience) in completed_milestones:
                continue
            completed_milestones.add((m.id, audience))
            out += queue_event(
                s,
                endpoints,
                "milestone.completed",
                n.at,
                team,
                actor,
                _milestone_data(plan_body, ev.milestone_json(m, "completed")),
                audience=audience,
            )
    if not out:
        return 0
    from reminders.delivery import enqueue  # the outbox (which imports the services)

    return enqueue(s, out, min(n.at for _, n in wanted))


def _milestone_data(plan_body: dict[str, Any], milestone: dict[str, Any]) -> DataFor:
    def data(_internal: bool) -> dict[str, Any]:
        return {"plan": plan_body, "milestone": milestone}

    return data


def _data_maker(s: Session, n: ev.Note, plan_body: dict[str, Any], task: Task | None) -> DataFor:
    def data(internal: bool) -> dict[str, Any]:
        body: dict[str, Any] = {"plan": plan_body}
        if task is not None:
            body["task"] = ev.task_json(task, internal=internal)
        if n.action == "task.comment" and task is not None:
            comment = s.scalar(
                select(Comment)
                .where(Comment.task_id == task.id, Comment.author_id == n.actor_id)
                .order_by(Comment.id.desc())
                .limit(1)
            )
            if comment is not None:
                body["comment"] = {
                    "id": comment.id,
                    "author_id": comment.author_id,
                    "author_side": comment.author_side,
                    "body": comment.body,
                }
        elif n.action != "plan.create":
            body["change"] = ev.change(n)
        return body

    return data


def _milestones_completed(s: Session, n: ev.Note, task: Task | None) -> list[tuple[Milestone, str]]:
    """Milestones this change completed, each with its audience: the buyers'
    milestone is derived from the tasks buyers see, so each side may see it
    complete at a different change."""
    if n.action == "milestone.status" and n.after == "completed" and n.milestone_id:
        m = s.get(Milestone, n.milestone_id)
        return [(m, ALL)] if m is not None else []
    if n.action != "task.status" or task is None or n.before is None:
        return []
    m = s.get(Milestone, task.milestone_id)
    if m is None:
        return []
    rows = s.execute(
        select(Task.id, Task.status, Task.internal).where(Task.milestone_id == m.id)
    ).all()
    statuses = [(status, internal) for _, status, internal in rows]
    index = next((i for i, r in enumerate(rows) if r[0] == task.id), None)
    if index is None:
        return []
    buyers, sellers = ev.milestone_completed_for(statuses, m.manual_status, n.before, index)
    if buyers and sellers:
        return [(m, ALL)]
    if buyers:
        return [(m, BUYER_SAFE)]
    return [(m, INTERNAL)] if sellers else []
