"""The go-live forecast: what it says, its properties over generated plans, and
floors on its accuracy over simulated plans of known pace
(bench/forecast_validation.py prints the full figures)."""

from __future__ import annotations

import re
from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from bench.forecast_validation import validate
from reminders.forecast import forecast
from storage.workdays import add_business_days, business_days_between, is_business_day
from tests.facts_builder import facts, task

START = date(2026, 1, 5)  # a Monday


def _history(n: int, gap: int, *, late: int = 0, country: str | None = None) -> list:
    """n tasks done one every `gap` business days from START, each `late` business
    days after its due date."""
    out = []
    for i in range(n):
        done = add_business_days(START, gap * (i + 1), country)
        out.append(task(i + 1, due=add_business_days(done, -late, country), done=done))
    return out


def test_no_completed_task_says_it_cannot_forecast() -> None:
    nothing = facts([task(1, due=START + timedelta(days=10)), task(2)], target=date(2026, 3, 1))
    f = forecast(nothing, START)
    assert (f.p50, f.p10, f.p90, f.slip_business_days) == (None, None, None, None)
    assert f.line == "too little history to forecast (0 tasks completed)"
    two = facts(_history(2, 3) + [task(9)], target=date(2026, 3, 1))
    assert forecast(two, START + timedelta(days=10)).line == (
        "too little history to forecast (2 tasks completed)"
    )


def test_a_late_plan_forecasts_the_slip_in_words_on_its_business_calendar() -> None:
    # Ten tasks done every 2 business days, each 4 business days late; ten to go,
    # due every 2 business days up to the target.
    country = "US"
    done = _history(10, 2, late=4, country=country)
    today = add_business_days(START, 20, country)
    dues = [add_business_days(today, 2 * (i + 1), country) for i in range(10)]
    target = dues[-1]
    plan = facts(
        done + [task(11 + i, due=d) for i, d in enumerate(dues)],
        target=target,
        country=country,
    )
    f = forecast(plan, today)
    assert f.p10 is not None and f.p50 is not None and f.p90 is not None
    assert f.p10 <= f.p50 <= f.p90
    assert all(is_business_day(d, country) for d in (f.p10, f.p50, f.p90))
    assert f.slip_business_days == business_days_between(target, f.p50, country)
    assert f.slip_business_days is not None and 1 <= f.slip_business_days <= 8
    words = re.fullmatch(
        r"At this pace go-live lands (\w{3} \d+) \((\w{3} \d+) – (\w{3} \d+)\), "
        r"(\d+) business days after the target\.",
        f.line,
    )
    assert words, f.line
    assert words[1] == f"{f.p50:%b} {f.p50.day}" and int(words[4]) == f.slip_business_days
    assert forecast(plan, today) == f  # seeded: the same plan, the same words


def test_a_finished_plan_reports_when_it_finished() -> None:
    plan = facts(_history(4, 2), target=add_business_days(START, 10))
    f = forecast(plan, add_business_days(START, 9))
    assert f.p50 == add_business_days(START, 8)
    assert f.slip_business_days == -2
    assert f.line == "All 4 tasks completed, the last on Jan 15: 2 business days before the target."


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(3, 30),
    gap=st.integers(1, 5),
    early=st.lists(st.integers(0, 5), min_size=30, max_size=30),
    spare=st.integers(10, 60),
    remaining=st.integers(1, 15),
    seed=st.integers(0, 2**16),
)
def test_a_plan_ahead_of_schedule_never_forecasts_a_slip(
    n: int, gap: int, early: list[int], spare: int, remaining: int, seed: int
) -> None:
    """Ahead of schedule: every task so far done on or before its due date, every
    open task due by the target, and the open tasks at the plan's own pace would
    take at most half the business days left before the target."""
    done = [
        task(
            i + 1,
            done=add_business_days(START, gap * (i + 1)),
            due=add_business_days(START, gap * (i + 1) + early[i]),
        )
        for i in range(n)
    ]
    today = add_business_days(START, gap * n)
    exposure = business_days_between(START - timedelta(days=1), today)
    left = max(spare, 2 * remaining * exposure // n + 2)
    target = add_business_days(today, left)
    open_tasks = [
        task(100 + i, due=add_business_days(today, min(left, (i + 1) * 3)))
        for i in range(remaining)
    ]
    f = forecast(facts(done + open_tasks, created=START, target=target), today, seed=seed)
    assert f.p50 is not None and f.p50 <= target, f.line
    assert f.slip_business_days is not None and f.slip_business_days <= 0
    assert "after the target" not in f.line


@settings(max_examples=40, deadline=None)
@given(gap=st.integers(1, 4), few=st.integers(3, 5), remaining=st.integers(5, 25))
def test_more_history_at_the_same_pace_narrows_the_range(
    gap: int, few: int, remaining: int
) -> None:
    def width(n: int) -> int:
        today = add_business_days(START, gap * n)
        plan = facts(_history(n, gap) + [task(500 + i) for i in range(remaining)], created=START)
        f = forecast(plan, today)
        assert f.p10 is not None and f.p90 is not None
        return business_days_between(f.p10, f.p90)

    assert width(few * 8) < width(few)


def test_accuracy_on_simulated_plans_of_known_pace_holds_its_floor() -> None:
    """Floors for 120 plans (the bench's 300, seed 1, measured 3.0/2.0/2.0 business
    days and 86/93/89 % coverage): the P50 within 5 business days of the truth
    at the median, and P10–P90 holding the truth for at least 75 % of plans."""
    for figures in validate(plans=120, seed=3, runs=1000):
        assert figures.median_abs_error <= 5, figures
        assert figures.coverage >= 0.75, figures
