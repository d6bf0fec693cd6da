"""Plan health: on track, at risk or stalled, always with its reasons in words.

Pure rules over `PlanFacts` (the plan, its tasks and its activity rows) at a
local date. Each rule has a threshold the plan may set for itself
(`/map health set …`, stored in `plan_health`); None there means the default:

- **overdue tasks** (default 1): at risk when at least this many open tasks are
  past their due date — "3 buyer tasks overdue", counted per owner side.
- **late milestone** (default 1 business day): at risk when a milestone that is
  not completed is this many business days past its date (its own due date, else
  its latest task's), on the plan's calendar (weekends, the country's holidays) —
  "Legal review 6 business days late".
- **target passed**: at risk when the target date is behind us with work open.
- **stall** (default 7 days): stalled when no task or milestone has changed for
  this many days (since the plan was created, if never) — "no movement for 9 days".
- **buyer silence** (default 14 days): at risk when nobody on the buyer side has
  done anything (a status, a comment, an edit) for this many days —
  "nothing from the buyer side for 14 days".

A plan whose tasks are all completed is on track. Reasons are plain text that
may hold user text (milestone titles): renderers escape them (`bot.text`).
Computed from `facts.for_side("buyer")`, nothing in the result depends on an
internal task.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Literal

from storage import clock
from storage.clock import zone
from storage.plan_facts import HealthSettings, MilestoneFact, PlanFacts
from storage.workdays import business_days_between

State = Literal["on_track", "at_risk", "stalled"]
STATES: tuple[State, ...] = ("on_track", "at_risk", "stalled")
STATE_LABEL: dict[str, str] = {"on_track": "On track", "at_risk": "At risk", "stalled": "Stalled"}
SEVERITY: dict[str, int] = {"on_track": 0, "at_risk": 1, "stalled": 2}


@dataclass(frozen=True)
class HealthRules:
    """Thresholds (documented defaults above and in the README)."""

    overdue_tasks: int = 1  # open overdue tasks that make a plan at risk
    milestone_late_days: int = 1  # business days a milestone may run late
    stall_days: int = 7  # days without movement before a plan is stalled
    buyer_silence_days: int = 14  # days without anything from the buyer side

    @classmethod
    def of(cls, settings: HealthSettings) -> HealthRules:
        """The plan's own thresholds over the defaults."""
        default = cls()
        chosen = {f.name: getattr(settings, f.name) for f in fields(cls)}
        return cls(**{k: getattr(default, k) if v is None else v for k, v in chosen.items()})


@dataclass(frozen=True)
class Health:
    state: State
    reasons: tuple[str, ...]

    @property
    def label(self) -> str:
        return STATE_LABEL[self.state]

    def line(self) -> str:
        """One line, plain text: "At risk: 3 buyer tasks overdue; no movement for 9 days"."""
        return f"{self.label}: {'; '.join(self.reasons)}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def milestone_date(facts: PlanFacts, milestone: MilestoneFact) -> date | None:
    """When a milestone is due: its own date, else its latest task's."""
    if milestone.due_date is not None:
        return milestone.due_date
    dues = [t.due_date for t in facts.tasks_of(milestone.id) if t.due_date is not None]
    return max(dues) if dues else None


def _days_since(today: date, at_date: date) -> int:
    return max(0, (today - at_date).days)


def assess(facts: PlanFacts, today: date, rules: HealthRules | None = None) -> Health:
    """The plan's health on its local date `today` (rules: the plan's own by default)."""
    rules = rules or HealthRules.of(facts.health_settings)
    open_tasks = [t for t in facts.tasks if t.is_open]
    if facts.tasks and not open_tasks:
        return Health("on_track", (f"all {_plural(len(facts.tasks), 'task')} completed",))
    stalled: list[str] = []
    risks: list[str] = []
    overdue = [t for t in open_tasks if t.is_overdue(today)]
    if overdue and len(overdue) >= rules.overdue_tasks:
        by_side = Counter(t.owner_side for t in overdue)
        for side in ("buyer", "seller", "mutual"):
            if by_side[side]:
                risks.append(f"{_plural(by_side[side], side + ' task')} overdue")
    for m in facts.milestones:
        due = milestone_date(facts, m)
        if due is None or due >= today or facts.milestone_status(m) == "completed":
            continue
        late = business_days_between(due, today, facts.country)
        if late >= rules.milestone_late_days:
            risks.append(f"{m.title} {_plural(late, 'business day')} late")
    if open_tasks and facts.target_date is not None and facts.target_date < today:
        late = business_days_between(facts.target_date, today, facts.country)
        risks.append(
            f"target date passed {_plural(late, 'business day')} ago "
            f"with {_plural(len(open_tasks), 'task')} open"
        )
    local = zone(facts.tz)
    moved = facts.last_movement
    since = moved if moved is not None else facts.created_at
    idle = _days_since(today, since.astimezone(local).date())
    if idle >= rules.stall_days:
        stalled.append(
            f"no movement for {_plural(idle, 'day')}"
            if moved is not None
            else f"no movement since the plan was created {_plural(idle, 'day')} ago"
        )
    buyer = facts.last_activity("buyer")
    quiet = _days_since(
        today, (buyer if buyer is not None else facts.created_at).astimezone(local).date()
    )
    if open_tasks and quiet >= rules.buyer_silence_days:
        risks.append(
            f"nothing from the buyer side for {_plural(quiet, 'day')}"
            if buyer is not None
            else f"nothing from the buyer side yet ({_plural(quiet, 'day')})"
        )
    if stalled:
        return Health("stalled", tuple(stalled + risks))
    if risks:
        return Health("at_risk", tuple(risks))
    if not facts.tasks:
        return Health("on_track", ("no tasks yet",))
    return Health("on_track", (_on_track_words(facts, today, idle),))


def _on_track_words(facts: PlanFacts, today: date, idle: int) -> str:
    done = sum(1 for t in facts.tasks if not t.is_open)
    moved = "moved today" if idle == 0 else f"last movement {_plural(idle, 'day')} ago"
    return f"nothing overdue, {done} of {len(facts.tasks)} tasks completed, {moved}"


def local_today(facts: PlanFacts, at: datetime | None = None) -> date:
    """Today in the plan's zone at `at` (default now)."""
    return clock.today_in(facts.tz, at)
