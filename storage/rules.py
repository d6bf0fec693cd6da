"""Domain rules as pure functions: statuses, sides and who may do what."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Side = Literal["buyer", "seller"]
OwnerSide = Literal["buyer", "seller", "mutual"]
Status = Literal["not_started", "in_progress", "completed"]

STATUSES: tuple[Status, ...] = ("not_started", "in_progress", "completed")
OWNER_SIDES: tuple[OwnerSide, ...] = ("buyer", "seller", "mutual")
STATUS_LABEL: dict[str, str] = {
    "not_started": "Not started",
    "in_progress": "In progress",
    "completed": "Completed",
}


@dataclass(frozen=True)
class Actor:
    """Who is acting, already placed on a side by `bot.identity`."""

    user_id: str
    side: Side
    team_id: str  # the seller (installing) team the request was authorised for


def derive_milestone_status(task_statuses: Iterable[str], manual: str | None = None) -> str:
    """All completed → completed; any started or completed → in progress; else not started.

    A status a person set by hand wins until it is cleared.
    """
    if manual is not None:
        return manual
    statuses = list(task_statuses)
    if statuses and all(s == "completed" for s in statuses):
        return "completed"
    if any(s in ("in_progress", "completed") for s in statuses):
        return "in_progress"
    return "not_started"


def can_set_task_status(actor_side: Side, owner_side: str, internal: bool) -> str | None:
    """None when allowed, else the reason to show the person."""
    if actor_side == "seller":
        return None
    if internal:
        # Buyers must not learn that the task exists: same words as "not found".
        return "That task isn't part of this plan."
    if owner_side == "seller":
        return "That's a seller task: only the seller team can change it. Ask them in the channel."
    return None


def can_edit_plan(actor_side: Side, buyers_can_edit: bool) -> str | None:
    """Structure changes (add, rename, move, remove, dates) are the seller's unless allowed."""
    if actor_side == "seller" or buyers_can_edit:
        return None
    return (
        "Only the seller team can change the plan itself; you can start and complete buyer tasks."
    )


def visible_to(side: Side, internal: bool) -> bool:
    """Internal tasks are the seller's alone."""
    return side == "seller" or not internal


# --- collaboration (task modals, comments, people) -------------------------------

Risk = Literal["on_track", "at_risk", "blocked"]
RISKS: tuple[Risk, ...] = ("on_track", "at_risk", "blocked")
RISK_LABEL: dict[str, str] = {"on_track": "On track", "at_risk": "At risk", "blocked": "Blocked"}


def can_edit_task(
    actor_side: Side, buyers_can_edit: bool, owner_side: str, internal: bool
) -> str | None:
    """Editing a task's fields: the plan's structure rule, and a buyer allowed to
    edit still never touches seller or internal tasks."""
    reason = can_edit_plan(actor_side, buyers_can_edit)
    if reason or actor_side == "seller":
        return reason
    if internal:
        return "That task isn't part of this plan."
    if owner_side == "seller":
        return "That's a seller task: only the seller team can change it."
    return None


def can_comment(actor_side: Side, internal: bool) -> str | None:
    """Anyone may comment on what they can see."""
    return None if visible_to(actor_side, internal) else "That task isn't part of this plan."


def can_place_people(actor_side: Side) -> str | None:
    """Putting someone on a side decides what they may see: the seller's call alone."""
    return (
        None if actor_side == "seller" else "Only the seller team can change who is on which side."
    )


# --- who may hold an internal task ---------------------------------------------


@dataclass(frozen=True)
class PersonFacts:
    """What the person row says about someone's side (`storage.models.Person`)."""

    home_team_id: str | None
    is_guest: bool
    side_override: str | None


def person_side(plan_team_id: str, person: PersonFacts | None) -> Side:
    """Which side someone is on for a plan of `plan_team_id`. A side set by hand
    wins; another team's member, a guest, or someone we know nothing about
    (fail closed) is on the buyer side."""
    if person is None:
        return "buyer"
    if person.side_override in ("buyer", "seller"):
        return person.side_override  # type: ignore[return-value]
    if person.home_team_id and person.home_team_id != plan_team_id:
        return "buyer"
    return "buyer" if person.is_guest else "seller"


_USER_ID = re.compile(r"[UW][A-Z0-9]{2,}")


def can_hold_internal(
    internal: bool, assignee_id: str | None, person: PersonFacts | None, plan_team_id: str
) -> str | None:
    """None when the assignment may stand, else the reason: an internal task is
    never assigned to a buyer-side person, nor to someone whose side is unknown."""
    if not internal or assignee_id is None:
        return None
    who = f"<@{assignee_id}>" if _USER_ID.fullmatch(assignee_id) else "that person"
    if person is None:
        return (
            f"I don't know {who} yet: an internal task only goes to someone I know is "
            "on the seller team. Place them with `/map people` first."
        )
    if person_side(plan_team_id, person) == "buyer":
        return (
            f"{who} is on the buyer side: an internal task is the seller's alone. "
            "Assign it to your team, or make it not internal."
        )
    return None
