"""A forecast of go-live from the plan's own pace: a seeded Monte Carlo.

The model (all time in business days on the plan's calendar: weekends and the
country's public holidays skipped):

1. **Pace.** The plan closes tasks like a Poisson process of unknown rate λ. Having
   seen n tasks completed in T business days since the plan was created, λ has the
   posterior Gamma(n, 1/T). A pace run draws a λ, then the time to close the R open
   tasks, Gamma(R, 1/λ) (R exponential gaps). Little history → a wide λ → a wide
   range; more history narrows it.
2. **Dates.** Each completed task with a due date says how late (or early) the
   team finishes against its dates: done date − due date. A dates run gives every
   open task with a due date a lateness drawn from those (a bootstrap), so it
   finishes on its due date plus that, never before today; go-live is the last.
3. Half the runs are pace runs and half dates runs (all pace runs when no open
   task has a date or no completed task had one): teams that work through a list
   and teams that work to their dates are both common, and the history of a
   young plan can't tell them apart. P10, P50 and P90 over the runs are the range
   and the forecast; the slip is P50 against the target date, in business days.

Fewer than `MIN_COMPLETED` completed tasks: no forecast, and the line says so.
Validated on simulated plans of known pace in bench/forecast_validation.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from storage.clock import zone
from storage.plan_facts import PlanFacts
from storage.workdays import is_business_day

MIN_COMPLETED = 3  # fewer completed tasks than this say too little about the pace
HORIZON_YEARS = 5  # forecasts further out are held at this horizon and say so
PAST_YEARS = 5  # history older than this is read as if from this far back
DATES_SHARE = 0.5  # of the runs that follow the plan's dates rather than its pace

Ints = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Forecast:
    p50: date | None
    p10: date | None
    p90: date | None
    slip_business_days: int | None  # P50 − target (negative: ahead); None: no target/forecast
    line: str  # plain text for the card, digests and summaries
    completed: int = 0  # how many completed tasks the pace is read from
    remaining: int = 0

    @property
    def available(self) -> bool:
        return self.p50 is not None


@dataclass(frozen=True)
class _Calendar:
    """Business days as ordinals: ordinal(d) counts business days up to d."""

    origin: date
    cum: Ints  # cum[i]: business days in [origin, origin + i]
    days: Ints  # days[k]: offset from origin of the (k + 1)-th business day

    def ordinal(self, d: date) -> int:
        i = min(max((d - self.origin).days, 0), len(self.cum) - 1)
        return int(self.cum[i])

    def ordinals(self, ds: list[date]) -> Ints:
        return np.array([self.ordinal(d) for d in ds], dtype=np.int64)

    def date_of(self, ordinal: int) -> date:
        k = min(max(ordinal, 1), len(self.days)) - 1
        return self.origin + timedelta(days=int(self.days[k]))

    @property
    def last(self) -> int:
        return int(self.cum[-1])


@lru_cache(maxsize=32)
def _calendar(country: str | None, first_year: int, last_year: int) -> _Calendar:
    origin = date(first_year, 1, 1)
    n = (date(last_year + 1, 1, 1) - origin).days
    flags = np.fromiter(
        (is_business_day(origin + timedelta(days=i), country) for i in range(n)),
        dtype=np.int64,
        count=n,
    )
    return _Calendar(origin, np.cumsum(flags), np.flatnonzero(flags).astype(np.int64))


def short_date(d: date, today: date) -> str:
    """A date as "Mar 12", with the year when it is not this year."""
    return f"{d:%b} {d.day}" if d.year == today.year else f"{d:%b} {d.day}, {d.year}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _slip_words(slip: int | None) -> str:
    if slip is None:
        return "no target date to compare with"
    if slip == 0:
        return "on the target"
    where = "after" if slip > 0 else "before"
    return f"{_plural(abs(slip), 'business day')} {where} the target"


def forecast(facts: PlanFacts, today: date, *, runs: int = 2000, seed: int = 0) -> Forecast:
    """Go-live at the plan's own pace, seen on its local date `today`."""
    local = zone(facts.tz)
    done = [t for t in facts.tasks if not t.is_open and t.completed_at is not None]
    open_tasks = [t for t in facts.tasks if t.is_open]
    n, r = len(done), len(open_tasks)
    if n < MIN_COMPLETED:
        return Forecast(
            None,
            None,
            None,
            None,
            f"too little history to forecast ({_plural(n, 'task')} completed)",
            completed=n,
            remaining=r,
        )
    done_dates = [t.completed_at.astimezone(local).date() for t in done if t.completed_at]
    start = min(facts.created_at.astimezone(local).date(), *done_dates)
    first = max(start.year, today.year - PAST_YEARS)
    cal = _calendar(facts.country, first, today.year + HORIZON_YEARS)
    now = cal.ordinal(today)
    if r == 0:
        last = max(done_dates)
        return _result(facts, today, cal, [cal.ordinal(last)] * 3, n, r, finished=True)
    exposure = max(now - cal.ordinal(start), 1)
    lateness = np.array(
        [
            cal.ordinal(d) - cal.ordinal(t.due_date)
            for t, d in zip(done, done_dates, strict=True)
            if t.due_date is not None
        ],
        dtype=np.int64,
    )
    rng = np.random.default_rng(seed)
    rate = rng.gamma(shape=n, scale=1.0 / exposure, size=runs)
    pace = now + np.ceil(rng.gamma(shape=r, scale=1.0, size=runs) / rate).astype(np.int64)
    go = np.minimum(pace, cal.last)
    dues = [t.due_date for t in open_tasks if t.due_date is not None]
    if dues and len(lateness):
        late = rng.choice(lateness, size=(runs, len(dues)))
        dated = np.maximum(cal.ordinals(dues)[None, :] + late, now).max(axis=1)
        go = np.where(rng.random(runs) < DATES_SHARE, np.minimum(dated, cal.last), go)
    p10, p50, p90 = (int(q) for q in np.percentile(go, (10, 50, 90), method="nearest"))
    return _result(facts, today, cal, [p10, p50, p90], n, r, finished=False)


def _result(
    facts: PlanFacts,
    today: date,
    cal: _Calendar,
    quantiles: list[int],
    n: int,
    r: int,
    *,
    finished: bool,
) -> Forecast:
    p10, p50, p90 = (cal.date_of(q) for q in quantiles)
    slip = None
    if facts.target_date is not None:
        slip = quantiles[1] - cal.ordinal(facts.target_date)
    if finished:
        line = (
            f"All {_plural(n, 'task')} completed, the last on {short_date(p50, today)}: "
            f"{_slip_words(slip)}."
        )
    elif quantiles[1] >= cal.last:
        line = f"At this pace go-live lands more than {HORIZON_YEARS} years out."
    else:
        line = (
            f"At this pace go-live lands {short_date(p50, today)} "
            f"({short_date(p10, today)} – {short_date(p90, today)}), {_slip_words(slip)}."
        )
    return Forecast(p50, p10, p90, slip, line, completed=n, remaining=r)
