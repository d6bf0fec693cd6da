"""What the reminder rules read, loaded in a fixed number of statements however
many plans there are (the tick runs every minute over every workspace)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Executable, and_, func, select
from sqlalchemy.orm import Session

from storage import bulk
from storage.clock import as_utc, today_in, zone
from storage.models import (
    Activity,
    Milestone,
    Person,
    Plan,
    PlanHealth,
    Snooze,
    Stakeholder,
    Task,
)
from storage.plan_facts import PlanFacts, plan_facts
from storage.rules import PersonFacts, person_side, visible_to

OVERDUE_DAYS = (1, 4, 7, 10)  # overdue nudges: day 1, then every 3 days, at most 4 times
WEEK = timedelta(days=7)
NUDGE_MINUTE = 9 * 60  # nudges and rep digests: 09:00 in the person's zone
BUYERS_MENTIONED = 5  # an unassigned buyer task mentions at most this many buyers


@dataclass(frozen=True)
class PlanInfo:
    id: int
    team_id: str
    channel_id: str
    title: str
    tz: str
    target_date: date | None
    created_by: str
    card_ts: str | None
    lead_days: int
    digest_weekday: int
    digest_minute: int
    weekends: bool


class TaskInfo(NamedTuple):
    # A tuple, not a frozen dataclass: the Monday pass makes one per open task of
    # every digest plan (tens of thousands), and a frozen dataclass's __init__
    # sets each field through object.__setattr__.
    id: int
    plan_id: int
    number: int
    title: str
    owner_side: str
    assignee_id: str | None
    status: str
    internal: bool
    due_date: date | None
    risk: str
    milestone_id: int


@dataclass(frozen=True)
class PersonInfo:
    user_id: str
    name: str
    tz: str | None
    home_team_id: str | None
    is_guest: bool
    side_override: str | None
    mute_digests: bool


@dataclass
class ReminderState:
    """Everything due-related for the instant `at`."""

    at: datetime
    plans: dict[int, PlanInfo] = field(default_factory=dict)
    tasks: list[TaskInfo] = field(default_factory=list)  # open tasks with a due date nearby
    people: dict[tuple[str, str], PersonInfo] = field(default_factory=dict)  # (team, user)
    snoozes: dict[tuple[int, str], date] = field(default_factory=dict)  # (task, user) → until
    last_activity: dict[int, datetime] = field(default_factory=dict)  # plan → latest change
    reps: set[tuple[str, str]] = field(default_factory=set)  # (team, rep) still to digest today
    # Open tasks due on or before any zone's today in those reps' plans, whatever
    # the nudge cadence (the rep digest lists every overdue task).
    rep_tasks: list[TaskInfo] = field(default_factory=list)
    # Buyer-side people on each deal (stakeholders, then assignees), for plans with
    # an unassigned buyer task to nudge about: never another deal's buyers.
    buyer_people: dict[int, list[str]] = field(default_factory=dict)
    # Weekly digests, for the plans whose digest is due (else empty):
    digest_tasks: dict[int, list[TaskInfo]] = field(default_factory=dict)  # every task
    completed_by: dict[int, list[tuple[int, str]]] = field(default_factory=dict)  # task, who
    milestones: dict[int, list[tuple[int, str]]] = field(default_factory=dict)  # id, title
    # The health and forecast lines of a buyer's copy of each digest plan, as the
    # health pass recorded them (the local date they are for, the lines); and the
    # facts to work them out from, of digest plans not assessed on their today.
    insight: dict[int, tuple[date | None, str]] = field(default_factory=dict)
    facts: dict[int, PlanFacts] = field(default_factory=dict)
    # The health the tick last recorded of the reps' plans not on track (state,
    # reasons), for their digests.
    recorded_health: dict[int, tuple[str, tuple[str, ...]]] = field(default_factory=dict)


_PLAN_COLUMNS = (
    Plan.id,
    Plan.team_id,
    Plan.channel_id,
    Plan.title,
    Plan.tz,
    Plan.target_date,
    Plan.created_by,
    Plan.card_ts,
    Plan.remind_lead_days,
    Plan.digest_weekday,
    Plan.digest_minute,
    Plan.remind_weekends,
)
_TASK_COLUMNS = (
    Task.id,
    Task.plan_id,
    Task.number,
    Task.title,
    Task.owner_side,
    Task.assignee_id,
    Task.status,
    Task.internal,
    Task.due_date,
    Task.risk,
    Task.milestone_id,
)


def _active_plans() -> tuple[ColumnElement[bool], ...]:
    return (Plan.archived.is_(False), Plan.reminders_on.is_(True))


def _all(s: Session, stmt: Executable) -> Sequence[Any]:
    """Core rows, fetched at once: the Monday pass reads tens of thousands, and the
    ORM's result machinery or a driver call per row would cost more than the query."""
    return s.connection().execute(stmt).all()


def _plan(row: Any) -> PlanInfo:
    return PlanInfo(*row)


def _person(row: Any) -> PersonInfo:
    return PersonInfo(*row)


def _task(row: Any) -> TaskInfo:
    return TaskInfo(*row)


def local_day(at: datetime, tz: str | None, *, after_minute: int, weekends: bool) -> date | None:
    """The local date in `tz` when it is past `after_minute` there (and not a
    weekend day unless weekends count), else None."""
    local = at.astimezone(zone(tz))
    if local.hour * 60 + local.minute < after_minute:
        return None
    if not weekends and local.weekday() >= 5:
        return None
    return local.date()


def nudge_dates(utc_day: date, leads: set[int]) -> set[date]:
    """Every due date that can be nudged about at some zone's today (every zone's
    local date is within a day of UTC's): overdue cadence, today, and lead days."""
    offsets = {0, *(-d for d in OVERDUE_DAYS), *leads}
    return {utc_day + timedelta(days=shift + o) for shift in (-1, 0, 1) for o in offsets}


def load_state(
    s: Session,
    at: datetime,
    *,
    digest_plan_ids: set[int] | None = None,  # None: whichever are due at `at`
    reps_done: frozenset[tuple[str, date]] | set[tuple[str, date]] = frozenset(),
) -> ReminderState:
    """Open tasks due on a nudge date, their plans and people, snoozes; the plans
    of reps past 09:00 whose daily digest isn't queued for their local date
    (`reps_done`: (rep, local date)), with their open due tasks and latest activity;
    and with `digest_plan_ids`, every task of those plans and what was completed in
    the last week. A fixed number of statements, whatever the number of plans."""
    state = ReminderState(at=at)
    if digest_plan_ids is None:
        digest_plan_ids = set(digest_days(digest_candidates(s), at))
    leads = set(s.scalars(select(Plan.remind_lead_days).where(*_active_plans()).distinct()))
    dates = nudge_dates(at.date(), leads)
    rows = _all(
        s,
        select(*_TASK_COLUMNS, *_PLAN_COLUMNS)
        .join(Plan, Plan.id == Task.plan_id)
        .where(Task.due_date.in_(dates), Task.status != "completed", *_active_plans()),
    )
    for row in rows:
        state.tasks.append(TaskInfo(*row[: len(_TASK_COLUMNS)]))
        plan = _plan(row[len(_TASK_COLUMNS) :])
        state.plans.setdefault(plan.id, plan)
    if digest_plan_ids:
        for plan_row in _all(
            s, select(*_PLAN_COLUMNS).where(bulk.among(s, Plan.id, digest_plan_ids))
        ):
            state.plans.setdefault(plan_row[0], _plan(plan_row))
        _load_digests(s, state, digest_plan_ids)
    _load_reps(s, state, reps_done)
    _load_buyer_people(s, state)
    referenced = (
        {t.assignee_id for t in state.tasks if t.assignee_id}
        | {r for _, r in state.reps}
        | {uid for uids in state.buyer_people.values() for uid in uids}
    )
    people = select(
        Person.team_id,
        Person.user_id,
        Person.name,
        Person.tz,
        Person.home_team_id,
        Person.is_guest,
        Person.side_override,
        Person.mute_digests,
    ).where(bulk.among(s, Person.user_id, referenced))
    for person_row in _all(s, people):
        state.people[(person_row[0], person_row[1])] = _person(person_row[1:])
    task_ids = [t.id for t in state.tasks]
    if task_ids:
        for task_id, user_id, until in _all(
            s,
            select(Snooze.task_id, Snooze.user_id, Snooze.until).where(
                bulk.among(s, Snooze.task_id, task_ids)
            ),
        ):
            state.snoozes[(task_id, user_id)] = until
    return state


def _load_reps(
    s: Session, state: ReminderState, reps_done: frozenset[tuple[str, date]] | set[tuple[str, date]]
) -> None:
    """Reps (plan creators) past 09:00 in their zone (theirs, else their first plan's)
    whose digest for that local date isn't queued yet: all their plans, those plans'
    open tasks due by then, and each plan's latest activity (for "stalled")."""
    first_zone = (
        select(Plan.team_id, Plan.created_by, func.min(Plan.id).label("first"))
        .where(*_active_plans())
        .group_by(Plan.team_id, Plan.created_by)
        .subquery()
    )
    rows = _all(
        s,
        select(first_zone.c.team_id, first_zone.c.created_by, Person.tz, Plan.tz)
        .join(Plan, Plan.id == first_zone.c.first)
        .outerjoin(
            Person,
            and_(Person.team_id == first_zone.c.team_id, Person.user_id == first_zone.c.created_by),
        ),
    )
    for team, rep, person_tz, plan_tz in rows:
        day = local_day(state.at, person_tz or plan_tz, after_minute=NUDGE_MINUTE, weekends=True)
        if day is not None and (rep, day) not in reps_done:
            state.reps.add((team, rep))
    if not state.reps:
        return
    creators = {rep for _, rep in state.reps}
    mine = (bulk.among(s, Plan.created_by, creators), *_active_plans())
    plan_ids = []
    for plan_row in _all(s, select(*_PLAN_COLUMNS).where(*mine)):
        plan = _plan(plan_row)
        if (plan.team_id, plan.created_by) in state.reps:
            state.plans.setdefault(plan.id, plan)
            plan_ids.append(plan.id)
    latest_day = state.at.date() + timedelta(days=1)  # no zone's today is later
    for row in _all(
        s,
        select(*_TASK_COLUMNS)
        .join(Plan, Plan.id == Task.plan_id)
        .where(Task.due_date <= latest_day, Task.status != "completed", *mine),
    ):
        task = _task(row)
        if task.plan_id in state.plans:
            state.rep_tasks.append(task)
    for plan_id, latest in _all(
        s,
        select(Activity.plan_id, func.max(Activity.at))
        .where(bulk.among(s, Activity.plan_id, plan_ids))
        .group_by(Activity.plan_id),
    ):
        state.last_activity[plan_id] = as_utc(latest)
    for plan_id, health, reasons in _all(
        s,
        select(PlanHealth.plan_id, PlanHealth.state, PlanHealth.reasons).where(
            bulk.among(s, PlanHealth.plan_id, plan_ids),
            PlanHealth.state.in_(("at_risk", "stalled")),
        ),
    ):
        state.recorded_health[plan_id] = (health or "", tuple(r for r in reasons.split("\n") if r))


def _load_buyer_people(s: Session, state: ReminderState) -> None:
    """The buyer side of each deal with an unassigned buyer task to nudge about:
    its stakeholders, then its tasks' assignees, placed on a side as bot.identity
    does (home team, guest, a side set by hand)."""
    plan_ids = {
        t.plan_id
        for t in state.tasks
        if t.assignee_id is None and t.owner_side != "seller" and visible_to("buyer", t.internal)
    }
    if not plan_ids:
        return
    on_deal = (
        select(Stakeholder.plan_id.label("plan_id"), Stakeholder.user_id.label("user_id"))
        .where(bulk.among(s, Stakeholder.plan_id, plan_ids))
        .union(
            select(Task.plan_id, Task.assignee_id).where(
                bulk.among(s, Task.plan_id, plan_ids), Task.assignee_id.is_not(None)
            )
        )
        .subquery()
    )
    rows = _all(
        s,
        select(
            on_deal.c.plan_id,
            on_deal.c.user_id,
            Plan.team_id,
            Person.home_team_id,
            Person.is_guest,
            Person.side_override,
            Stakeholder.id.is_not(None),
        )
        .join(Plan, Plan.id == on_deal.c.plan_id)
        .join(Person, and_(Person.team_id == Plan.team_id, Person.user_id == on_deal.c.user_id))
        .outerjoin(
            Stakeholder,
            and_(
                Stakeholder.plan_id == on_deal.c.plan_id, Stakeholder.user_id == on_deal.c.user_id
            ),
        ),
    )
    ranked: dict[int, list[tuple[bool, str]]] = defaultdict(list)
    for plan_id, user_id, team, home, guest, override, stakeholder in rows:
        if person_side(team, PersonFacts(home, bool(guest), override)) == "buyer":
            ranked[plan_id].append((not stakeholder, user_id))
    state.buyer_people = {
        plan_id: [uid for _, uid in sorted(people)[:BUYERS_MENTIONED]]
        for plan_id, people in ranked.items()
    }


def _load_digests(s: Session, state: ReminderState, plan_ids: set[int]) -> None:
    """Every task and milestone of the digest plans, what was
    completed in the last week, the buyer insight the health pass recorded, and the
    facts of the plans whose recorded insight is not for their local today (a pass
    without the tick's health pass before it): those are worked out when rendered."""
    tasks: dict[int, list[TaskInfo]] = defaultdict(list)
    for row in _all(
        s,
        # In no order: the digest sorts each of its lists itself.
        select(*_TASK_COLUMNS).where(bulk.among(s, Task.plan_id, plan_ids)),
    ):
        tasks[row[1]].append(TaskInfo(*row))
    state.digest_tasks = dict(tasks)
    milestones: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for plan_id, milestone_id, title in _all(
        s,
        select(Milestone.plan_id, Milestone.id, Milestone.title)
        .where(bulk.among(s, Milestone.plan_id, plan_ids))
        .order_by(Milestone.plan_id, Milestone.position, Milestone.id),
    ):
        milestones[plan_id].append((milestone_id, title))
    state.milestones = dict(milestones)
    for plan_id, day, lines in _all(
        s,
        select(PlanHealth.plan_id, PlanHealth.assessed_on, PlanHealth.buyer_insight).where(
            bulk.among(s, PlanHealth.plan_id, plan_ids), PlanHealth.buyer_insight.is_not(None)
        ),
    ):
        state.insight[plan_id] = (day, lines or "")
    unassessed = [
        plan_id
        for plan_id in plan_ids
        if (plan := state.plans.get(plan_id)) is not None
        and state.insight.get(plan_id, (None, ""))[0] != today_in(plan.tz, state.at)
    ]
    state.facts = plan_facts(s, unassessed)
    since = state.at - WEEK
    done: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for plan_id, task_id, actor in _all(
        s,
        select(Activity.plan_id, Activity.task_id, Activity.actor_id).where(
            bulk.among(s, Activity.plan_id, plan_ids),
            Activity.action == "task.status",
            Activity.after == "completed",
            Activity.at >= since,
        ),
    ):
        if task_id is not None:
            done[plan_id].append((task_id, actor))
    state.completed_by = dict(done)


def digest_candidates(s: Session) -> list[tuple[int, str, int, int]]:
    """(plan id, zone, weekday, minute) of every plan with reminders on: the tick
    works out which weekly digests are due from these."""
    return [
        (pid, tz, wd, minute)
        for pid, tz, wd, minute in _all(
            s,
            select(Plan.id, Plan.tz, Plan.digest_weekday, Plan.digest_minute).where(
                *_active_plans()
            ),
        )
    ]


def digest_days(candidates: list[tuple[int, str, int, int]], at: datetime) -> dict[int, date]:
    """The plans whose weekly digest is due at `at` (their weekday, past their
    time), with the local date it is for."""
    due = {}
    for plan_id, tz, weekday, minute in candidates:
        today = local_day(at, tz, after_minute=minute, weekends=True)
        if today is not None and today.weekday() == weekday:
            due[plan_id] = today
    return due


def digests_due(candidates: list[tuple[int, str, int, int]], at: datetime) -> set[int]:
    """Which plans' weekly digest is due at `at`."""
    return set(digest_days(candidates, at))
