"""Writes for plan health and the shared summary: the plan's thresholds, the
health last recorded (a change is an activity row), and the summary a seller
shares in the channel (an outbox row, delivered like every other message)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, or_, select, update
from sqlalchemy.orm import Session

from storage import clock, crm, webhook_events
from storage.db import insert_for
from storage.models import Activity, Outbox, Plan, PlanHealth
from storage.plan_facts import HEALTH_ACTION, HealthSettings
from storage.rules import Actor
from storage.services import (
    SLACK_SYSTEM_USER,
    Forbidden,
    Invalid,
    _require_same_team,
    log_plan_event,
)

THRESHOLD_MAX = 365
SUMMARY_KIND = "summary.shared"  # the outbox kind of a summary shared in the channel


@dataclass(frozen=True)
class Assessed:
    """One plan's health as worked out on its local date."""

    plan_id: int
    state: str
    reasons: tuple[str, ...]
    day: date
    # A buyer's copy's health and forecast lines, on the plan's digest day (else none).
    buyer_insight: tuple[str, ...] = ()


def _row(s: Session, plan_id: int) -> PlanHealth:
    row = s.get(PlanHealth, plan_id)
    if row is None:
        row = PlanHealth(plan_id=plan_id, reasons="")
        s.add(row)
    return row


def set_thresholds(s: Session, actor: Actor, plan: Plan, changes: dict[str, int | None]) -> None:
    """Set some of the plan's health thresholds (None: back to the default).
    Deciding what counts as trouble is the seller team's call alone."""
    _require_same_team(plan, actor)
    if actor.side != "seller":
        raise Forbidden("Only the seller team can change how plan health is judged.")
    known = set(HealthSettings.__dataclass_fields__)
    for name, value in changes.items():
        if name not in known:
            raise Invalid("There is no health setting {name}.", name=name)
        if value is not None and not 0 < value <= THRESHOLD_MAX:
            raise Invalid("A threshold is a number from 1 to {most}.", most=THRESHOLD_MAX)
    row = _row(s, plan.id)
    for name, value in changes.items():
        before = getattr(row, name)
        setattr(row, name, value)
        # Through the activity writer: the card (its health line) and the CRM follow.
        log_plan_event(
            s,
            actor,
            plan,
            "plan.health_rule",
            before=None if before is None else str(before),
            after=f"{name}={'default' if value is None else value}",
        )


def record(s: Session, assessed: Sequence[Assessed], recorded: dict[int, str | None]) -> int:
    """Keep each plan's latest health; a change of state (against `recorded`, what
    the caller read before) is an activity row by Slack's system user, before →
    after. Safe beside another process doing the same: the state moves by a
    conditional UPDATE, and only the process whose UPDATE moved it logs the
    change. Returns how many plans changed."""
    if not assessed:
        return 0
    at = clock.now()
    dialect = s.get_bind().dialect.name
    upsert = insert_for(dialect)
    s.execute(
        upsert(PlanHealth).on_conflict_do_nothing(index_elements=["plan_id"]),
        [{"plan_id": a.plan_id, "reasons": ""} for a in assessed],
    )
    same = [a for a in assessed if recorded.get(a.plan_id) == a.state]
    if same:
        table = cast(Table, PlanHealth.__table__)  # Core: one executemany, no ORM bookkeeping
        s.connection().execute(
            update(table)
            .where(table.c.plan_id == bindparam("pid"))
            .values(
                reasons=bindparam("why"),
                assessed_on=bindparam("day"),
                buyer_insight=bindparam("lines"),
            ),
            [
                {
                    "pid": a.plan_id,
                    "why": "\n".join(a.reasons),
                    "day": a.day,
                    "lines": "\n".join(a.buyer_insight) or None,
                }
                for a in same
            ],
        )
    changes: list[dict[str, Any]] = []
    for a in assessed:
        if recorded.get(a.plan_id) == a.state:
            continue
        moved = s.execute(
            update(PlanHealth)
            .where(
                PlanHealth.plan_id == a.plan_id,
                or_(PlanHealth.state.is_(None), PlanHealth.state != a.state),
            )
            .values(
                state=a.state,
                reasons="\n".join(a.reasons),
                assessed_on=a.day,
                buyer_insight="\n".join(a.buyer_insight) or None,
            )
        )
        if moved.rowcount:  # type: ignore[attr-defined]
            changes.append(
                {
                    "plan_id": a.plan_id,
                    "task_id": None,
                    "milestone_id": None,
                    "actor_id": SLACK_SYSTEM_USER,
                    "actor_side": "seller",
                    "action": HEALTH_ACTION,
                    "before": recorded.get(a.plan_id),
                    "after": a.state,
                    "at": at,
                }
            )
    if changes:
        s.execute(insert(Activity), changes)
        webhook_events.note(s, changes)  # plan.health_changed, queued at commit
        crm.mark_pushes(s, [c["plan_id"] for c in changes])  # their deals show health
    return len(changes)


def share_summary(
    s: Session,
    actor: Actor,
    plan: Plan,
    text: str,
    blocks: list[dict[str, Any]],
    today: date,
    version: str,
) -> bool:
    """Queue the buyer-safe summary for the plan's channel. `version` names the
    state of the plan it shows: sharing the same summary twice posts it once.
    Returns whether it was queued now (False: already queued)."""
    _require_same_team(plan, actor)
    if actor.side != "seller":
        raise Forbidden("Only the seller team can post the summary in the channel.")
    subject = f"plan:{plan.id}:{version}"[:64]
    exists = s.scalar(
        select(Outbox.id).where(
            Outbox.kind == SUMMARY_KIND,
            Outbox.recipient == plan.channel_id,
            Outbox.subject == subject,
            Outbox.local_date == today,
        )
    )
    if exists is not None:
        return False
    at = clock.now()
    s.add(
        Outbox(
            kind=SUMMARY_KIND,
            team_id=plan.team_id,
            recipient=plan.channel_id,
            subject=subject,
            local_date=today,
            text=text,
            blocks=json.dumps(blocks),
            state="pending",
            attempts=0,
            next_attempt_at=at,
            created_at=at,
        )
    )
    return True
