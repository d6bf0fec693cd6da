"""How good is the go-live forecast? Simulated plans whose true pace is known.

    .venv/bin/python bench/forecast_validation.py [--plans 400] [--seed 1]

Each simulated plan has N tasks (12–40) due evenly from its start to its target at a
planned pace of one task every g business days (g from 1 to 4), half of them on
the US calendar (its holidays skipped). Half the teams are *pace-driven*: they
work at their own speed, a slowness s (0.6–1.8) times the plan, closing tasks one
after another with exponential gaps of mean g·s business days. The others are
*date-driven*: each task closes around its due date, late by a normal amount of
mean μ (−2 to 8) and spread σ (0.5 to 3) business days of the team's own. The true
go-live is when the last task closes. At 25 %, 50 % and 75 % of the tasks done, the forecast sees only what was
done by then; we print the median absolute error of its P50 against the truth in
business days and how often the truth falls inside P10–P90.
tests/test_forecast.py holds floors on these figures for a smaller run.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from reminders.forecast import forecast  # noqa: E402
from storage.plan_facts import MilestoneFact, PlanFacts, TaskFact  # noqa: E402
from storage.workdays import add_business_days, business_days_between  # noqa: E402

START = date(2026, 1, 5)  # a Monday
FRACTIONS = (0.25, 0.5, 0.75)


@dataclass(frozen=True)
class Simulated:
    """A plan's truth: due and done dates of every task, in order."""

    country: str | None
    due: tuple[date, ...]
    done: tuple[date, ...]
    target: date

    @property
    def go_live(self) -> date:
        return self.done[-1]


def simulate(rnd: random.Random) -> Simulated:
    n = rnd.randint(12, 40)
    g = rnd.uniform(1.0, 4.0)
    slowness = rnd.uniform(0.6, 1.8)
    country = "US" if rnd.random() < 0.5 else None
    planned = [max(1, round(g * (i + 1))) for i in range(n)]
    due = tuple(add_business_days(START, d, country) for d in planned)
    if rnd.random() < 0.5:  # pace-driven
        clock = 0.0
        offsets = []
        for _ in range(n):
            clock += rnd.expovariate(1.0 / (g * slowness))
            offsets.append(max(1, round(clock)))
    else:  # date-driven
        mu, sigma = rnd.uniform(-2.0, 8.0), rnd.uniform(0.5, 3.0)
        offsets = sorted(max(1, d + round(rnd.gauss(mu, sigma))) for d in planned)
        # Tasks close in due order here too, so the i-th due is the i-th done.
    done = tuple(add_business_days(START, d, country) for d in offsets)
    return Simulated(country, due, done, due[-1])


def _at(d: date) -> datetime:
    return datetime.combine(d, time(16), tzinfo=UTC)


def seen_at(plan: Simulated, k: int) -> tuple[PlanFacts, date]:
    """The plan as it looks the day its k-th task is done."""
    today = plan.done[k - 1]
    tasks = tuple(
        TaskFact(
            id=i + 1,
            number=i + 1,
            title=f"Task {i + 1}",
            milestone_id=1,
            owner_side="mutual",
            internal=False,
            status="completed" if i < k else "not_started",
            assignee_id=None,
            due_date=plan.due[i],
            completed_at=_at(plan.done[i]) if i < k else None,
            created_at=_at(START),
        )
        for i in range(len(plan.due))
    )
    facts = PlanFacts(
        id=1,
        team_id="T0SIM",
        channel_id="C0SIM",
        title="Simulated",
        target_date=plan.target,
        tz="UTC",
        country=plan.country,
        created_by="U0SIM",
        created_at=datetime.combine(START - timedelta(days=1), time(9), tzinfo=UTC),
        milestones=(MilestoneFact(1, 1, "Work", None, None),),
        tasks=tasks,
    )
    return facts, today


@dataclass(frozen=True)
class Figures:
    fraction: float
    plans: int
    median_abs_error: float  # business days, P50 against the truth
    coverage: float  # share of plans whose truth is within P10–P90


def validate(plans: int = 400, seed: int = 1, runs: int = 2000) -> list[Figures]:
    rnd = random.Random(seed)
    simulated = [simulate(rnd) for _ in range(plans)]
    out = []
    for fraction in FRACTIONS:
        errors = []
        inside = 0
        for plan in simulated:
            k = max(1, round(fraction * len(plan.due)))
            facts, today = seen_at(plan, k)
            f = forecast(facts, today, runs=runs, seed=seed)
            assert f.p50 is not None and f.p10 is not None and f.p90 is not None, f.line
            errors.append(abs(business_days_between(plan.go_live, f.p50, plan.country)))
            inside += f.p10 <= plan.go_live <= f.p90
        out.append(Figures(fraction, plans, statistics.median(errors), inside / plans))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plans", type=int, default=400)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print(f"forecast validation: {args.plans} simulated plans, seed {args.seed}")
    print("done   median |P50 - truth| (business days)   truth within P10-P90")
    for f in validate(args.plans, args.seed):
        print(
            f"{f.fraction:4.0%}   {f.median_abs_error:8.1f}                            {f.coverage:6.1%}"
        )


if __name__ == "__main__":
    main()
