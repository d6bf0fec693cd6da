"""The read model that plan health, the forecast, summaries and the pipeline read:
plain frozen data about plans, loaded in a constant number of SQL statements
however many plans are asked for (the pipeline and the Monday pass read
thousands at once).

Facts are complete (the seller's view). `PlanFacts.for_side("buyer")` drops
internal tasks, and the activity on them, through `storage.rules.visible_to`,
so whatever is computed from that copy is safe to show a buyer.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from storage import bulk
from storage.clock import as_utc
from storage.models import Activity, Milestone, Person, Plan, PlanHealth, Task
from storage.rules import Side, derive_milestone_status, visible_to
from storage.services import SLACK_SYSTEM_USER

# Activity rows by Slack itself (channel shared, renamed) are bookkeeping, not
# people acting on the deal.
SYSTEM_ACTORS = (SLACK_SYSTEM_USER,)
HEALTH_ACTION = "plan.health"  # the activity row a change of health writes


@dataclass(frozen=True)
class TaskFact:
    id: int
    number: int
    title: str
    milestone_id: int
    owner_side: str  # buyer | seller | mutual
    internal: bool
    status: str
    assignee_id: str | None
    due_date: date | None
    completed_at: datetime | None  # UTC
    created_at: datetime  # UTC
    risk: str = "on_track"  # as a person marked it: on_track | at_risk | blocked

    @property
    def is_open(self) -> bool:
        return self.status != "completed"

    def is_overdue(self, today: date) -> bool:
        return self.is_open and self.due_date is not None and self.due_date < today


@dataclass(frozen=True)
class MilestoneFact:
    id: int
    position: int
    title: str
    due_date: date | None
    manual_status: str | None


@dataclass(frozen=True)
class ActivityMark:
    """The latest activity of one kind on a plan: by which side, whether on an
    internal task, whether it moved work (a task or milestone change)."""

    side: str  # buyer | seller
    internal: bool
    movement: bool
    at: datetime  # UTC


@dataclass(frozen=True)
class HealthSettings:
    """The plan's own health thresholds; None means the documented default
    (reminders.health.HealthRules)."""

    overdue_tasks: int | None = None
    milestone_late_days: int | None = None
    stall_days: int | None = None
    buyer_silence_days: int | None = None


@dataclass(frozen=True)
class PlanFacts:
    id: int
    team_id: str
    channel_id: str
    title: str
    target_date: date | None
    tz: str  # IANA name: "today" for this plan is today in this zone
    country: str | None  # the business calendar: weekends plus this country's holidays
    created_by: str
    created_at: datetime  # UTC
    milestones: tuple[MilestoneFact, ...]
    tasks: tuple[TaskFact, ...]  # in milestone order, then position
    activity: tuple[ActivityMark, ...] = ()
    health_settings: HealthSettings = HealthSettings()
    recorded_health: str | None = None  # the state last written (None: never assessed)
    recorded_reasons: tuple[str, ...] = ()
    names: tuple[tuple[str, str], ...] = ()  # (user id, display name) of assignees
    side: Side = "seller"  # whose copy this is
    digest_weekday: int = 0  # the plan's weekly digest: Monday 0 … Sunday 6

    def for_side(self, side: Side) -> PlanFacts:
        """The copy a side may see: a buyer's has no internal task, nor its activity."""
        if side == "seller":
            return replace(self, side=side)
        return replace(
            self,
            side=side,
            tasks=tuple(t for t in self.tasks if visible_to(side, t.internal)),
            activity=tuple(a for a in self.activity if visible_to(side, a.internal)),
        )

    def last_activity(self, side: str | None = None) -> datetime | None:
        """The latest change by `side` (None: by anyone)."""
        ats = [a.at for a in self.activity if side is None or a.side == side]
        return max(ats) if ats else None

    @property
    def last_movement(self) -> datetime | None:
        """The latest change to a task or milestone, by anyone."""
        ats = [a.at for a in self.activity if a.movement]
        return max(ats) if ats else None

    def milestone_status(self, milestone: MilestoneFact) -> str:
        return derive_milestone_status(
            (t.status for t in self.tasks if t.milestone_id == milestone.id),
            milestone.manual_status,
        )

    def tasks_of(self, milestone_id: int) -> list[TaskFact]:
        return [t for t in self.tasks if t.milestone_id == milestone_id]

    def name_of(self, user_id: str) -> str | None:
        return dict(self.names).get(user_id)


_MOVEMENT = or_(Activity.action.like("task.%"), Activity.action.like("milestone.%"))


def plan_facts(s: Session, plan_ids: Sequence[int]) -> dict[int, PlanFacts]:
    """Facts for each plan id that exists: four statements whatever the count
    (plans with their health row; milestones; tasks with their assignee's name;
    the latest activity of each kind)."""
    ids = sorted(set(plan_ids))
    if not ids:
        return {}
    conn = s.connection()  # Core rows: no ORM bookkeeping for plain columns
    plans = list(
        conn.execute(
            select(
                Plan.id,
                Plan.team_id,
                Plan.channel_id,
                Plan.title,
                Plan.target_date,
                Plan.tz,
                Plan.country,
                Plan.created_by,
                Plan.created_at,
                Plan.digest_weekday,
                PlanHealth.overdue_tasks,
                PlanHealth.milestone_late_days,
                PlanHealth.stall_days,
                PlanHealth.buyer_silence_days,
                PlanHealth.state,
                PlanHealth.reasons,
            )
            .outerjoin(PlanHealth, PlanHealth.plan_id == Plan.id)
            .where(bulk.among(s, Plan.id, ids))
        )
    )
    milestones: dict[int, list[MilestoneFact]] = defaultdict(list)
    for mrow in conn.execute(
        select(
            Milestone.plan_id,
            Milestone.id,
            Milestone.position,
            Milestone.title,
            Milestone.due_date,
            Milestone.manual_status,
        )
        .where(bulk.among(s, Milestone.plan_id, ids))
        .order_by(Milestone.plan_id, Milestone.position, Milestone.id)
    ):
        milestones[mrow[0]].append(MilestoneFact(*mrow[1:]))
    order = {m.id: m.position for ms in milestones.values() for m in ms}
    tasks: dict[int, list[tuple[int, int, TaskFact]]] = defaultdict(list)
    names: dict[int, dict[str, str]] = defaultdict(dict)
    for trow in conn.execute(
        select(
            Task.plan_id,
            Task.position,
            Task.id,
            Task.number,
            Task.title,
            Task.milestone_id,
            Task.owner_side,
            Task.internal,
            Task.status,
            Task.assignee_id,
            Task.due_date,
            Task.completed_at,
            Task.created_at,
            Person.name,
            Task.risk,
        )
        .join(Plan, Plan.id == Task.plan_id)
        .outerjoin(Person, and_(Person.team_id == Plan.team_id, Person.user_id == Task.assignee_id))
        .where(bulk.among(s, Task.plan_id, ids))
    ):
        (plan_id, position, task_id, number, title, milestone_id, owner_side) = trow[:7]
        completed = as_utc(trow[11]) if trow[11] is not None else None
        fact = TaskFact(
            id=task_id,
            number=number,
            title=title,
            milestone_id=milestone_id,
            owner_side=owner_side,
            internal=bool(trow[7]),
            status=trow[8],
            assignee_id=trow[9],
            due_date=trow[10],
            completed_at=completed,
            created_at=as_utc(trow[12]),
            risk=trow[14],
        )
        tasks[plan_id].append((order.get(milestone_id, 0), position, fact))
        if fact.assignee_id and trow[13]:
            names[plan_id][fact.assignee_id] = trow[13]
    # The latest activity of each kind per plan: grouped in SQL, so the rows read
    # are a handful per plan however long its history.
    internal = func.coalesce(Task.internal, False)
    movement = case((_MOVEMENT, 1), else_=0)
    activity: dict[int, list[ActivityMark]] = defaultdict(list)
    for plan_id, side, on_internal, moved, at in conn.execute(
        select(Activity.plan_id, Activity.actor_side, internal, movement, func.max(Activity.at))
        .outerjoin(Task, and_(Task.id == Activity.task_id, Task.plan_id == Activity.plan_id))
        .where(
            bulk.among(s, Activity.plan_id, ids),
            Activity.action != HEALTH_ACTION,
            Activity.actor_id.not_in(SYSTEM_ACTORS),
        )
        .group_by(Activity.plan_id, Activity.actor_side, internal, movement)
    ):
        activity[plan_id].append(ActivityMark(side, bool(on_internal), bool(moved), as_utc(at)))
    out: dict[int, PlanFacts] = {}
    for p in plans:
        out[p.id] = PlanFacts(
            id=p.id,
            team_id=p.team_id,
            channel_id=p.channel_id,
            title=p.title,
            target_date=p.target_date,
            tz=p.tz,
            country=p.country,
            created_by=p.created_by,
            created_at=as_utc(p.created_at),
            milestones=tuple(milestones.get(p.id, ())),
            tasks=tuple(t for _, _, t in sorted(tasks.get(p.id, ()), key=_task_order)),
            activity=tuple(activity.get(p.id, ())),
            health_settings=HealthSettings(
                p.overdue_tasks, p.milestone_late_days, p.stall_days, p.buyer_silence_days
            ),
            recorded_health=p.state,
            recorded_reasons=tuple(r for r in (p.reasons or "").split("\n") if r),
            names=tuple(sorted(names.get(p.id, {}).items())),
            digest_weekday=p.digest_weekday,
        )
    return out


def _task_order(item: tuple[int, int, TaskFact]) -> tuple[int, int, int]:
    return item[0], item[1], item[2].number


def facts_for(s: Session, plan_id: int, side: Side) -> PlanFacts:
    """One plan's facts as `side` may see them (the caller checked access)."""
    return plan_facts(s, [plan_id])[plan_id].for_side(side)
