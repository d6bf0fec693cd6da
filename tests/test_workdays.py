"""Business-day arithmetic: weekends, public holidays of a plan's country, month and
year ends, the calendar's own ends, and daylight-saving changes (which move hours,
never the date a task is due)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storage.clock import today_in
from storage.workdays import (
    add_business_days,
    business_days_between,
    is_business_day,
    is_known_country,
    shift,
)

COUNTRIES = st.sampled_from([None, "US", "GB", "DE", "FR", "JP", "NZ"])
DATES = st.dates(min_value=date(2024, 1, 1), max_value=date(2032, 12, 31))


def _next_business_day(d: date, country: str | None) -> date:
    while not is_business_day(d, country):
        d += timedelta(days=1)
    return d


# --- examples --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        (date(2026, 11, 27), 1, date(2026, 11, 30)),  # Fri → Mon
        (date(2026, 11, 30), -1, date(2026, 11, 27)),  # Mon → Fri
        (date(2026, 11, 28), 1, date(2026, 11, 30)),  # Sat → Mon
        (date(2026, 11, 29), -1, date(2026, 11, 27)),  # Sun → Fri
        (date(2026, 11, 28), 0, date(2026, 11, 28)),  # zero steps stays, even on a weekend
        (date(2026, 11, 23), 5, date(2026, 11, 30)),  # a week is five
        (date(2026, 11, 23), -10, date(2026, 11, 9)),
        (date(2027, 1, 29), 1, date(2027, 2, 1)),  # month end on a Friday
        (date(2027, 3, 1), -1, date(2027, 2, 26)),  # back over February's end
        (date(2028, 2, 28), 1, date(2028, 2, 29)),  # leap day is a Tuesday
        (date(2028, 3, 1), -2, date(2028, 2, 28)),
        (date(2026, 12, 31), 1, date(2027, 1, 1)),  # no country: New Year's Day works
        (date(2027, 1, 4), -1, date(2027, 1, 1)),
    ],
)
def test_weekends_month_and_year_ends(start: date, n: int, expected: date) -> None:
    assert add_business_days(start, n) == expected


@pytest.mark.parametrize(
    ("start", "n", "country", "expected"),
    [
        (date(2026, 11, 25), 1, "US", date(2026, 11, 27)),  # Thanksgiving, Thu 26 Nov
        (date(2026, 7, 2), 1, "US", date(2026, 7, 6)),  # 4 July is a Saturday: off Fri 3rd
        (date(2026, 12, 31), 1, "US", date(2027, 1, 4)),  # New Year's Day, then a weekend
        (date(2027, 1, 4), -1, "US", date(2026, 12, 31)),
        (date(2026, 12, 24), 1, "DE", date(2026, 12, 28)),  # 25 and 26 December
        (date(2026, 12, 24), 1, "GB", date(2026, 12, 29)),  # Boxing Day (Sat) moves to Mon 28
        (date(2027, 4, 30), 1, "FR", date(2027, 5, 3)),  # 1 May is a Saturday in 2027
        (date(2026, 4, 30), 1, "FR", date(2026, 5, 4)),  # Fête du Travail, Fri 1 May 2026
        (date(2026, 11, 25), 1, "us", date(2026, 11, 27)),  # codes are case-blind
        (date(2026, 11, 25), 1, "XX", date(2026, 11, 26)),  # unknown code: weekends only
    ],
)
def test_public_holidays_of_the_plans_country(
    start: date, n: int, country: str, expected: date
) -> None:
    assert add_business_days(start, n, country) == expected


def test_known_countries() -> None:
    assert is_known_country("US") and is_known_country("de")
    assert not is_known_country("XX")
    assert not is_business_day(date(2026, 12, 25), "GB")
    assert is_business_day(date(2026, 11, 26)) and not is_business_day(date(2026, 11, 26), "US")


def test_calendar_days_ignore_weekends_and_holidays() -> None:
    assert shift(date(2027, 3, 1), 30, False, "US") == date(2027, 3, 31)
    assert shift(date(2026, 12, 25), -1, False, "GB") == date(2026, 12, 24)
    assert shift(date(2027, 3, 1), -10, True) == date(2027, 2, 15)


def test_the_calendars_ends_hold_instead_of_crashing() -> None:
    """A go-live typed as 9999-12-31 with a task 30 days after it: the date holds at
    the calendar's end rather than raising OverflowError mid-command."""
    assert shift(date.max, 30, False) == date.max
    assert shift(date.max - timedelta(days=2), 5, True) == date.max
    assert shift(date.min, -3, False) == date.min
    assert shift(date.min + timedelta(days=3), -10, True) == date.min


def test_daylight_saving_moves_hours_not_due_dates() -> None:
    """Due dates are dates in the plan's zone. Around a DST change the UTC hour of
    local midnight moves; the plan's 'today', and so what is due, does not skip or
    repeat a day."""
    cases = [
        ("America/New_York", datetime(2026, 3, 8, 4, 59, tzinfo=UTC), date(2026, 3, 7)),
        ("America/New_York", datetime(2026, 3, 9, 3, 59, tzinfo=UTC), date(2026, 3, 8)),
        ("America/New_York", datetime(2026, 3, 9, 4, 0, tzinfo=UTC), date(2026, 3, 9)),
        ("Europe/London", datetime(2026, 10, 24, 22, 59, tzinfo=UTC), date(2026, 10, 24)),
        ("Europe/London", datetime(2026, 10, 25, 23, 59, tzinfo=UTC), date(2026, 10, 25)),
        ("Europe/London", datetime(2026, 10, 26, 0, 0, tzinfo=UTC), date(2026, 10, 26)),
        # Auckland's clocks go back on 5 April 2026 (NZDT → NZST).
        ("Pacific/Auckland", datetime(2026, 4, 4, 10, 59, tzinfo=UTC), date(2026, 4, 4)),
        ("Pacific/Auckland", datetime(2026, 4, 5, 11, 59, tzinfo=UTC), date(2026, 4, 5)),
        ("Pacific/Auckland", datetime(2026, 4, 5, 12, 0, tzinfo=UTC), date(2026, 4, 6)),
    ]
    for tz, instant, expected in cases:
        assert today_in(tz, instant) == expected, (tz, instant)
    # Every hour across both changes of 2026 in New York: local dates advance by one
    # day at a time, never skipping one.
    seen: list[date] = []
    at = datetime(2026, 3, 6, tzinfo=UTC)
    while at < datetime(2026, 11, 3, tzinfo=UTC):
        d = today_in("America/New_York", at)
        if not seen or seen[-1] != d:
            assert not seen or d - seen[-1] == timedelta(days=1)
            seen.append(d)
        at += timedelta(hours=1)
    # The Friday before spring-forward plus one business day is Monday, in any zone.
    assert add_business_days(date(2026, 3, 6), 1) == date(2026, 3, 9)


# --- properties ------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(d=DATES, n=st.integers(-120, 120), country=COUNTRIES)
def test_business_days_go_there_and_back(d: date, n: int, country: str | None) -> None:
    d = _next_business_day(d, country)
    there = add_business_days(d, n, country)
    assert add_business_days(there, -n, country) == d
    assert business_days_between(d, there, country) == n
    if n:
        assert is_business_day(there, country)
        assert (there > d) == (n > 0)


@settings(max_examples=200, deadline=None)
@given(d=DATES, n=st.integers(0, 60), country=COUNTRIES)
def test_n_business_days_cross_exactly_n_business_days(
    d: date, n: int, country: str | None
) -> None:
    there = add_business_days(d, n, country)
    days = [d + timedelta(days=k) for k in range(1, (there - d).days + 1)]
    assert sum(is_business_day(x, country) for x in days) == n


@settings(max_examples=200, deadline=None)
@given(d=DATES, a=st.integers(-60, 60), b=st.integers(-60, 60), country=COUNTRIES)
def test_more_business_days_land_later(d: date, a: int, b: int, country: str | None) -> None:
    if a < b:
        assert add_business_days(d, a, country) < add_business_days(d, b, country)


@settings(max_examples=200, deadline=None)
@given(
    target=DATES,
    offsets=st.lists(st.tuples(st.integers(-90, 60), st.booleans()), min_size=1, max_size=10),
    n=st.integers(-60, 60),
    country=COUNTRIES,
)
def test_moving_the_target_and_back_returns_every_relative_date(
    target: date, offsets: list[tuple[int, bool]], n: int, country: str | None
) -> None:
    """A go-live on a business day moved by n business days and back: every relative
    date (business or calendar) is where it was."""
    target = _next_business_day(target, country)
    before = [shift(target, k, business, country) for k, business in offsets]
    back = add_business_days(add_business_days(target, n, country), -n, country)
    assert [shift(back, k, business, country) for k, business in offsets] == before
