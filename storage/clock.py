"""The one source of "now", so tests and the local shell can move time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

_now: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731


def now() -> datetime:
    """The current instant, timezone-aware (UTC)."""
    return _now()


def wall() -> datetime:
    """Real time, whatever `now` says: Slack's rate limits and message timestamps
    know no simulated clock (the shell's /clock, `mapbot tick --at`, tests)."""
    return datetime.now(UTC)


def set_clock(fn: Callable[[], datetime] | None) -> None:
    """Replace the clock (None restores the real one)."""
    global _now
    _now = fn if fn is not None else (lambda: datetime.now(UTC))


def today_in(tz: str, at: datetime | None = None) -> date:
    """The local date in an IANA zone at an instant (default now)."""
    return (at or now()).astimezone(zone(tz)).date()


def zone(tz: str | None) -> ZoneInfo:
    """An IANA zone, falling back to UTC for a missing or unknown name."""
    try:
        return ZoneInfo(tz or "UTC")
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def as_utc(dt: datetime) -> datetime:
    """SQLite hands back naive datetimes for timezone-aware columns: they are UTC."""
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)
