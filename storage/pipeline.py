"""The manager's pipeline: every plan of the workspace the viewer may see, riskiest
first — current milestone, progress, health and its reasons, target, forecast,
next buyer step, last movement.

Who sees what: the pipeline is the seller team's (a buyer is refused before
anything is read). A manager (`storage.managers`) sees every plan of the
workspace; any other seller the plans they own. Filters narrow that scope, never
widen it: `owner @x` for a seller who is no manager finds only their own.

Cost: a fixed number of statements whatever the number of plans (the managers,
the scope with each plan's recorded health, then `storage.plan_facts` for the
plans not assessed today and for the rows shown), and pure rules over the facts.
The rows shown (all of them for the CSV) are worked out in full, the forecast (a
simulation per plan) included; the others are only ranked and counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from reminders.forecast import Forecast, forecast
from reminders.health import SEVERITY, Health, assess
from storage import services
from storage.clock import today_in
from storage.managers import is_manager
from storage.models import Plan, PlanHealth
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
    rows: tuple[PipelineRow, ...]  # the riskiest, worked out in full
    total: int  # plans in the view (after the filter), shown or not


def _scoped(actor: Actor, kind: str, owner: str | None, everyone: bool, *columns: Any) -> Any:
    if kind not in FILTERS:
        raise services.Invalid("Unknown pipeline filter “{kind}”.", kind=kind)
    query = select(*columns).where(Plan.team_id == actor.team_id, Plan.archived.is_(False))
    if not everyone or kind == "mine":
        query = query.where(Plan.created_by == actor.user_id)
    if kind == "owner":
        query = query.where(Plan.created_by == (owner or ""))
    return query.order_by(Plan.id)


def _everyone(s: Session, actor: Actor) -> bool:
    if actor.side != "seller":
        raise services.Forbidden(SELLERS_ONLY)
    return is_manager(s, actor)


def scope_ids(
    s: Session, actor: Actor, kind: str, owner: str | None = None
) -> tuple[bool, list[int]]:
    """(whether the viewer sees everyone's plans, the ids of the plans in scope)."""
    everyone = _everyone(s, actor)
    return everyone, list(s.scalars(_scoped(actor, kind, owner, everyone, Plan.id)))


def pipeline(
    s: Session,
    actor: Actor,
    kind: str = "all",
    owner: str | None = None,
    at: datetime | None = None,
    *,
    rows: int | None = None,
) -> PipelineView:
    """The viewer's pipeline at `at` (default now), riskiest first; the first `rows`
    (None: all, as for the CSV) worked out in full, forecast included.

    Ranking every plan reads the health the tick's health pass keeps in
    `plan_health` (`reminders.health_pass`: assessed again after any activity and
    each local day), so the thousands of plans a manager sees cost one query; a plan
    with no assessment for its local today yet is assessed here. The rows shown are
    assessed afresh from their facts."""
    view = _pipeline(s, actor, kind, owner, at, rows, None)
    assert isinstance(view, PipelineView)
    return view


def pipeline_up_to(s: Session, actor: Actor, most: int, *, rows: int) -> PipelineView | int:
    """The viewer's pipeline, or only how many plans it has when more than `most`
    of them have no health recorded for today (App Home is rendered by the refresh
    worker, which must not spend seconds assessing one manager's plans, should the
    health pass not have run, while cards wait)."""
    return _pipeline(s, actor, "all", None, None, rows, most)


def _pipeline(
    s: Session,
    actor: Actor,
    kind: str,
    owner: str | None,
    at: datetime | None,
    rows: int | None,
    most_stale: int | None,
) -> PipelineView | int:
    everyone = _everyone(s, actor)
    scope = s.execute(
        _scoped(actor, kind, owner, everyone, Plan.id, Plan.tz, Plan.target_date)
        .add_columns(PlanHealth.state, PlanHealth.reasons, PlanHealth.assessed_on)
        .outerjoin(PlanHealth, PlanHealth.plan_id == Plan.id)
    ).all()
    standing: dict[int, tuple[date | None, Health]] = {}
    stale: list[int] = []
    for plan_id, tz, target, state, reasons, assessed in scope:
        if state in SEVERITY and assessed == today_in(tz, at):
            standing[plan_id] = (target, Health(state, tuple(r for r in reasons.split("\n") if r)))
        else:
            stale.append(plan_id)
    if most_stale is not None and len(stale) > most_stale:
        return len(scope)
    facts = plan_facts(s, stale)
    fresh = {pid: _row(f, today_in(f.tz, at)) for pid, f in facts.items()}
    standing.update({pid: (row.target, row.health) for pid, row in fresh.items()})
    ranked = sorted(standing, key=lambda pid: risk_order(pid, *standing[pid]))
    if kind == "at-risk":
        ranked = [pid for pid in ranked if standing[pid][1].state != "on_track"]
    elif kind == "stalled":
        ranked = [pid for pid in ranked if standing[pid][1].state == "stalled"]
    chosen = ranked if rows is None else ranked[:rows]
    facts.update(plan_facts(s, [pid for pid in chosen if pid not in facts]))
    full = [
        _with_forecast(fresh.get(pid) or _row(facts[pid], today_in(facts[pid].tz, at)), facts[pid])
        for pid in chosen
    ]
    return PipelineView(kind, owner, everyone, tuple(full), len(ranked))


def risk_order(plan_id: int, target: date | None, health: Health) -> tuple[int, int, date, int]:
    """Stalled, then at risk, then on track; more reasons first; the nearer target first."""
    return (
        -SEVERITY[health.state],
        -len(health.reasons) if health.state != "on_track" else 0,
        target or date.max,
        plan_id,
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
