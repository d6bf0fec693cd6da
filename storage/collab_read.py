"""Read models for the collaboration surfaces: one task in full (for its modal),
links by task, the plan's overview and the people on the deal."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.collab_services import relative_days_before
from storage.models import Comment, Person, Plan, Stakeholder, Task, TaskLink

Link = tuple[str, str]  # url, label


@dataclass(frozen=True)
class TaskDetail:
    id: int
    number: int
    title: str
    milestone_id: int
    owner_side: str
    assignee_id: str | None
    internal: bool
    status: str
    due_date: date | None
    days_before_golive: int | None  # set when the due date follows go-live
    risk: str
    risk_reason: str
    notes: str
    links: tuple[Link, ...]


@dataclass(frozen=True)
class CommentView:
    author_id: str
    author_side: str
    body: str
    created_at: datetime


@dataclass(frozen=True)
class Overview:
    why: str
    goals: str
    success: str
    target_date: date | None


@dataclass(frozen=True)
class PersonRecord:
    """What we know of someone on the deal; `bot.identity.side_of` places them."""

    user_id: str
    name: str
    home_team_id: str | None
    is_guest: bool
    side_override: str | None
    tz: str | None
    role: str
    title: str
    email: str
    phone: str


def task_detail(s: Session, task: Task) -> TaskDetail:
    return TaskDetail(
        id=task.id,
        number=task.number,
        title=task.title,
        milestone_id=task.milestone_id,
        owner_side=task.owner_side,
        assignee_id=task.assignee_id,
        internal=task.internal,
        status=task.status,
        due_date=task.due_date,
        days_before_golive=relative_days_before(task),
        risk=task.risk,
        risk_reason=task.risk_reason,
        notes=task.notes,
        links=tuple(links_by_task(s, task.plan_id, [task.id]).get(task.id, ())),
    )


def links_by_task(
    s: Session, plan_id: int, task_ids: Iterable[int] | None = None
) -> dict[int, list[Link]]:
    query = select(TaskLink).where(TaskLink.plan_id == plan_id).order_by(TaskLink.id)
    if task_ids is not None:
        query = query.where(TaskLink.task_id.in_(list(task_ids)))
    out: dict[int, list[Link]] = defaultdict(list)
    for link in s.scalars(query):
        out[link.task_id].append((link.url, link.label))
    return dict(out)


def recent_comments(s: Session, task_id: int, limit: int = 5) -> list[CommentView]:
    rows = s.scalars(
        select(Comment).where(Comment.task_id == task_id).order_by(Comment.id.desc()).limit(limit)
    )
    return [
        CommentView(c.author_id, c.author_side, c.body, c.created_at) for c in reversed(list(rows))
    ]


def overview(plan: Plan) -> Overview:
    return Overview(
        why=plan.overview_why,
        goals=plan.overview_goals,
        success=plan.overview_success,
        target_date=plan.target_date,
    )


def people(s: Session, plan: Plan, member_ids: Iterable[str] = ()) -> list[PersonRecord]:
    """Everyone on the deal: stakeholders, channel members we were told of, and
    task assignees — stakeholders with a role first, then by name."""
    stakeholders = {
        r.user_id: r for r in s.scalars(select(Stakeholder).where(Stakeholder.plan_id == plan.id))
    }
    assignees = set(
        s.scalars(
            select(Task.assignee_id).where(Task.plan_id == plan.id, Task.assignee_id.is_not(None))
        )
    )
    ids = set(stakeholders) | set(member_ids) | {a for a in assignees if a}
    persons = {
        p.user_id: p
        for p in s.scalars(
            select(Person).where(Person.team_id == plan.team_id, Person.user_id.in_(ids))
        )
    }
    out = []
    for uid in ids:
        p = persons.get(uid)
        st = stakeholders.get(uid)
        out.append(
            PersonRecord(
                user_id=uid,
                name=(p.name if p else "") or "",
                home_team_id=p.home_team_id if p else None,
                is_guest=bool(p and p.is_guest),
                side_override=p.side_override if p else None,
                tz=p.tz if p else None,
                role=st.role if st else "",
                title=st.title if st else "",
                email=st.email if st else "",
                phone=st.phone if st else "",
            )
        )
    out.sort(key=lambda r: (not r.role, r.name.casefold() or r.user_id))
    return out


def contacts_refreshed(s: Session, plan_id: int) -> dict[str, datetime | None]:
    """When each stakeholder's contact details were last taken from users.info."""
    rows = s.execute(
        select(Stakeholder.user_id, Stakeholder.refreshed_at).where(Stakeholder.plan_id == plan_id)
    )
    return {uid: at for uid, at in rows}
