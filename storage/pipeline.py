"""The manager's pipeline: every plan of the workspace the viewer may see, riskiest
first — current milestone, progress, health and its reasons, target, forecast,
next buyer step, last movement.

Who sees what: the pipeline is the seller team's (a buyer is refused before
anything is read). A manager (`storage.managers`) sees every plan of the
workspace; any other seller the plans they own. Filters narrow that scope, never
widen it: `owner @x` for a seller who is no manager finds only their own.

Cost: a fixed number of statements whatever the number of plans (the scope, the
managers, then `storage.plan_facts`), and pure rules over the facts. The forecast
(a simulation per plan) is worked out only for the rows that will be shown, unless
asked for all of them (the CSV).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from reminders.forecast import Forecast, forecast
from reminders.health import SEVERITY, Health, assess, local_today
from storage import services
from storage.managers import is_manager
from storage.models import Plan
from storage.plan_facts import PlanFacts, TaskFact, plan_facts
from storage.rules import Actor

SELLERS_ONLY = "The pipeline is for the seller team."
FILTERS = ("all", "mine", "at-risk", "stalled", "owner")  # "at-risk": anything not on track
FORECAST_RUNS = 500  # simulations per plan: enough for P10/P50/P90 to the day
FORECAST_SEED = 11  # the same plan forecasts the same every time it is shown


@dataclass(frozen=True)
class PipelineRow:
    plan_id: int
    title: str
    channel_id: str
    owner_id: str
    milestone: str | None  # the first milestone not completed
    done: int
    total: int
    health: Health
    target: date | None
    forecast: Forecast | None  # None: not worked out for this row (beyond the page)
    next_buyer_step: TaskFact | None
    last_movement: datetime | None
    today: date  # the plan's local date


@dataclass(frozen=True)
class PipelineView:
    kind: str  # one of FILTERS
    owner: str | None
    everyone: bool  # a manager's view: every plan of the workspace
    rows: tuple[PipelineRow, ...]


def scope_ids(
    s: Session, actor: Actor, kind: str, owner: str | None = None
) -> tuple[bool, list[int]]:
    """(whether the viewer sees everyone's plans, the ids of the plans in scope)."""
    if actor.side != "seller":
        raise services.Forbidden(SELLERS_ONLY)
    if kind not in FILTERS:
        raise services.Invalid("Unknown pipeline filter “{kind}”.", kind=kind)
    everyone = is_manager(s, actor)
    query = select(Plan.id).where(Plan.team_id == actor.team_id, Plan.archived.is_(False))
    if not everyone or kind == "mine":
        query = query.where(Plan.created_by == actor.user_id)
    if kind == "owner":
        query = query.where(Plan.created_by == (owner or ""))
    return everyone, list(s.scalars(query.order_by(Plan.id)))


def pipeline(
    s: Session,
    actor: Actor,
    kind: str = "all",
    owner: str | None = None,
    at: datetime | None = None,
    *,
    forecast_rows: int | None = None,
) -> PipelineView:
    """The viewer's pipeline at `at` (default now); forecasts for the first
    `forecast_rows` rows (None: all)."""
    everyone, ids = scope_ids(s, actor, kind, owner)
    facts = plan_facts(s, ids)
    rows = [_row(f, local_today(f, at)) for f in facts.values()]
    if kind == "at-risk":
        rows = [r for r in rows if r.health.state != "on_track"]
    elif kind == "stalled":
        rows = [r for r in rows if r.health.state == "stalled"]
    rows.sort(key=risk_order)
    limit = len(rows) if forecast_rows is None else forecast_rows
    rows = [_with_forecast(r, facts[r.plan_id]) if n < limit else r for n, r in enumerate(rows)]
    return PipelineView(kind, owner, everyone, tuple(rows))


def pipeline_up_to(
    s: Session, actor: Actor, most: int, *, forecast_rows: int | None = None
) -> PipelineView | int:
    """The viewer's whole pipeline if it has at most `most` plans, else how many it
    has (App Home is rendered by the refresh worker, which must not spend seconds
    on one manager's Home while cards wait)."""
    everyone, ids = scope_ids(s, actor, "all")
    if len(ids) > most:
        return len(ids)
    return pipeline(s, actor, forecast_rows=forecast_rows)


def risk_order(row: PipelineRow) -> tuple[int, int, date, int]:
    """Stalled, then at risk, then on track; more reasons first; the nearer target first."""
    return (
        -SEVERITY[row.health.state],
        -len(row.health.reasons) if row.health.state != "on_track" else 0,
        row.target or date.max,
        row.plan_id,
    )


def _row(f: PlanFacts, today: date) -> PipelineRow:
    current = next((m for m in f.milestones if f.milestone_status(m) != "completed"), None)
    return PipelineRow(
        plan_id=f.id,
        title=f.title,
        channel_id=f.channel_id,
        owner_id=f.created_by,
        milestone=current.title if current is not None else None,
        done=sum(1 for t in f.tasks if not t.is_open),
        total=len(f.tasks),
        health=assess(f, today),
        target=f.target_date,
        forecast=None,
        next_buyer_step=next_buyer_step(f.tasks),
        last_movement=f.last_movement,
        today=today,
    )


def next_buyer_step(tasks: Sequence[TaskFact]) -> TaskFact | None:
    """The buyer's (or a mutual) open task due first; never an internal one."""
    steps = [t for t in tasks if t.is_open and t.owner_side != "seller" and not t.internal]
    return min(steps, key=lambda t: (t.due_date or date.max, t.number), default=None)


def _with_forecast(row: PipelineRow, facts: PlanFacts) -> PipelineRow:
    made = forecast(facts, row.today, runs=FORECAST_RUNS, seed=FORECAST_SEED)
    return replace(row, forecast=made)


def filter_spec(kind: str, owner: str | None = None) -> str:
    """A filter as a button value or an outbox row's text: "at-risk", "owner:U123"."""
    return f"owner:{owner}" if kind == "owner" and owner else kind


def parse_spec(spec: str) -> tuple[str, str | None] | None:
    """The filter a spec names, or None for one we never made (a crafted value)."""
    kind, _, owner = spec.partition(":")
    if kind == "owner":
        return (kind, owner) if owner[:1] in ("U", "W") and owner.isalnum() else None
    return (kind, None) if kind in FILTERS and not owner else None
