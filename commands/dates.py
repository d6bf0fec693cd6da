"""Dates as people type them in `/map`, and back.

`parse_date(text, today)` reads one date; `today` is today in the plan's time zone.
Accepted forms (case-insensitive):

- `2026-12-15`; `Dec 15`, `December 15`, `15 Dec`, `Dec 15 2026`, `Dec 15, 2026`;
  `12/15`, `12/15/2026` (US month/day). Without a year: the next occurrence on or
  after today (in late November, `Jan 10` is next year's).
- `today`, `tomorrow`, `yesterday`; `eow`/`end of week` (the Friday of this week, or
  the coming one on a weekend), `eom`/`end of month` (this month's last day).
- `friday`, `fri`: the coming Friday, never today (on a Friday it is a week away).
  `this friday` and `next friday` mean the same: "next" never skips a week.
- `in 3 days`, `in 2 weeks`, `in 1 month`, `in 2 business days`;
  `+3d`, `+2w`, `+1m`, `-2d`, `+5bd` (bd: business days, weekends skipped).

Month and weekday names come from dateutil's `parserinfo`; the forms themselves are
matched exactly (no fuzzy `dateutil.parser.parse`, no `dateparser`), so "3 pm" or
"friday afternoon" is refused rather than guessed.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from dateutil.parser import parserinfo
from dateutil.relativedelta import FR, relativedelta, weekday

from bot.text import escape, truncate, unescape
from storage.workdays import add_business_days as add_business_days  # re-exported

ACCEPTED = (
    "Try `2026-12-15`, `Dec 15`, `12/15`, `today`, `tomorrow`, `friday`, "
    "`in 2 weeks`, `+3d` or `+5bd` (business days)."
)

_MONTH_ABBR = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTH_NAMES = parserinfo()  # dateutil's month and weekday names, no fuzzy parsing

_WEEKDAYS: dict[str, weekday] = {
    name: wd
    for wd, full in zip(map(weekday, range(7)), _MONTH_NAMES.WEEKDAYS, strict=True)
    for name in (*(n.lower() for n in full), full[0][:3].lower())
}
_WEEKDAYS.update({"tues": _WEEKDAYS["tue"], "thur": _WEEKDAYS["thu"], "thurs": _WEEKDAYS["thu"]})

_NAMED = {
    "today": relativedelta(),
    "tomorrow": relativedelta(days=1),
    "yesterday": relativedelta(days=-1),
    "eow": relativedelta(weekday=FR),  # FR(+1): today when today is Friday
    "end of week": relativedelta(weekday=FR),
    "eom": relativedelta(day=31),  # clamps to the month's last day
    "end of month": relativedelta(day=31),
}

# Units of relative dates; "bd" counts business days.
_UNITS = {
    "d": "d",
    "day": "d",
    "days": "d",
    "w": "w",
    "wk": "w",
    "wks": "w",
    "week": "w",
    "weeks": "w",
    "m": "m",
    "mo": "m",
    "month": "m",
    "months": "m",
    "bd": "bd",
    "business day": "bd",
    "business days": "bd",
    "workday": "bd",
    "workdays": "bd",
}
_UNIT = "|".join(sorted((re.escape(u) for u in _UNITS), key=len, reverse=True))
_RELATIVE = re.compile(
    rf"(?:in (?P<n>[0-9]{{1,4}}) ?|(?P<sign>[+-]) ?(?P<sn>[0-9]{{1,4}}) ?)(?P<unit>{_UNIT})"
)
_ISO = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})")
_US = re.compile(r"([0-9]{1,2})/([0-9]{1,2})(?:/([0-9]{4}|[0-9]{2}))?")
_ORD = r"(?:st|nd|rd|th)?"
_MONTH_DAY = re.compile(
    rf"(?P<mon>[a-z]+)\.? (?P<day>[0-9]{{1,2}}){_ORD}(?:,? (?P<year>[0-9]{{4}}))?"
)
_DAY_MONTH = re.compile(
    rf"(?P<day>[0-9]{{1,2}}){_ORD} (?:of )?(?P<mon>[a-z]+)\.?(?:,? (?P<year>[0-9]{{4}}))?"
)


class DateError(ValueError):
    """A date that can't be read; `str(e)` is a message for the user (Slack mrkdwn)."""


def quote(text: str) -> str:
    """User text inside a message: curly-quoted, shortened and Slack-escaped. The
    parser quotes words as Slack sent them (`&lt;` for a typed `<`) as well as
    decoded ones: unescaping first escapes either exactly once."""
    return f"“{escape(truncate(unescape(text), 60))}”"


def _unknown(text: str) -> DateError:
    if not text:
        return DateError(f"A date is missing. {ACCEPTED}")
    return DateError(f"{quote(text)} isn't a date I understand. {ACCEPTED}")


def _no_such_day(text: str) -> DateError:
    return DateError(f"{quote(text)} isn't a real date. {ACCEPTED}")


def _too_far(text: str) -> DateError:
    return DateError(f"{quote(text)} is too far away.")


def _normalize(text: str) -> str:
    return " ".join(text.lower().split())


def _relative(n: int, unit: str, today: date) -> date:
    if unit == "bd":
        return add_business_days(today, n)
    if unit == "w":
        return today + timedelta(weeks=n)
    if unit == "m":
        return today + relativedelta(months=n)  # Jan 31 + 1 month = Feb 28/29
    return today + timedelta(days=n)


def _weekday(words: str, today: date) -> date | None:
    """`friday`, `this friday`, `next friday`: the coming one, today excluded."""
    first, _, rest = words.partition(" ")
    name = rest if first in ("this", "next") and rest else words
    wd = _WEEKDAYS.get(name)
    return None if wd is None else today + relativedelta(days=1, weekday=wd)


def _on_or_after(month: int, day: int, today: date, text: str) -> date:
    """The next `month`/`day` on or after today (Feb 29 waits for a leap year)."""
    try:
        date(2000, month, day)  # a leap year: any real month/day exists in it
    except ValueError:
        raise _no_such_day(text) from None
    for year in range(today.year, today.year + 9):
        try:
            candidate = date(year, month, day)
        except ValueError:  # Feb 29 outside a leap year, or past year 9999
            continue
        if candidate >= today:
            return candidate
    raise _too_far(text)


def _calendar(month: int, day: int, year: int | None, today: date, text: str) -> date:
    if year is None:
        return _on_or_after(month, day, today, text)
    try:
        return date(year, month, day)
    except ValueError:
        raise _no_such_day(text) from None


def _absolute(words: str, today: date, text: str) -> date | None:
    if m := _ISO.fullmatch(words):
        return _calendar(int(m[2]), int(m[3]), int(m[1]), today, text)
    if m := _US.fullmatch(words):
        year = None if m[3] is None else int(m[3]) + (2000 if len(m[3]) == 2 else 0)
        if not 1 <= int(m[1]) <= 12:
            raise _no_such_day(text)
        return _calendar(int(m[1]), int(m[2]), year, today, text)
    m = _MONTH_DAY.fullmatch(words) or _DAY_MONTH.fullmatch(words)
    month = _MONTH_NAMES.month(m["mon"]) if m else None
    if m is None or month is None:
        return None
    year = int(m["year"]) if m["year"] else None
    return _calendar(month, int(m["day"]), year, today, text)


def _read(words: str, today: date, text: str) -> date | None:
    if words in _NAMED:
        return today + _NAMED[words]
    if (found := _weekday(words, today)) is not None:
        return found
    if m := _RELATIVE.fullmatch(words):
        n = int(m["n"] or m["sn"]) * (-1 if m["sign"] == "-" else 1)
        return _relative(n, _UNITS[m["unit"]], today)
    return _absolute(words, today, text)


def parse_date(text: str, today: date) -> date:
    """One date from `text` (see the module docstring), or DateError."""
    try:
        found = _read(_normalize(text), today, text)
    except DateError:
        raise
    except (OverflowError, ValueError):  # arithmetic past year 1 or 9999
        raise _too_far(text) from None
    if found is None:
        raise _unknown(text.strip())
    return found


def format_date(d: date, today: date) -> str:
    """`Dec 15`; with the year when it isn't this year: `Jan 10, 2027`."""
    short = f"{_MONTH_ABBR[d.month - 1]} {d.day}"
    return short if d.year == today.year else f"{short}, {d.year}"
