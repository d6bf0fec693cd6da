"""Business-day arithmetic, shared by relative due dates and the date parser.

Weekends are skipped; so are the public holidays of a country when a plan names
one (ISO code such as "US" or "DE"), from the `holidays` library: its tables
are maintained upstream, which we would never keep as current ourselves.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import holidays


@lru_cache(maxsize=256)
def _holidays(country: str, year: int) -> frozenset[date]:
    try:
        return frozenset(holidays.country_holidays(country, years=year).keys())
    except NotImplementedError:  # a code the library doesn't know: no holidays
        return frozenset()


def is_known_country(country: str) -> bool:
    return country.upper() in holidays.list_supported_countries()


def is_business_day(d: date, country: str | None = None) -> bool:
    if d.weekday() >= 5:
        return False
    return not country or d not in _holidays(country.upper(), d.year)


def add_business_days(d: date, n: int, country: str | None = None) -> date:
    """Move n business days (n < 0 goes back). From a non-business day, the first
    step lands on the nearest business day in that direction."""
    step = 1 if n >= 0 else -1
    remaining = abs(n)
    while remaining:
        d += timedelta(days=step)
        if is_business_day(d, country):
            remaining -= 1
    return d


def shift(anchor: date, offset_days: int, business: bool, country: str | None = None) -> date:
    """A relative date: `offset_days` (business or calendar) from `anchor`."""
    try:
        if business:
            return add_business_days(anchor, offset_days, country)
        return anchor + timedelta(days=offset_days)
    except OverflowError:  # a go-live of 9999-12-31 holds its tasks at the calendar's end
        return date.max if offset_days > 0 else date.min


def business_days_between(start: date, end: date, country: str | None = None) -> int:
    """The n with add_business_days(start, n) == end, when end is a business day."""
    n = 0
    step = 1 if end >= start else -1
    d = start
    while d != end:
        d += timedelta(days=step)
        if is_business_day(d, country):
            n += step
    return n
