"""What is due for whom at an instant: pure functions of a `ReminderState`.

Every message is for a recipient's *local date* and is due once their local
time reaches 09:00 (the plan's digest time for weekly digests). A tick at any
later moment that day works out the same messages with the same keys, so a
late tick catches up and the outbox's unique key stops a second send.

    load_state(session, at, *, digest_plan_ids=None, reps_done=frozenset()) -> ReminderState
    due_messages(state) -> list[Outgoing]     # everything due at state.at, rendered
    pending(state) -> Iterator[Pending]       # the same, rendered only on .outgoing()
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial
from typing import Any

from bot.render.nudges import digest_message, nudge_message, rep_digest_message
from bot.render.summary import health_line, insight_lines
from reminders.delivery.outgoing import Kind, Outgoing
from reminders.health import SEVERITY, Health
from reminders.snapshot import NUDGE_MINUTE, OVERDUE_DAYS, PlanInfo, ReminderState, TaskInfo
from reminders.snapshot import digest_days as digest_days
from reminders.snapshot import digests_due as digests_due
from reminders.snapshot import local_day as local_day
from storage.rules import PersonFacts, Side, person_side, visible_to

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


def _side(state: ReminderState, plan: PlanInfo, user_id: str) -> Side:
    """The recipient's side from their person row; unknown is the buyer's (fail closed)."""
    p = state.people.get((plan.team_id, user_id))
    facts = PersonFacts(p.home_team_id, p.is_guest, p.side_override) if p else None
    return person_side(plan.team_id, facts)


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
        if who and _snoozed(state, task, who, today):
            continue
        # The channel is the buyer's to read; a DM is its recipient's.
        to_channel = task.owner_side != "seller" and visible_to("buyer", task.internal)
        if to_channel:
            mentions = [who] if who else state.buyer_people.get(plan.id, [])
            if not who and mentions:
                # Whoever snoozed it is not mentioned again; nobody left, no nudge.
                mentions = [u for u in mentions if not _snoozed(state, task, u, today)]
                if not mentions:
                    continue
            render = partial(nudge_message, kind, plan, task, today, mentions)
            yield Pending(
                kind, plan.team_id, plan.channel_id, f"task:{task.id}", today, render, plan.id
            )
        elif who and visible_to(_side(state, plan, who), task.internal):
            # An internal task held by a buyer (legacy data: the services refuse
            # it now) is nudged to nobody; the rep's digest still lists it.
            render = partial(nudge_message, kind, plan, task, today, [who])
            yield Pending(kind, plan.team_id, who, f"task:{task.id}", today, render)


def _snoozed(state: ReminderState, task: TaskInfo, user_id: str, today: date) -> bool:
    return state.snoozes.get((task.id, user_id), date.min) > today


def weekly_digests(state: ReminderState) -> Iterator[Pending]:
    """The buyer-safe weekly digest in each deal channel whose digest is due."""
    for plan_id, tasks in state.digest_tasks.items():
        plan = state.plans.get(plan_id)
        if plan is None:
            continue
        today = local_day(state.at, plan.tz, after_minute=plan.digest_minute, weekends=True)
        if today is None or today.weekday() != plan.digest_weekday:
            continue
        visible = [t for t in tasks if visible_to("buyer", t.internal)]
        # Completed (and not reopened since) this week, once each, by whoever last did it.
        still_done = {t.id for t in visible if t.status == "completed"}
        last_by = {tid: who for tid, who in state.completed_by.get(plan_id, [])}
        done = [(tid, who) for tid, who in last_by.items() if tid in still_done]
        milestones = state.milestones.get(plan_id, [])
        render = partial(
            _with_insight, digest_message, state, plan_id, today, plan, visible, done, milestones
        )
        yield Pending(
            "digest.plan_weekly", plan.team_id, plan.channel_id, f"plan:{plan.id}", today, render
        )


def rep_digests(state: ReminderState) -> Iterator[Pending]:
    """Each rep's morning DM: overdue and due-today tasks across the plans they
    own (internal ones too), and their plans with no movement for a week."""
    by_rep: dict[tuple[str, str], list[PlanInfo]] = {}
    # By id: the first plan's zone stands in for a rep without one, the same every tick.
    for plan in sorted(state.plans.values(), key=lambda p: p.id):
        if (plan.team_id, plan.created_by) in state.reps:
            by_rep.setdefault((plan.team_id, plan.created_by), []).append(plan)
    open_by_plan: dict[int, dict[int, TaskInfo]] = {}
    for t in [*state.tasks, *state.rep_tasks]:
        open_by_plan.setdefault(t.plan_id, {})[t.id] = t
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
        side = _side(state, first, rep)  # a rep placed on the buyer side sees what buyers see
        urgent = sorted(
            (
                (p, t)
                for p in plans
                for t in open_by_plan.get(p.id, {}).values()
                if t.due_date is not None and t.due_date <= today and visible_to(side, t.internal)
            ),
            key=lambda pt: (pt[1].due_date, pt[0].id, pt[1].number),
        )
        stalled = [
            p for p in plans if state.at - state.last_activity.get(p.id, state.at) >= STALLED_AFTER
        ]
        if not urgent and not stalled:
            continue
        # The health the tick recorded is the seller's view: a rep placed on the buyer
        # side is not told it.
        unhealthy = _unhealthy(state, plans) if side == "seller" else list
        render = partial(rep_digest_message, urgent, stalled, today, health=unhealthy)
        yield Pending("digest.rep_daily", team, rep, f"rep:{rep}", today, render)


def _with_insight(
    render: Callable[..., Rendered], state: ReminderState, plan_id: int, today: date, *args: Any
) -> Rendered:
    """A weekly digest with the plan's health and forecast, as buyers may read them:
    as the health pass recorded them for `today`, else worked out from the facts."""
    day, recorded = state.insight.get(plan_id, (None, ""))
    facts = state.facts.get(plan_id)
    if day == today:
        lines = [recorded] if recorded else []
    else:
        lines = insight_lines(facts.for_side("buyer"), today) if facts is not None else []
    return render(*args, today, insight=lines)


def _unhealthy(state: ReminderState, plans: list[PlanInfo]) -> Callable[[], list[tuple[str, str]]]:
    """The rep's plans at risk or stalled as the tick last recorded them (title, health
    line), worst first; worked out when the digest is rendered."""

    def lines() -> list[tuple[str, str]]:
        rated = [
            (p, Health(h[0], h[1]))  # type: ignore[arg-type]
            for p in plans
            if (h := state.recorded_health.get(p.id)) is not None and h[0] in SEVERITY
        ]
        rated.sort(key=lambda ph: (-SEVERITY[ph[1].state], ph[0].id))
        return [(p.title, health_line(h)) for p, h in rated]

    return lines


def pending(state: ReminderState) -> Iterator[Pending]:
    """Everything due, not yet rendered: a tick renders only what isn't queued yet."""
    yield from nudges(state)
    yield from weekly_digests(state)
    yield from rep_digests(state)


def due_messages(state: ReminderState) -> list[Outgoing]:
    return [p.outgoing() for p in pending(state)]
