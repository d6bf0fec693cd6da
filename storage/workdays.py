"""Business-day arithmetic (weekends skipped), shared by relative due dates and
the date parser."""

from __future__ import annotations

from datetime import date, timedelta


def is_business_day(d: date) -> bool:
    return d.weekday() < 5


def add_business_days(d: date, n: int) -> date:
    """Move n business days (n < 0 goes back). From a weekend day, the first step
    lands on the nearest business day in that direction."""
    step = 1 if n >= 0 else -1
    remaining = abs(n)
    while remaining:
        d += timedelta(days=step)
        if is_business_day(d):
            remaining -= 1
    return d


def shift(anchor: date, offset_days: int, business: bool) -> date:
    """A relative date: `offset_days` (business or calendar) from `anchor`."""
    if business:
        return add_business_days(anchor, offset_days)
    return anchor + timedelta(days=offset_days)
