"""Who may read or change a plan: the one check every surface goes through.

A seller of the installing team may reach every plan of that team. A
buyer-side person (another organisation, a guest, anyone whose side isn't known
yet) only the plans of the channels they are a member of right now. A plan one
may not reach looks exactly like one that doesn't exist.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, bindparam, select
from sqlalchemy.orm import Session

from storage import lookup, membership
from storage.models import Plan, Task
from storage.rules import Actor
from storage.services import NotFound

NOT_FOUND = "That isn't part of this channel's plan."


class MembersUnknown(NotFound):
    """We don't know who is in the plan's channel. Refused like "not found"
    unless the Slack edge fetches the members and asks again."""

    def __init__(self, team_id: str, channel_id: str) -> None:
        super().__init__(NOT_FOUND)
        self.team_id = team_id
        self.channel_id = channel_id


def plan_for(s: Session, actor: Actor, plan_id: int | None, channel: str = "") -> Plan:
    """The plan `actor` names, if they may reach it — and, when the request came
    from a channel, if it is that channel's plan."""
    # (Session.get(Plan, None) also answers None, with a warning: equivalent.)
    plan = s.get(Plan, plan_id) if plan_id is not None else None  # pragma: no mutate
    return _reachable(s, actor, plan, channel)


def plan_and_task(
    s: Session, actor: Actor, plan_id: int, task_id: int, channel: str = ""
) -> tuple[Plan, Task]:
    """`plan_for`, then the task by id in that plan if the clicker's side may see
    it (`lookup.find_task_by_id`): a click's hot path. One SELECT loads both into
    the session, where the two checks then find them without another; when the
    task is not that plan's, nothing is loaded and they say which is wrong."""
    # Held while the checks run: the session's identity map keeps only weak references.
    loaded = s.execute(_PLAN_AND_TASK, {"plan_id": plan_id, "task_id": task_id}).all()
    plan = plan_for(s, actor, plan_id, channel)
    task = lookup.find_task_by_id(s, plan, task_id, actor.side)
    del loaded
    return plan, task


def _reachable(s: Session, actor: Actor, plan: Plan | None, channel: str) -> Plan:
    if (
        plan is None
        or plan.archived
        or plan.team_id != actor.team_id
        or (channel and plan.channel_id != channel)
    ):
        raise NotFound(NOT_FOUND)
    if actor.side != "seller":
        member = membership.is_member(s, plan.team_id, plan.channel_id, actor.user_id)
        if member is None:
            raise MembersUnknown(plan.team_id, plan.channel_id)
        if not member:
            raise NotFound(NOT_FOUND)
    return plan


_PLAN_AND_TASK = (
    select(Plan, Task)
    .join(Task, Task.plan_id == Plan.id)
    .where(Plan.id == bindparam("plan_id"), Task.id == bindparam("task_id"))
)

# The channel's active plan, loaded whole in one SELECT (the hot path of every
# `/map` command): built once, its parameters bound per call.
_IN_CHANNEL = select(Plan).where(
    Plan.team_id == bindparam("team_id"),
    Plan.channel_id == bindparam("channel_id"),
    Plan.archived.is_(False),
)


def plan_in_channel(s: Session, actor: Actor, channel: str) -> Plan | None:
    """The channel's active plan, or None when there is none for `actor`."""
    plan = s.scalars(_IN_CHANNEL, {"team_id": actor.team_id, "channel_id": channel}).first()
    if plan is None:
        return None
    try:
        return _reachable(s, actor, plan, channel)
    except MembersUnknown:
        raise
    except NotFound:
        return None


def task_for(s: Session, actor: Actor, task_id: int) -> tuple[Plan, Task]:
    """A task named without its plan (a nudge in a DM): its plan must be one
    `actor` may reach, and the task visible to their side."""
    task = s.get(Task, task_id)
    if task is None:
        raise NotFound(NOT_FOUND)
    plan = plan_for(s, actor, task.plan_id)
    return plan, lookup.find_task_by_id(s, plan, task.id, actor.side)


def reachable_plans(actor: Actor) -> ColumnElement[bool]:
    """`plan_for` as a condition on `Plan`, for lists (App Home)."""
    mine = and_(Plan.team_id == actor.team_id, Plan.archived.is_(False))
    if actor.side == "seller":
        return mine
    return and_(mine, Plan.channel_id.in_(membership.channels_of(actor.team_id, actor.user_id)))
