"""Writers for reminder settings, snoozes and muting (conventions of storage.services)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage import services
from storage.db import insert_for
from storage.models import Person, Plan, ReminderMark, Snooze, Task
from storage.rules import Actor, visible_to

SETTINGS = (
    "remind_lead_days",
    "digest_weekday",
    "digest_minute",
    "remind_weekends",
    "reminders_on",
)


def set_reminders(s: Session, actor: Actor, plan: Plan, **values: int | bool) -> None:
    """Change the plan's reminder settings (seller side), one activity row each."""
    services.require_edit(plan, actor)
    for name, value in values.items():
        if name not in SETTINGS:
            raise services.Invalid("Unknown reminder setting “{name}”.", name=name)
        if getattr(plan, name) != value:
            services.log_plan_event(
                s, actor, plan, f"plan.{name}", before=getattr(plan, name), after=value
            )
            setattr(plan, name, value)


def task_in_team(s: Session, actor: Actor, task_id: int) -> Task:
    """A task of a plan in the actor's workspace, visible to their side."""
    task = s.get(Task, task_id)
    plan = s.get(Plan, task.plan_id) if task is not None else None
    if task is None or plan is None or plan.team_id != actor.team_id:
        raise services.NotFound("That task isn't in this workspace any more.")
    if not visible_to(actor.side, task.internal):
        raise services.NotFound("That task isn't in this workspace any more.")
    return task


def snooze(s: Session, actor: Actor, task_id: int, until: date) -> Task:
    """No nudges about this task to this person before `until`."""
    task = task_in_team(s, actor, task_id)
    row = s.scalar(select(Snooze).where(Snooze.task_id == task_id, Snooze.user_id == actor.user_id))
    if row is None:
        row = Snooze(task_id=task_id, user_id=actor.user_id, until=until)
        s.add(row)
    row.until = until
    return task


def mute_digests(s: Session, actor: Actor, muted: bool) -> None:
    person = s.scalar(
        select(Person).where(Person.team_id == actor.team_id, Person.user_id == actor.user_id)
    )
    if person is None:
        person = Person(team_id=actor.team_id, user_id=actor.user_id, name="", is_guest=False)
        s.add(person)
    person.mute_digests = muted


def record_mark(s: Session, name: str, value: str) -> None:
    """What a full pass saw (ReminderMark): one upsert, since two ticks (replicas,
    a worker and `mapbot tick`) may finish the same pass at once and both write
    the first mark; the later one's value stands."""
    insert = insert_for(s.get_bind().dialect.name)(ReminderMark).values(name=name, value=value)
    s.execute(insert.on_conflict_do_update(index_elements=["name"], set_={"value": value}))
