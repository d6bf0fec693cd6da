"""Due dates as people say them on calls, found inside a sentence.

`find_due(sentence, on)` returns the date a phrase means and the phrase, read
relative to the call date (`on.today`) with `commands.dates.parse_date` wherever
its forms fit ("by Dec 15", "by Friday", "12/15", "15.12.2026", "in 2 weeks");
spoken forms it does not take are turned into one it does ("in two weeks" →
"in 2 weeks") or worked out here ("next week", "mid-January", "end of March").
Nothing is guessed from a bare number: "3 users" is not a date.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, timedelta

from dateutil.relativedelta import FR, relativedelta

from commands.dates import DateError, Reading, parse_date

_NUMBERS = {
    "a": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "a couple of": 2, "couple of": 2,
}  # fmt: skip
_MONTHS = (
    r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
)
_WEEKDAY = r"(?:mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)(?:day|nesday|sday|rsday|urday)?"
_NUM = r"(?:\d{1,3}|a couple of|couple of|an?|one|two|three|four|five|six|seven|eight|nine|ten)"

# Each alternative is one way of saying a date; the longest match wins.
_PHRASES = [
    r"(?P<iso>\d{4}-\d{1,2}-\d{1,2})",
    # 12/15, 12/15/26, 15.12.2026 (a dotted pair without a year is a version: "2.1")
    r"(?P<numeric>\d{1,2}/\d{1,2}(?:/(?:\d{4}|\d{2}))?|\d{1,2}\.\d{1,2}\.(?:\d{4}|\d{2}))"
    r"(?![\d/.]*\d)",
    rf"(?P<md>(?:{_MONTHS})\.? \d{{1,2}}(?:st|nd|rd|th)?(?:,? \d{{4}})?)",
    rf"(?P<dm>\d{{1,2}}(?:st|nd|rd|th)? (?:of )?(?:{_MONTHS})\.?(?:,? \d{{4}})?)",
    rf"(?P<mid>mid[- ](?P<mid_month>{_MONTHS}))",
    rf"(?P<monthend>(?:the )?end of (?P<end_month>{_MONTHS}))",
    r"(?P<eow>(?:the )?end of (?:the |this )?week|eow|(?:by )?this week)",
    r"(?P<eonw>(?:the )?end of next week|next week)",
    r"(?P<eom>(?:the )?end of (?:the |this )?month|eom)",
    r"(?P<eod>eod|end of (?:the )?day|today|tonight)",
    r"(?P<tomorrow>tomorrow)",
    rf"(?P<weekday>(?:next |this )?{_WEEKDAY})",
    rf"(?P<rel>(?:in|within) (?P<n>{_NUM}) (?P<bd>business |working )?"
    r"(?P<unit>days?|weeks?|months?))",
    r"(?P<nth>the (?P<nth_day>\d{1,2})(?:st|nd|rd|th))",
]  # fmt: skip
_DATE = re.compile(r"\b(?:" + "|".join(_PHRASES) + r")\b", re.IGNORECASE)


def _number(text: str) -> int:
    text = text.lower()
    return int(text) if text.isdigit() else _NUMBERS.get(text, 1)


def _month_number(text: str) -> int:
    key = text.lower()[:3]
    return [m.lower() for m in calendar.month_abbr].index(key)


def _next_month_day(month: int, day: int, today: date) -> date:
    """`day` of `month` on or after the call (next year's once it has passed)."""
    year = today.year
    last = calendar.monthrange(year, month)[1]
    candidate = date(year, month, min(day, last))
    if candidate < today:
        last = calendar.monthrange(year + 1, month)[1]
        candidate = date(year + 1, month, min(day, last))
    return candidate


def _numeric(text: str, on: Reading) -> date | None:
    """In the plan's order; a date that only reads the other way round (`15/12`
    in a month-first plan) is taken that way, since it cannot mean anything else."""
    try:
        return parse_date(text, on.today, day_first=on.day_first)
    except DateError:
        return parse_date(text, on.today, day_first=not on.day_first)


def _read(m: re.Match[str], on: Reading) -> date | None:
    today = on.today
    g = m.groupdict()
    try:
        if g["numeric"]:
            return _numeric(g["numeric"], on)
        if g["iso"] or g["md"] or g["dm"]:
            return parse_date(g["iso"] or g["md"] or g["dm"], today)
        if g["mid"]:
            return _next_month_day(_month_number(g["mid_month"]), 15, today)
        if g["monthend"]:
            return _next_month_day(_month_number(g["end_month"]), 31, today)
        if g["eow"]:
            return today + relativedelta(weekday=FR)
        if g["eonw"]:
            return today + relativedelta(days=7 - today.weekday(), weekday=FR)
        if g["eom"]:
            return today + relativedelta(day=31)
        if g["eod"]:
            return today
        if g["tomorrow"]:
            return today + timedelta(days=1)
        if g["weekday"]:
            return parse_date(g["weekday"], today)
        if g["rel"]:
            unit = g["unit"].lower().rstrip("s")
            short = {"day": "bd" if g["bd"] else "d", "week": "w", "month": "m"}[unit]
            return parse_date(f"+{_number(g['n'])}{short}", today)
        if g["nth"]:
            day = int(g["nth_day"])
            if not 1 <= day <= 31:
                return None
            month = date(today.year, today.month, 1)
            if day < today.day:
                month += relativedelta(months=1)
            return month.replace(day=min(day, calendar.monthrange(month.year, month.month)[1]))
    except (DateError, ValueError, OverflowError):
        return None
    return None


def find_dates(text: str, on: Reading) -> list[tuple[date, str, int, int]]:
    """Every date said in `text`: (date, the phrase, start, end), in order."""
    found = []
    for m in _DATE.finditer(text):
        when = _read(m, on)
        if when is not None:
            found.append((when, m.group(0), m.start(), m.end()))
    return found


_LEAD = re.compile(
    r"(?:\b(?:by|before|on|due|until|till|for|no later than|nlt|latest|target(?:ing)?|"
    r"deadline|around|at)\s*:?\s*(?:the\s+)?)?$",
    re.IGNORECASE,
)


def find_due(text: str, on: Reading) -> tuple[date, int, int] | None:
    """The due date of one action: the last date said in it (the first one is
    often when something happened), with the span to cut from the title,
    including a leading "by", "before", "on"…"""
    found = find_dates(text, on)
    if not found:
        return None
    when, _phrase, start, end = found[-1]
    lead = _LEAD.search(text[:start])
    return when, (lead.start() if lead else start), end
