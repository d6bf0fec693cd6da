"""The plan services: the only code that writes.

Each function runs inside a caller's write transaction (`Database.write()`),
checks permission, makes the change and records an activity row. Errors are
`DomainError`s whose message is safe to show the person who asked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import cast

from sqlalchemy import Table, bindparam, delete, event, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from bot.text import mrkdwn
from reminders.delivery import refreshes
from storage import clock, webhook_events
from storage.limits import MAX_MILESTONES_PER_PLAN, MAX_TASKS_PER_PLAN
from storage.models import (
    Activity,
    ChannelMember,
    ChannelRoster,
    Milestone,
    Outbox,
    Person,
    Plan,
    Task,
)
from storage.rules import (
    OWNER_SIDES,
    STATUSES,
    Actor,
    PersonFacts,
    can_edit_plan,
    can_hold_internal,
    can_set_task_status,
)
from storage.workdays import shift

MAX_TITLE = 300
DEFAULT_MILESTONE = "Next steps"


class DomainError(Exception):
    """A refusal with a message for the person who asked, in mrkdwn: our own words
    in `message`, user text only in `{name}` placeholders filled from `parts`, each
    escaped (`bot.text.mrkdwn`). Never interpolate user text into `message` itself."""

    def __init__(self, message: str, **parts: object) -> None:
        text = mrkdwn(message, **parts) if parts else message
        super().__init__(text)
        self.message = text


class NotFound(DomainError):
    pass


class Forbidden(DomainError):
    pass


class Invalid(DomainError):
    pass


@dataclass(frozen=True)
class Change:
    """What a service did, for the reply."""

    plan_id: int
    summary: str


# --- helpers -------------------------------------------------------------------


def _log(
    s: Session,
    plan: Plan,
    actor: Actor,
    action: str,
    *,
    task: Task | None = None,
    milestone: Milestone | None = None,
    before: object = None,
    after: object = None,
) -> None:
    # A plain INSERT, not an ORM object: activity rows are never read back in the
    # same transaction, and skipping the unit of work matters on every click.
    # The activity rows are the record of change (digests, stalled plans); not
    # touching the plan row keeps writers to different tasks from queueing on it.
    _card_changes(s, plan)
    row = {
        "plan_id": plan.id,
        "task_id": task.id if task is not None else None,
        "milestone_id": milestone.id if milestone is not None else None,
        "actor_id": actor.user_id,
        "actor_side": actor.side,
        "action": action,
        "before": None if before is None else str(before),
        "after": None if after is None else str(after),
        "at": clock.now(),
    }
    s.flush()  # what Session.execute would do first: the change is in before its record
    s.connection().execute(_INSERT_ACTIVITY, row)
    webhook_events.note(s, [row])  # its events are queued at commit
    if plan.crm_linked:  # its deal shows what the plan says: one coalesced push
        from storage import crm  # crm builds on this module

        crm.mark_push(s, plan)


_INSERT_ACTIVITY = insert(cast(Table, Activity.__table__))  # Core: no ORM bulk machinery


_CHANGED_CARDS = "mapbot_changed_cards"


def _card_changes(s: Session, plan: Plan) -> None:
    """Every change is an activity row, and every change may change the card: its
    refresh is queued in the same transaction (once per transaction and plan, as
    its last statement: `_mark_changed_cards`), so a crash after the commit cannot
    lose it. A plan with no card yet has nothing to refresh; the card posted for
    it renders what the database holds then."""
    if plan.card_ts is not None:
        s.info.setdefault(_CHANGED_CARDS, {})[plan.id] = plan.team_id


@event.listens_for(Session, "before_commit")
def _mark_changed_cards(s: Session) -> None:
    """The card rows are marked last, in plan order: the lock on a card's row is
    then the last one a transaction takes and is held only for the commit, so
    writers that took a task's row first never deadlock on it."""
    changed: dict[int, str] = s.info.pop(_CHANGED_CARDS, None) or {}
    for plan_id, team_id in sorted(changed.items()):
        refreshes.mark_card(s, team_id, plan_id)


@event.listens_for(Session, "after_rollback")
def _forget_changed_cards(s: Session) -> None:
    s.info.pop(_CHANGED_CARDS, None)


# A lone UTF-16 surrogate: JSON (`\\ud800`) and YAML escapes let one through into a
# str, which can then be neither stored (PostgreSQL, SQLite's UTF-8) nor sent.
SURROGATE = re.compile("[\ud800-\udfff]")


def refuse_surrogates(text: str, what: str) -> None:
    """A lone surrogate (JSON lets `\\ud800` through) can't be stored or sent."""
    if SURROGATE.search(text):
        raise Invalid(
            "The {what} has a broken character (a lone UTF-16 surrogate): retype it.", what=what
        )


def _clean_title(title: str, what: str) -> str:
    title = " ".join(title.split())
    refuse_surrogates(title, f"{what} title")
    if not title:
        raise Invalid("The {what} needs a title.", what=what)
    if len(title) > MAX_TITLE:
        raise Invalid(
            "That {what} title is {length} characters; the limit is {limit}.",
            what=what,
            length=len(title),
            limit=MAX_TITLE,
        )
    return title


def require_edit(plan: Plan, actor: Actor) -> None:
    """Raise unless the actor may change the plan's structure."""
    _require_same_team(plan, actor)
    reason = can_edit_plan(actor.side, plan.buyers_can_edit)
    if reason:
        raise Forbidden(reason)


def _require_same_team(plan: Plan, actor: Actor) -> None:
    # Every payload is scoped to the workspace it was authorised for.
    if plan.team_id != actor.team_id:
        raise NotFound("That plan isn't in this workspace.")


def require_room(s: Session, plan: Plan, *, tasks: int = 0, milestones: int = 0) -> None:
    """Refuse a change that would take the plan past its caps (storage.limits)."""
    if tasks:
        have = s.scalar(select(func.count()).where(Task.plan_id == plan.id)) or 0
        if have + tasks > MAX_TASKS_PER_PLAN:
            raise Invalid(
                "A plan holds at most {cap} tasks; this one has {have}, and this would add "
                "{more}. Remove finished work or start a new plan.",
                cap=MAX_TASKS_PER_PLAN,
                have=have,
                more=tasks,
            )
    if milestones:
        have = s.scalar(select(func.count()).where(Milestone.plan_id == plan.id)) or 0
        if have + milestones > MAX_MILESTONES_PER_PLAN:
            raise Invalid(
                "A plan holds at most {cap} milestones; this one has {have}, and this would "
                "add {more}.",
                cap=MAX_MILESTONES_PER_PLAN,
                have=have,
                more=milestones,
            )


def person_facts(s: Session, team_id: str, user_id: str) -> PersonFacts | None:
    row = s.execute(
        select(Person.home_team_id, Person.is_guest, Person.side_override).where(
            Person.team_id == team_id, Person.user_id == user_id
        )
    ).first()
    return PersonFacts(row[0], bool(row[1]), row[2]) if row is not None else None


def require_internal_holder(
    s: Session, actor: Actor, plan: Plan, internal: bool, assignee_id: str | None
) -> None:
    """Refuse an internal task held by a buyer-side (or unknown) person."""
    if not internal or assignee_id is None:
        return
    if assignee_id == actor.user_id:  # the asker: their side is known already
        facts: PersonFacts | None = PersonFacts(None, False, actor.side)
    else:
        facts = person_facts(s, plan.team_id, assignee_id)
    reason = can_hold_internal(internal, assignee_id, facts, plan.team_id)
    if reason:
        raise Forbidden(reason)


def _check_task(plan: Plan, task: Task) -> None:
    if task.plan_id != plan.id:
        raise NotFound("That task isn't part of this plan.")


def _check_milestone(plan: Plan, milestone: Milestone) -> None:
    if milestone.plan_id != plan.id:
        raise NotFound("That milestone isn't part of this plan.")


def _relative_due(plan: Plan, task: Task) -> date | None:
    if task.due_offset_days is None or plan.target_date is None:
        return task.due_date
    return shift(plan.target_date, task.due_offset_days, task.due_business, plan.country)


def lock_plan(s: Session, plan_id: int) -> Plan:
    """Load a plan for update (row lock on PostgreSQL; SQLite's BEGIN IMMEDIATE
    already serialises writers)."""
    plan = s.get(Plan, plan_id, with_for_update=True, populate_existing=True)
    if plan is None:
        raise NotFound("That plan no longer exists.")
    return plan


# --- plans ---------------------------------------------------------------------


def create_plan(
    s: Session,
    actor: Actor,
    channel_id: str,
    title: str,
    *,
    target_date: date | None = None,
    tz: str = "UTC",
) -> Plan:
    if actor.side != "seller":
        raise Forbidden("Only the seller team can create a plan.")
    title = _clean_title(title, "plan")
    existing = s.scalar(
        select(Plan.id).where(
            Plan.team_id == actor.team_id, Plan.channel_id == channel_id, Plan.archived.is_(False)
        )
    )
    if existing is not None:
        raise Invalid("This channel already has a plan. `/map status` shows it.")
    at = clock.now()
    plan = Plan(
        team_id=actor.team_id,
        channel_id=channel_id,
        title=title,
        target_date=target_date,
        tz=tz,
        created_by=actor.user_id,
        created_at=at,
        updated_at=at,
        archived=False,
        next_task_number=1,
        overview_why="",
        overview_goals="",
        overview_success="",
        buyers_can_edit=False,
    )
    s.add(plan)
    s.flush()
    _log(s, plan, actor, "plan.create", after=title)
    if target_date is not None:
        _log(s, plan, actor, "plan.target", after=target_date.isoformat())
    return plan


def rename_plan(s: Session, actor: Actor, plan: Plan, title: str) -> None:
    require_edit(plan, actor)
    title = _clean_title(title, "plan")
    _log(s, plan, actor, "plan.rename", before=plan.title, after=title)
    plan.title = title


def set_target_date(s: Session, actor: Actor, plan: Plan, target: date | None) -> list[Task]:
    """Set the go-live date and move every relative, unpinned task with it.

    Returns the tasks whose due date moved."""
    require_edit(plan, actor)
    before = plan.target_date
    plan.target_date = target
    _log(
        s,
        plan,
        actor,
        "plan.target",
        before=before.isoformat() if before else None,
        after=target.isoformat() if target else None,
    )
    if target is None:
        return []
    return _recompute_relative(s, plan, actor)


def _recompute_relative(s: Session, plan: Plan, actor: Actor) -> list[Task]:
    """Recompute every relative, unpinned due date; returns the tasks that moved."""
    moved: list[Task] = []
    if plan.target_date is None:
        return moved
    relative = s.scalars(
        select(Task).where(
            Task.plan_id == plan.id, Task.due_offset_days.is_not(None), Task.due_pinned.is_(False)
        )
    )
    for task in relative:
        new_due = _relative_due(plan, task)
        if new_due != task.due_date:
            _log(s, plan, actor, "task.due", task=task, before=task.due_date, after=new_due)
            task.due_date = new_due
            task.updated_at = clock.now()
            moved.append(task)
    return moved


def set_country(s: Session, actor: Actor, plan: Plan, country: str | None) -> list[Task]:
    """Whose public holidays business-day dates skip; relative dates are recomputed."""
    require_edit(plan, actor)
    _log(s, plan, actor, "plan.country", before=plan.country, after=country)
    plan.country = country
    return _recompute_relative(s, plan, actor)


def log_plan_event(
    s: Session,
    actor: Actor,
    plan: Plan,
    action: str,
    *,
    before: object = None,
    after: object = None,
) -> None:
    """An activity row for a plan-level change made by another storage module."""
    _log(s, plan, actor, action, before=before, after=after)


def set_card(s: Session, plan: Plan, channel: str, ts: str) -> None:
    """Remember the canonical card message (a system write: no activity row)."""
    plan.card_channel = channel
    plan.card_ts = ts


# Slack's own system user: the actor of changes Slack reports (channel shared …).
SLACK_SYSTEM_USER = "USLACKBOT"


def record_channel_shared(s: Session, plan: Plan, other_team_id: str, *, shared: bool) -> bool:
    """Slack says the plan's channel was shared with (or unshared from) another
    workspace. Returns False when that was already known (events can repeat)."""
    teams = plan.connected_teams.split()
    if (other_team_id in teams) == shared or not other_team_id:
        return False
    teams = [*teams, other_team_id] if shared else [t for t in teams if t != other_team_id]
    system = Actor(user_id=SLACK_SYSTEM_USER, side="seller", team_id=plan.team_id)
    if shared:
        _log(s, plan, system, "plan.shared", after=other_team_id)
    else:
        _log(s, plan, system, "plan.unshared", before=other_team_id)
    plan.connected_teams = " ".join(teams)
    return True


def move_channel(s: Session, team_id: str, old: str, new: str) -> int:
    """A private channel shared through Slack Connect gets a new id for good
    (`channel_id_changed`): the plans, cards and queued messages of the old id go
    with it. Returns how many plans moved (0 when done already: events repeat)."""
    if not old or not new or old == new:
        return 0
    plans = list(s.scalars(select(Plan).where(Plan.team_id == team_id, Plan.channel_id == old)))
    system = Actor(user_id=SLACK_SYSTEM_USER, side="seller", team_id=team_id)
    for plan in plans:
        plan.channel_id = new
        if plan.card_channel == old:
            plan.card_channel = new
        _log(s, plan, system, "plan.channel_moved", before=old, after=new)
    s.execute(
        update(Outbox)
        .where(Outbox.team_id == team_id, Outbox.recipient == old, Outbox.state != "sent")
        .values(recipient=new)
    )
    # Who is in it is known again once fetched under the new id.
    for model in (ChannelMember, ChannelRoster):
        s.execute(delete(model).where(model.team_id == team_id, model.channel_id == old))
    return len(plans)


# --- milestones ----------------------------------------------------------------


def add_milestone(
    s: Session, actor: Actor, plan: Plan, title: str, *, due: date | None = None
) -> Milestone:
    require_edit(plan, actor)
    title = _clean_title(title, "milestone")
    require_room(s, plan, milestones=1)
    position = (
        s.scalar(select(func.max(Milestone.position)).where(Milestone.plan_id == plan.id)) or 0
    ) + 1
    milestone = Milestone(plan_id=plan.id, position=position, title=title, due_date=due)
    s.add(milestone)
    s.flush()
    _log(s, plan, actor, "milestone.add", milestone=milestone, after=title)
    return milestone


def rename_milestone(
    s: Session, actor: Actor, plan: Plan, milestone: Milestone, title: str
) -> None:
    require_edit(plan, actor)
    _check_milestone(plan, milestone)
    title = _clean_title(title, "milestone")
    _log(
        s, plan, actor, "milestone.rename", milestone=milestone, before=milestone.title, after=title
    )
    milestone.title = title


def move_milestone(
    s: Session, actor: Actor, plan: Plan, milestone: Milestone, position: int
) -> None:
    """Put a milestone at a 1-based position, renumbering the others."""
    require_edit(plan, actor)
    _check_milestone(plan, milestone)
    ordered = list(
        s.scalars(
            select(Milestone).where(Milestone.plan_id == plan.id).order_by(Milestone.position)
        )
    )
    old = ordered.index(milestone) + 1
    ordered.remove(milestone)
    position = max(1, min(position, len(ordered) + 1))
    ordered.insert(position - 1, milestone)
    for i, m in enumerate(ordered, start=1):
        m.position = i
    _log(s, plan, actor, "milestone.move", milestone=milestone, before=old, after=position)


def remove_milestone(s: Session, actor: Actor, plan: Plan, milestone: Milestone) -> int:
    """Remove a milestone and its tasks; returns how many tasks went with it."""
    require_edit(plan, actor)
    _check_milestone(plan, milestone)
    count = s.scalar(select(func.count()).where(Task.milestone_id == milestone.id)) or 0
    _log(s, plan, actor, "milestone.remove", milestone=milestone, before=milestone.title)
    s.execute(delete(Task).where(Task.milestone_id == milestone.id))
    s.delete(milestone)
    return count


def set_milestone_status(
    s: Session, actor: Actor, plan: Plan, milestone: Milestone, status: str | None
) -> None:
    """Override the derived status by hand (None clears the override)."""
    require_edit(plan, actor)
    _check_milestone(plan, milestone)
    if status is not None and status not in STATUSES:
        raise Invalid("Unknown status “{status}”.", status=status)
    _log(
        s,
        plan,
        actor,
        "milestone.status",
        milestone=milestone,
        before=milestone.manual_status,
        after=status,
    )
    milestone.manual_status = status


def default_milestone(s: Session, actor: Actor, plan: Plan) -> Milestone:
    """Where a task goes when no milestone is named: the first one not yet
    completed, else the last; a plan with none gets one."""
    milestones = list(
        s.scalars(
            select(Milestone).where(Milestone.plan_id == plan.id).order_by(Milestone.position)
        )
    )
    if not milestones:
        return add_milestone(s, actor, plan, DEFAULT_MILESTONE)
    open_ids = set(
        s.scalars(
            select(Task.milestone_id).where(Task.plan_id == plan.id, Task.status != "completed")
        )
    )
    for m in milestones:
        if m.manual_status != "completed" and m.id in open_ids:
            return m
    empty = [m for m in milestones if m.manual_status != "completed"]
    return empty[0] if empty else milestones[-1]


# --- tasks ---------------------------------------------------------------------


def add_task(
    s: Session,
    actor: Actor,
    plan: Plan,
    title: str,
    *,
    milestone: Milestone | None = None,
    owner_side: str = "mutual",
    assignee_id: str | None = None,
    due: date | None = None,
    due_offset_days: int | None = None,
    due_business: bool = False,
    internal: bool = False,
    notes: str = "",
) -> Task:
    require_edit(plan, actor)
    title = _check_new_task(actor, title, owner_side, internal)
    require_internal_holder(s, actor, plan, internal, assignee_id)
    require_room(s, plan, tasks=1)
    if milestone is None:
        milestone = default_milestone(s, actor, plan)
    _check_milestone(plan, milestone)
    plan = lock_plan(s, plan.id)  # hands out the next #number without a race
    number = plan.next_task_number
    plan.next_task_number = number + 1
    position = (
        s.scalar(select(func.max(Task.position)).where(Task.milestone_id == milestone.id)) or 0
    ) + 1
    at = clock.now()
    task = Task(
        plan_id=plan.id,
        milestone_id=milestone.id,
        number=number,
        position=position,
        title=title,
        owner_side=owner_side,
        assignee_id=assignee_id,
        status="not_started",
        internal=internal,
        due_date=due,
        due_offset_days=due_offset_days,
        due_business=due_business,
        due_pinned=False,
        risk="on_track",
        risk_reason="",
        notes=notes,
        created_at=at,
        updated_at=at,
    )
    if due is None and due_offset_days is not None:
        task.due_date = _relative_due(plan, task)
    s.add(task)
    s.flush()
    _log(s, plan, actor, "task.add", task=task, milestone=milestone, after=title)
    return task


def _check_new_task(actor: Actor, title: str, owner_side: str, internal: bool) -> str:
    """The checks every new task passes; returns the cleaned title."""
    title = _clean_title(title, "task")
    if owner_side not in OWNER_SIDES:
        raise Invalid("Owner must be buyer, seller or mutual, not “{side}”.", side=owner_side)
    if internal and actor.side != "seller":
        raise Forbidden("Only the seller team can add internal tasks.")
    return title


@dataclass(frozen=True)
class NewTask:
    """One of many tasks to add at once (`add_tasks`); nobody holds it yet."""

    title: str
    milestone: Milestone
    owner_side: str = "mutual"
    due: date | None = None
    due_offset_days: int | None = None
    due_business: bool = False
    internal: bool = False


def add_tasks(s: Session, actor: Actor, plan: Plan, new: list[NewTask]) -> list[tuple[int, int]]:
    """Add many tasks (a template laid out) with `add_task`'s checks, in one
    statement for the rows and one for their activities: the write lock is held
    for a fixed number of statements, not a round trip per task. Returns
    (id, #number)s in order."""
    require_edit(plan, actor)
    titles = [_check_new_task(actor, t.title, t.owner_side, t.internal) for t in new]
    for t in new:
        _check_milestone(plan, t.milestone)
    if not new:
        return []
    require_room(s, plan, tasks=len(new))
    plan = lock_plan(s, plan.id)
    first = plan.next_task_number
    plan.next_task_number = first + len(new)
    positions = dict(
        s.execute(
            select(Task.milestone_id, func.max(Task.position))
            .where(Task.plan_id == plan.id)
            .group_by(Task.milestone_id)
        ).all()
    )
    at = clock.now()
    rows = []
    for i, (t, title) in enumerate(zip(new, titles, strict=True)):
        position = positions.get(t.milestone.id, 0) + 1
        positions[t.milestone.id] = position
        due = t.due
        if due is None and t.due_offset_days is not None and plan.target_date is not None:
            due = shift(plan.target_date, t.due_offset_days, t.due_business, plan.country)
        rows.append(
            {
                "plan_id": plan.id,
                "milestone_id": t.milestone.id,
                "number": first + i,
                "position": position,
                "title": title,
                "owner_side": t.owner_side,
                "assignee_id": None,
                "status": "not_started",
                "internal": t.internal,
                "due_date": due,
                "due_offset_days": t.due_offset_days,
                "due_business": t.due_business,
                "due_pinned": False,
                "risk": "on_track",
                "risk_reason": "",
                "notes": "",
                "created_at": at,
                "updated_at": at,
            }
        )
    s.flush()  # the plan's next number first, then the rows that depend on it
    s.execute(insert(Task), rows)  # executemany; RETURNING would go row by row on SQLite
    ids = s.execute(
        select(Task.id, Task.number)
        .where(Task.plan_id == plan.id, Task.number.between(first, first + len(new) - 1))
        .order_by(Task.number)
    ).all()
    activity = [
        {
            "plan_id": plan.id,
            "task_id": task_id,
            "milestone_id": row["milestone_id"],
            "actor_id": actor.user_id,
            "actor_side": actor.side,
            "action": "task.add",
            "before": None,
            "after": row["title"],
            "at": at,
        }
        for (task_id, _), row in zip(ids, rows, strict=True)
    ]
    s.execute(_INSERT_ACTIVITY, activity)
    webhook_events.note(s, activity)
    return [(task_id, number) for task_id, number in ids]


def rename_task(s: Session, actor: Actor, plan: Plan, task: Task, title: str) -> None:
    require_edit(plan, actor)
    _check_task(plan, task)
    title = _clean_title(title, "task")
    _log(s, plan, actor, "task.rename", task=task, before=task.title, after=title)
    task.title = title
    task.updated_at = clock.now()


def move_task(s: Session, actor: Actor, plan: Plan, task: Task, milestone: Milestone) -> None:
    require_edit(plan, actor)
    _check_task(plan, task)
    _check_milestone(plan, milestone)
    if task.milestone_id == milestone.id:
        return
    before = task.milestone_id
    position = (
        s.scalar(select(func.max(Task.position)).where(Task.milestone_id == milestone.id)) or 0
    ) + 1
    task.milestone_id = milestone.id
    task.position = position
    task.updated_at = clock.now()
    _log(
        s,
        plan,
        actor,
        "task.move",
        task=task,
        milestone=milestone,
        before=before,
        after=milestone.id,
    )


def remove_task(s: Session, actor: Actor, plan: Plan, task: Task) -> None:
    require_edit(plan, actor)
    _check_task(plan, task)
    _log(s, plan, actor, "task.remove", task=task, before=task.title)
    s.delete(task)


def assign_task(s: Session, actor: Actor, plan: Plan, task: Task, assignee_id: str | None) -> None:
    require_edit(plan, actor)
    _check_task(plan, task)
    require_internal_holder(s, actor, plan, task.internal, assignee_id)
    _log(s, plan, actor, "task.assign", task=task, before=task.assignee_id, after=assignee_id)
    task.assignee_id = assignee_id
    task.updated_at = clock.now()


_TASKS = cast(Table, Task.__table__)
_SET_STATUS = (
    update(_TASKS)
    .where(_TASKS.c.id == bindparam("task_id"), _TASKS.c.status == bindparam("was"))
    .values(
        status=bindparam("new_status"),
        updated_at=bindparam("at"),
        completed_at=bindparam("done_at"),
        completed_by=bindparam("done_by"),
    )
)


def set_task_status(s: Session, actor: Actor, plan: Plan, task: Task, status: str) -> bool:
    """Start, complete or reopen a task. Returns False when it already had that status."""
    _require_same_team(plan, actor)
    _check_task(plan, task)
    if status not in STATUSES:
        raise Invalid("Unknown status “{status}”.", status=status)
    reason = can_set_task_status(actor.side, task.owner_side, task.internal)
    if reason:
        raise Forbidden(reason)
    if task.status == status:
        return False
    # A single UPDATE … WHERE keeps two simultaneous clicks from both "winning".
    at = clock.now()
    done = status == "completed"
    s.flush()  # as Session.execute would (a no-op when nothing is pending)
    result = s.connection().execute(  # Core, built once: every click runs it
        _SET_STATUS,
        {
            "task_id": task.id,
            "was": task.status,
            "new_status": status,
            "at": at,
            "done_at": at if done else None,
            "done_by": actor.user_id if done else None,
        },
    )
    if getattr(result, "rowcount", 1) == 0:
        s.refresh(task)
        return False
    before = task.status
    # The row is known now: keep the loaded object in step without reading it back.
    for name, value in (
        ("status", status),
        ("updated_at", at),
        ("completed_at", at if done else None),
        ("completed_by", actor.user_id if done else None),
    ):
        set_committed_value(task, name, value)
    _log(s, plan, actor, "task.status", task=task, before=before, after=status)
    return True


def set_task_due(s: Session, actor: Actor, plan: Plan, task: Task, due: date | None) -> None:
    """A date set by hand: it stays put when the target date moves."""
    require_edit(plan, actor)
    _check_task(plan, task)
    _log(
        s,
        plan,
        actor,
        "task.due",
        task=task,
        before=task.due_date.isoformat() if task.due_date else None,
        after=due.isoformat() if due else None,
    )
    task.due_date = due
    task.due_pinned = due is not None or task.due_offset_days is not None
    task.updated_at = clock.now()


# --- people --------------------------------------------------------------------


def upsert_person(
    s: Session,
    team_id: str,
    user_id: str,
    *,
    home_team_id: str | None,
    name: str,
    tz: str | None,
    is_guest: bool,
) -> Person:
    """Record what Slack told us about someone (`users.info`)."""
    find = select(Person).where(Person.team_id == team_id, Person.user_id == user_id)
    person = s.scalar(find)
    if person is None:
        # Two requests (or a request and the Home publisher) may meet a new person
        # at once; on PostgreSQL the loser's insert fails: then update the winner's row.
        try:
            with s.begin_nested():
                person = Person(team_id=team_id, user_id=user_id)
                s.add(person)
                s.flush()
        except IntegrityError:
            person = s.scalars(find).one()
    person.home_team_id = home_team_id
    person.name = name
    person.tz = tz
    person.is_guest = is_guest
    person.refreshed_at = clock.now()
    s.flush()
    return person
