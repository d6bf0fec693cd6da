"""Moving the shell's clock: which instants the minute scheduler would have ticked
at that matter, so a jump of a week shows that week's nudges and digests in order.

A tick at one instant only sends what is due *then* (reminders.tick); jumping
straight to the end would skip every 09:00 in between. Reminders fall at fixed
local minutes (09:00 nudges and rep digests, each plan's digest time) and days
turn at local midnight, in every zone a person or plan uses: ticking at each of
those instants, oldest first, is what the minute scheduler would have done.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from sqlalchemy import select

from reminders.snapshot import NUDGE_MINUTE
from storage.clock import zone
from storage.db import Database
from storage.models import Person, Plan

_STEP = re.compile(r"\+([0-9]{1,4})([mhdw])")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
MAX_JUMP = timedelta(days=92)  # a quarter: enough to walk a deal, never a long hang


class BadInstant(ValueError):
    """`/clock` got something that is neither `+N<m|h|d|w>` nor an ISO instant."""


def target(arg: str, now: datetime, here: tzinfo) -> datetime:
    """`+90m`, `+3h`, `+1d`, `+1w` from now; `2026-12-07 09:00` (in `here`) or an ISO
    instant with its own offset (`2026-12-07T14:00:00Z`)."""
    arg = arg.strip()
    if not arg:
        return now
    if m := _STEP.fullmatch(arg):
        at = now + timedelta(**{_UNITS[m[2]]: int(m[1])})
    else:
        try:
            parsed = datetime.fromisoformat(arg.replace(" ", "T", 1))
        except ValueError:
            raise BadInstant(arg) from None
        at = parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=here)
    if abs(at - now) > MAX_JUMP:
        raise BadInstant(arg)
    return at


def instants(zones: set[str], minutes: set[int], start: datetime, end: datetime) -> list[datetime]:
    """Each local `minutes`-after-midnight instant in each zone, after `start` and up
    to `end`, in order (UTC, deduplicated). Pure."""
    found: set[datetime] = set()
    for name in zones:
        tz = zone(name)
        day: date = start.astimezone(tz).date() - timedelta(days=1)
        last = end.astimezone(tz).date()
        while day <= last:
            for minute in minutes:
                local = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=tz)
                at = local.astimezone(UTC)
                if start < at <= end:
                    found.add(at)
            day += timedelta(days=1)
    return sorted(found)


def scheduled_between(db: Database, start: datetime, end: datetime) -> list[datetime]:
    """The instants that matter between `start` (excluded) and `end` (included),
    for the zones and digest times in the database now."""
    with db.read() as s:
        zones = {tz for tz in s.scalars(select(Person.tz).distinct()) if tz}
        zones |= set(s.scalars(select(Plan.tz).where(Plan.archived.is_(False)).distinct()))
        minutes = {0, NUDGE_MINUTE} | set(
            s.scalars(select(Plan.digest_minute).where(Plan.archived.is_(False)).distinct())
        )
    return instants(zones or {"UTC"}, minutes, start, end)
