"""Finding the task or milestone a person named: `#7`, or words of its title."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import Milestone, Plan, Task
from storage.rules import Side, visible_to
from storage.services import DomainError, NotFound

T = TypeVar("T", Task, Milestone)


class Ambiguous(DomainError):
    """More than one match: the message lists them so the person can pick."""


def _words(text: str) -> list[str]:
    return text.casefold().split()


def best_matches(items: Sequence[T], words: str) -> list[T]:
    """Exact title first; else titles containing every word (case-insensitive)."""
    wanted = _words(words)
    if not wanted:
        return []
    exact = [i for i in items if _words(i.title) == wanted]
    if exact:
        return exact
    return [i for i in items if all(w in i.title.casefold() for w in wanted)]


def find_task(s: Session, plan: Plan, *, number: int | None, words: str, side: Side) -> Task:
    if number is not None:
        task = s.scalar(select(Task).where(Task.plan_id == plan.id, Task.number == number))
        if task is None or not visible_to(side, task.internal):
            raise NotFound("There's no task #{number} in this plan.", number=number)
        return task
    tasks = [
        t
        for t in s.scalars(select(Task).where(Task.plan_id == plan.id))
        if visible_to(side, t.internal)
    ]
    found = best_matches(tasks, words)
    if not found:
        raise NotFound("No task in this plan matches “{words}”.", words=words)
    if len(found) > 1:
        listing = ", ".join(
            f"#{t.number} {t.title}" for t in sorted(found, key=lambda t: t.number)[:8]
        )
        raise Ambiguous(
            "“{words}” matches more than one task: {listing}. Which one? Use its #number.",
            words=words,
            listing=listing,
        )
    return found[0]


def find_task_by_id(s: Session, plan: Plan, task_id: int, side: Side) -> Task:
    """For button clicks: the id must belong to this plan, and be visible to the clicker."""
    task = s.get(Task, task_id)
    if task is None or task.plan_id != plan.id or not visible_to(side, task.internal):
        raise NotFound("That task isn't part of this channel's plan.")
    return task


def find_milestone(s: Session, plan: Plan, name: str) -> Milestone:
    milestones = list(s.scalars(select(Milestone).where(Milestone.plan_id == plan.id)))
    found = best_matches(milestones, name)
    if not found:
        names = (
            ", ".join(m.title for m in sorted(milestones, key=lambda m: m.position)) or "none yet"
        )
        raise NotFound(
            "No milestone matches “{name}”. Milestones: {names}.", name=name, names=names
        )
    if len(found) > 1:
        listing = ", ".join(m.title for m in found[:8])
        raise Ambiguous(
            "“{name}” matches several milestones: {listing}. Which one?", name=name, listing=listing
        )
    return found[0]


def find_milestone_by_id(s: Session, plan: Plan, milestone_id: int) -> Milestone:
    milestone = s.get(Milestone, milestone_id)
    if milestone is None or milestone.plan_id != plan.id:
        raise NotFound("That milestone isn't part of this channel's plan.")
    return milestone


def count_tasks(s: Session, milestone: Milestone) -> int:
    return s.scalar(select(func.count()).where(Task.milestone_id == milestone.id)) or 0
