"""What an extractor proposes: plain data, checked by `validate`, reviewed by a person."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal, Protocol

Side = Literal["buyer", "seller", "mutual"]
SIDES: tuple[Side, ...] = ("buyer", "seller", "mutual")

# Far above a call's worth of next steps; the review modal shows fewer (Slack's 100 blocks).
MAX_TASKS = 100
MAX_MILESTONES = 20
TITLE_MAX = 200  # a proposed title is shortened to this (a task title holds 500)
NOTES_MAX = 40_000  # characters read: a Slack message holds up to 40,000


@dataclass(frozen=True)
class Known:
    """Someone the notes may name: a stakeholder or a channel member we know."""

    user_id: str
    name: str  # display or real name, e.g. "Jane Doe" or "jane"
    side: Literal["buyer", "seller"]


@dataclass(frozen=True)
class DraftContext:
    """What an extractor reads the notes against."""

    call_date: date  # relative dates ("by Friday") count from the call, in the plan's zone
    day_first: bool = False  # 03/04 is 3 April where the plan's country writes so
    people: tuple[Known, ...] = ()
    seller_orgs: tuple[str, ...] = ()  # names that mean the seller ("LexCorp")
    buyer_orgs: tuple[str, ...] = ()  # names that mean the buyer ("Monsters")


@dataclass(frozen=True)
class DraftTask:
    title: str
    milestone: str
    side: Side = "mutual"
    assignee_id: str | None = None
    due: date | None = None


@dataclass(frozen=True)
class Proposal:
    title: str = ""
    golive: date | None = None
    tasks: tuple[DraftTask, ...] = ()
    notes: tuple[str, ...] = field(default=())  # what the extractor wants the rep to know

    @property
    def milestones(self) -> list[str]:
        """Milestone titles in the order their first task appears."""
        return list(dict.fromkeys(t.milestone for t in self.tasks))


class Extractor(Protocol):
    """Notes in, a proposal out; never raises for any text."""

    def __call__(self, text: str, ctx: DraftContext) -> Proposal: ...
