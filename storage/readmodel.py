"""Read models: immutable snapshots of a plan that renderers and rules read.

Built with a fixed number of queries, whatever the plan's size. A view is made
for one side: a buyer's view never contains internal tasks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Milestone, Person, Plan, Task, TaskLink
from storage.rules import Side, derive_milestone_status, visible_to


@dataclass(frozen=True)
class TaskView:
    id: int
    number: int
    title: str
    owner_side: str
    assignee_id: str | None
    assignee_name: str | None
    status: str
    internal: bool
    due_date: date | None
    relative: bool  # due date follows the target date
    risk: str
    milestone_id: int
    milestone_title: str
    completed_at: datetime | None
    links: tuple[tuple[str, str], ...] = ()  # (url, label) of documents and recordings

    @property
    def is_open(self) -> bool:
        return self.status != "completed"

    def is_overdue(self, today: date) -> bool:
        return self.is_open and self.due_date is not None and self.due_date < today


@dataclass(frozen=True)
class MilestoneView:
    id: int
    position: int
    title: str
    due_date: date | None
    status: str
    manual: bool
    tasks: tuple[TaskView, ...]

    @property
    def done_count(self) -> int:
        return sum(1 for t in self.tasks if t.status == "completed")


@dataclass(frozen=True)
class PlanView:
    id: int
    team_id: str
    channel_id: str
    title: str
    target_date: date | None
    tz: str
    card_channel: str | None
    card_ts: str | None
    side: Side  # whose view this is
    milestones: tuple[MilestoneView, ...]
    names: dict[str, str] = field(default_factory=dict)

    @property
    def tasks(self) -> list[TaskView]:
        return [t for m in self.milestones for t in m.tasks]

    @property
    def current_milestone(self) -> MilestoneView | None:
        """The first milestone not completed."""
        return next((m for m in self.milestones if m.status != "completed"), None)


def task_view(
    t: Task,
    milestone_title: str,
    names: dict[str, str],
    links: tuple[tuple[str, str], ...] = (),
) -> TaskView:
    """The snapshot of one task row (`names`: user id → display name)."""
    return TaskView(
        id=t.id,
        number=t.number,
        title=t.title,
        owner_side=t.owner_side,
        assignee_id=t.assignee_id,
        assignee_name=names.get(t.assignee_id) if t.assignee_id else None,
        status=t.status,
        internal=t.internal,
        due_date=t.due_date,
        relative=t.due_offset_days is not None and not t.due_pinned,
        risk=t.risk,
        milestone_id=t.milestone_id,
        milestone_title=milestone_title,
        completed_at=t.completed_at,
        links=links,
    )


def plan_key(s: Session, team_id: str, channel_id: str) -> tuple[int, str, str | None] | None:
    """The channel's active plan id, time zone and country (how its people write
    dates): three columns, no ORM object."""
    row = s.execute(
        select(Plan.id, Plan.tz, Plan.country).where(
            Plan.team_id == team_id, Plan.channel_id == channel_id, Plan.archived.is_(False)
        )
    ).first()
    return (row[0], row[1], row[2]) if row is not None else None


def active_plan(s: Session, team_id: str, channel_id: str) -> Plan | None:
    return s.scalar(
        select(Plan).where(
            Plan.team_id == team_id, Plan.channel_id == channel_id, Plan.archived.is_(False)
        )
    )


def plan_view(s: Session, plan: Plan, side: Side) -> PlanView:
    """Three queries: milestones, tasks, and the names of assignees."""
    milestones = list(
        s.scalars(
            select(Milestone).where(Milestone.plan_id == plan.id).order_by(Milestone.position)
        )
    )
    tasks = list(
        s.scalars(
            select(Task)
            .where(Task.plan_id == plan.id)
            .order_by(Task.milestone_id, Task.position, Task.number)
        )
    )
    assignees = {t.assignee_id for t in tasks if t.assignee_id}
    names: dict[str, str] = {}
    if assignees:
        rows = s.execute(
            select(Person.user_id, Person.name).where(
                Person.team_id == plan.team_id, Person.user_id.in_(assignees)
            )
        )
        names = {uid: name for uid, name in rows if name}
    titles = {m.id: m.title for m in milestones}
    links: dict[int, list[tuple[str, str]]] = {}
    for task_id, url, label in s.execute(
        select(TaskLink.task_id, TaskLink.url, TaskLink.label)
        .where(TaskLink.plan_id == plan.id)
        .order_by(TaskLink.id)
    ):
        links.setdefault(task_id, []).append((url, label))
    by_milestone: dict[int, list[TaskView]] = {m.id: [] for m in milestones}
    all_statuses: dict[int, list[str]] = {m.id: [] for m in milestones}
    for t in tasks:
        # Derived from what this side can see, so a buyer's view never hints
        # at open internal work.
        if not visible_to(side, t.internal):
            continue
        all_statuses[t.milestone_id].append(t.status)
        by_milestone[t.milestone_id].append(
            task_view(t, titles[t.milestone_id], names, tuple(links.get(t.id, ())))
        )
    views = tuple(
        MilestoneView(
            id=m.id,
            position=m.position,
            title=m.title,
            due_date=m.due_date,
            status=derive_milestone_status(all_statuses[m.id], m.manual_status),
            manual=m.manual_status is not None,
            tasks=tuple(by_milestone[m.id]),
        )
        for m in milestones
    )
    return PlanView(
        id=plan.id,
        team_id=plan.team_id,
        channel_id=plan.channel_id,
        title=plan.title,
        target_date=plan.target_date,
        tz=plan.tz,
        card_channel=plan.card_channel,
        card_ts=plan.card_ts,
        side=side,
        milestones=views,
        names=names,
    )
