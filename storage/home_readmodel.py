"""The App Home read model: one person's open tasks across every deal of a
workspace, and the plans they are part of, with progress.

Three queries whatever the number of plans or tasks. Scoped to one workspace
(the seller team the request was authorised for), and made for one side: a
buyer's home holds only what is theirs and never an internal task.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, and_, case, func, or_, select, true
from sqlalchemy.orm import Session

from storage import access
from storage.models import Milestone, Plan, Task
from storage.readmodel import TaskView, task_view
from storage.rules import Actor, Side, visible_to


@dataclass(frozen=True)
class PlanLine:
    """A plan in the "My plans" list. `total` and `done` count the shared tasks, as
    the card in the channel does; internal tasks (a seller's home only) are counted
    apart, so the two never disagree without saying why. `overdue` is of all the
    tasks this side may see."""

    id: int
    title: str
    channel_id: str
    target_date: date | None
    total: int
    done: int
    overdue: int
    created_by_me: bool
    internal: int = 0
    internal_done: int = 0


@dataclass(frozen=True)
class DealTasks:
    plan: PlanLine
    tasks: tuple[TaskView, ...]


@dataclass(frozen=True)
class HomeView:
    team_id: str
    user_id: str
    side: Side
    today: date
    deals: tuple[DealTasks, ...]  # my open tasks grouped by deal, the most overdue first
    plans: tuple[PlanLine, ...]

    @property
    def open_count(self) -> int:
        return sum(len(d.tasks) for d in self.deals)


def _visible(side: Side) -> ColumnElement[bool]:
    """`storage.rules.visible_to` as a filter: internal tasks only where it allows them."""
    return true() if visible_to(side, True) else Task.internal.is_(False)


def _mine(user_id: str, side: Side) -> ColumnElement[bool]:
    """The plans that are someone's: assigned a task in, or (a seller) created."""
    mine: ColumnElement[bool] = Plan.id.in_(
        select(Task.plan_id).where(Task.assignee_id == user_id, _visible(side))
    )
    return or_(mine, Plan.created_by == user_id) if side == "seller" else mine


def home_channels(s: Session, team_id: str, user_id: str, side: Side) -> list[str]:
    """The channels of the plans a Home could list (whose members a buyer's needs)."""
    return list(
        s.scalars(
            select(Plan.channel_id).where(
                Plan.team_id == team_id, Plan.archived.is_(False), _mine(user_id, side)
            )
        )
    )


def home_view(s: Session, team_id: str, user_id: str, side: Side, today: date) -> HomeView:
    visible = _visible(side)
    # A buyer's Home lists only the plans whose channel they are in.
    reachable = access.reachable_plans(Actor(user_id=user_id, side=side, team_id=team_id))
    plans = list(
        s.scalars(
            select(Plan)
            .where(reachable, _mine(user_id, side))
            .order_by(Plan.target_date.is_(None), Plan.target_date, Plan.title, Plan.id)
        )
    )
    ids = [p.id for p in plans]
    counts: dict[int, tuple[int, int, int, int, int]] = {}
    tasks: list[tuple[Task, str]] = []
    if ids:
        is_open = Task.status != "completed"
        is_done = Task.status == "completed"
        shared = Task.internal.is_(False)
        rows = s.execute(
            select(
                Task.plan_id,
                func.sum(case((shared, 1), else_=0)),
                func.sum(case((and_(shared, is_done), 1), else_=0)),
                func.sum(case((and_(is_open, Task.due_date < today), 1), else_=0)),
                func.sum(case((Task.internal.is_(True), 1), else_=0)),
                func.sum(case((and_(Task.internal.is_(True), is_done), 1), else_=0)),
            )
            .where(Task.plan_id.in_(ids), visible)
            .group_by(Task.plan_id)
        )
        counts = {
            pid: (total or 0, done or 0, late or 0, internal or 0, internal_done or 0)
            for pid, total, done, late, internal, internal_done in rows
        }
        tasks = [
            (t, title)
            for t, title in s.execute(
                select(Task, Milestone.title)
                .join(Milestone, Milestone.id == Task.milestone_id)
                .where(Task.plan_id.in_(ids), Task.assignee_id == user_id, is_open, visible)
            ).all()
        ]
    none = (0, 0, 0, 0, 0)
    lines = {
        p.id: PlanLine(
            id=p.id,
            title=p.title,
            channel_id=p.channel_id,
            target_date=p.target_date,
            total=counts.get(p.id, none)[0],
            done=counts.get(p.id, none)[1],
            overdue=counts.get(p.id, none)[2],
            created_by_me=p.created_by == user_id,
            internal=counts.get(p.id, none)[3],
            internal_done=counts.get(p.id, none)[4],
        )
        for p in plans
    }
    views = [(t.plan_id, task_view(t, title, {})) for t, title in tasks]
    # Overdue first, then by due date (undated last); deals in the order their
    # most urgent task comes.
    views.sort(
        key=lambda pv: (
            not pv[1].is_overdue(today),
            pv[1].due_date or date.max,
            lines[pv[0]].title,
            pv[1].number,
        )
    )
    grouped: dict[int, list[TaskView]] = {}
    for plan_id, view in views:
        grouped.setdefault(plan_id, []).append(view)
    return HomeView(
        team_id=team_id,
        user_id=user_id,
        side=side,
        today=today,
        deals=tuple(DealTasks(lines[pid], tuple(ts)) for pid, ts in grouped.items()),
        plans=tuple(lines.values()),
    )
