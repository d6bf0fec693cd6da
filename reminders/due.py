"""What is due for whom at an instant: pure functions of a `ReminderState`.

Every message is for a recipient's *local date* and is due once their local
time reaches 09:00 (the plan's digest time for weekly digests). A tick at any
later moment that day works out the same messages with the same keys, so a
late tick catches up and the outbox's unique key stops a second send.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

from bot.render.nudges import digest_message, nudge_message, rep_digest_message
from reminders.outgoing import Kind, Outgoing
from reminders.snapshot import OVERDUE_DAYS, PlanInfo, ReminderState, TaskInfo
from storage.clock import zone

NUDGE_MINUTE = 9 * 60  # 09:00 local
STALLED_AFTER = timedelta(days=7)
Rendered = tuple[str, list[dict[str, Any]]]


@dataclass(frozen=True)
class Pending:
    """A message that is due, with its key; rendered only when it is new."""

    kind: Kind
    team_id: str
    recipient: str
    subject: str
    local_date: date
    render: Callable[[], Rendered]
    thread_of_plan: int | None = None

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.kind, self.recipient, self.subject, self.local_date.isoformat())

    def outgoing(self) -> Outgoing:
        text, blocks = self.render()
        return Outgoing(
            self.kind,
            self.team_id,
            self.recipient,
            self.subject,
            self.local_date,
            text,
            blocks,
            self.thread_of_plan,
        )


def local_day(at: datetime, tz: str | None, *, after_minute: int, weekends: bool) -> date | None:
    """The local date in `tz` when it is past `after_minute` there (and not a
    weekend day unless weekends count), else None."""
    local = at.astimezone(zone(tz))
    if local.hour * 60 + local.minute < after_minute:
        return None
    if not weekends and local.weekday() >= 5:
        return None
    return local.date()


def _person_tz(state: ReminderState, plan: PlanInfo, user_id: str) -> str:
    person = state.people.get((plan.team_id, user_id))
    return (person.tz if person else None) or plan.tz


def _nudge_kind(task: TaskInfo, plan: PlanInfo, today: date) -> Kind | None:
    if task.due_date is None:
        return None
    days = (task.due_date - today).days
    if days == plan.lead_days and days > 0:
        return "nudge.due_soon"
    if days == 0:
        return "nudge.due_today"
    if -days in OVERDUE_DAYS:
        return "nudge.overdue"
    return None


def nudges(state: ReminderState) -> Iterator[Pending]:
    """Buyer and mutual tasks: in the card's thread, mentioning the assignee (or the
    plan's buyer-side people when unassigned). Seller tasks: a DM to the assignee."""
    for task in state.tasks:
        plan = state.plans[task.plan_id]
        who = task.assignee_id
        tz = _person_tz(state, plan, who) if who else plan.tz
        today = local_day(state.at, tz, after_minute=NUDGE_MINUTE, weekends=plan.weekends)
        if today is None:
            continue
        kind = _nudge_kind(task, plan, today)
        if kind is None:
            continue
        if who and state.snoozes.get((task.id, who), date.min) > today:
            continue
        to_channel = task.owner_side != "seller" and not task.internal
        if to_channel:
            mentions = [who] if who else _buyer_people(state, plan)
            render = partial(nudge_message, kind, plan, task, today, mentions)
            yield Pending(
                kind, plan.team_id, plan.channel_id, f"task:{task.id}", today, render, plan.id
            )
        elif who:
            render = partial(nudge_message, kind, plan, task, today, [who])
            yield Pending(kind, plan.team_id, who, f"task:{task.id}", today, render)


def _buyer_people(state: ReminderState, plan: PlanInfo) -> list[str]:
    """Up to five people of another team than the plan's, for an unassigned buyer task."""
    return sorted(
        uid
        for (team, uid), p in state.people.items()
        if team == plan.team_id and p.home_team_id not in (None, plan.team_id)
    )[:5]


def weekly_digests(state: ReminderState) -> Iterator[Pending]:
    """The buyer-safe weekly digest in each deal channel whose digest is due."""
    for plan_id, tasks in state.digest_tasks.items():
        plan = state.plans.get(plan_id)
        if plan is None:
            continue
        today = local_day(state.at, plan.tz, after_minute=plan.digest_minute, weekends=True)
        if today is None or today.weekday() != plan.digest_weekday:
            continue
        visible = [t for t in tasks if not t.internal]
        done = state.completed_by.get(plan_id, [])
        milestones = state.milestones.get(plan_id, [])
        render = partial(digest_message, plan, visible, done, milestones, today)
        yield Pending(
            "digest.plan_weekly", plan.team_id, plan.channel_id, f"plan:{plan.id}", today, render
        )


def rep_digests(state: ReminderState) -> Iterator[Pending]:
    """Each rep's morning DM: overdue and due-today tasks across the plans they
    own (internal ones too), and their plans with no movement for a week."""
    by_rep: dict[tuple[str, str], list[PlanInfo]] = {}
    for plan in state.plans.values():
        if (plan.team_id, plan.created_by) in state.reps:
            by_rep.setdefault((plan.team_id, plan.created_by), []).append(plan)
    open_by_plan: dict[int, list[TaskInfo]] = {}
    for t in state.tasks:
        open_by_plan.setdefault(t.plan_id, []).append(t)
    for (team, rep), plans in sorted(by_rep.items()):
        person = state.people.get((team, rep))
        if person is not None and person.mute_digests:
            continue
        first = plans[0]
        tz = _person_tz(state, first, rep)
        today = local_day(
            state.at, tz, after_minute=NUDGE_MINUTE, weekends=any(p.weekends for p in plans)
        )
        if today is None:
            continue
        urgent = [
            (p, t)
            for p in plans
            for t in open_by_plan.get(p.id, [])
            if t.due_date is not None and t.due_date <= today
        ]
        stalled = [
            p for p in plans if state.at - state.last_activity.get(p.id, state.at) >= STALLED_AFTER
        ]
        if not urgent and not stalled:
            continue
        render = partial(rep_digest_message, urgent, stalled, today)
        yield Pending("digest.rep_daily", team, rep, f"rep:{rep}", today, render)


def pending(state: ReminderState) -> Iterator[Pending]:
    """Everything due, not yet rendered: a tick renders only what isn't queued yet."""
    yield from nudges(state)
    yield from weekly_digests(state)
    yield from rep_digests(state)


def due_messages(state: ReminderState) -> list[Outgoing]:
    return [p.outgoing() for p in pending(state)]


def digests_due(candidates: list[tuple[int, str, int, int]], at: datetime) -> set[int]:
    """Which plans' weekly digest is due at `at` (their weekday, past their time)."""
    due = set()
    for plan_id, tz, weekday, minute in candidates:
        today = local_day(at, tz, after_minute=minute, weekends=True)
        if today is not None and today.weekday() == weekday:
            due.add(plan_id)
    return due
