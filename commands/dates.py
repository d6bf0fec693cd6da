"""Dates as people type them in `/map`, and back.

`parse_date(text, today)` reads one date; `today` is today in the plan's time zone.
Accepted forms (case-insensitive):

- `2026-12-15` (ISO, read the same everywhere); `Dec 15`, `December 15`, `15 Dec`,
  `Dec 15 2026`, `Dec 15, 2026`; `12/15`, `12/15/2026`, `12.15.2026` month first, or
  `15/12/2026` day first where the plan's country writes dates so (`day_first`; see
  `day_first_in`). Without a year: the next occurrence on or after today (in late
  November, `Jan 10` is next year's). `how_read` says how an ambiguous one was read.
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
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from dateutil.parser import parserinfo
from dateutil.relativedelta import FR, relativedelta, weekday

from bot.text import escape, truncate, unescape
from storage.workdays import add_business_days as add_business_days  # re-exported

ACCEPTED = (
    "Try `2026-12-15`, `Dec 15`, `12/15`, `today`, `tomorrow`, `friday`, "
    "`in 2 weeks`, `+3d` or `+5bd` (business days)."
)

# Where `03/04` is March 4: the US and the places that write as it does, and the
# year-month-day countries, whose short form keeps the month first. Everywhere else
# the day comes first.
MONTH_FIRST_COUNTRIES = frozenset(
    {"US", "CA", "PH", "PR", "GU", "AS", "VI", "MP", "UM", "FM", "MH", "PW"}
    | {"CN", "JP", "KR", "TW", "HU", "MN"}
)


def day_first_in(country: str | None) -> bool:
    """Whether people in `country` (ISO code) write 31/12; no country: month first."""
    return country is not None and country.upper() not in MONTH_FIRST_COUNTRIES


@dataclass(frozen=True)
class Reading:
    """How to read a date: today in the plan's zone, and which number comes first."""

    today: date
    day_first: bool = False


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
_NUMERIC = re.compile(r"([0-9]{1,2})([/.])([0-9]{1,2})(?:\2([0-9]{4}|[0-9]{2}))?")
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


def _wrong_order(text: str, day_first: bool) -> DateError:
    """`31/12` read month first (or `12/31` day first): say how to write it here."""
    order = "day first" if day_first else "month first"
    return DateError(
        f"{quote(text)} isn't a real date read {order}, as this plan writes dates: "
        "an ISO date such as `2026-12-31` reads the same everywhere, and the plan's "
        f"country decides the order (`/map country GB` reads day first). {ACCEPTED}"
    )


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


def _numeric(m: re.Match[str], day_first: bool) -> tuple[int, int, int | None]:
    """`12/15/27` as (month, day, year), the first two swapped when day comes first."""
    first, second = int(m[1]), int(m[3])
    year = None if m[4] is None else int(m[4]) + (2000 if len(m[4]) == 2 else 0)
    return (second, first, year) if day_first else (first, second, year)


def _numeric_date(m: re.Match[str], today: date, text: str, day_first: bool) -> date:
    month, day, year = _numeric(m, day_first)
    if not 1 <= month <= 12:
        swapped = month > 12 and 1 <= day <= 12  # a real date the other way round
        raise _wrong_order(text, day_first) if swapped else _no_such_day(text)
    return _calendar(month, day, year, today, text)


def _absolute(words: str, today: date, text: str, day_first: bool) -> date | None:
    if m := _ISO.fullmatch(words):
        return _calendar(int(m[2]), int(m[3]), int(m[1]), today, text)
    if n := _NUMERIC.fullmatch(words):
        return _numeric_date(n, today, text, day_first)
    m = _MONTH_DAY.fullmatch(words) or _DAY_MONTH.fullmatch(words)
    month = _MONTH_NAMES.month(m["mon"]) if m else None
    if m is None or month is None:
        return None
    year = int(m["year"]) if m["year"] else None
    return _calendar(month, int(m["day"]), year, today, text)


def _read(words: str, today: date, text: str, day_first: bool) -> date | None:
    if words in _NAMED:
        return today + _NAMED[words]
    if (found := _weekday(words, today)) is not None:
        return found
    if m := _RELATIVE.fullmatch(words):
        n = int(m["n"] or m["sn"]) * (-1 if m["sign"] == "-" else 1)
        return _relative(n, _UNITS[m["unit"]], today)
    return _absolute(words, today, text, day_first)


def parse_date(text: str, today: date, *, day_first: bool = False) -> date:
    """One date from `text` (see the module docstring), or DateError."""
    try:
        found = _read(_normalize(text), today, text, day_first)
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


_NUMERIC_IN_TEXT = re.compile(r"(?<!\S)" + _NUMERIC.pattern + r"(?!\S)")  # whole words


def _readings(text: str, on: Reading) -> Iterator[tuple[str, date]]:
    """Numeric dates in `text` that read as two different real dates: (as typed, as read)."""
    for m in _NUMERIC_IN_TEXT.finditer(text):
        first, second = int(m[1]), int(m[3])
        if first == second or not (1 <= first <= 12 and 1 <= second <= 12):
            continue
        try:
            yield m[0], parse_date(m[0], on.today, day_first=on.day_first)
        except DateError:
            continue


def how_read(text: str, on: Reading, taken: Collection[date | None]) -> list[str]:
    """How each ambiguous numeric date in `text` (`03/04/2026`) that became one of
    the dates `taken` was read: the other order would have meant another day."""
    order = "day first" if on.day_first else "month first"
    return [
        f"{quote(typed)} read {order}: {_spelled(d)} (`{d.isoformat()}` is never ambiguous)."
        for typed, d in _readings(text, on)
        if d in taken
    ]


def _spelled(d: date) -> str:
    return f"{d.day} {_MONTH_NAMES.MONTHS[d.month - 1][1]} {d.year}"
