"""Slack's rate limits are per channel and per workspace, not per process: the
next allowed instant of each bucket lives in the database, so every web process
and worker together stay under it (`chat.postMessage` about 1/s per channel,
`chat.update` Tier 3 and `views.publish` Tier 4 per workspace)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage import clock
from storage.db import Database, insert_for
from storage.models import Pace


def _locked(s: Session, key: str, now: datetime) -> Pace:
    """The bucket's row, locked for this transaction (made if new: two processes
    making it at once must not fail)."""
    insert = insert_for(s.get_bind().dialect.name)
    s.execute(insert(Pace).values(key=key, next_at=now).on_conflict_do_nothing())
    return s.scalars(select(Pace).where(Pace.key == key).with_for_update()).one()


def reserve(db: Database, key: str, interval: float, now: datetime) -> float:
    """Take the bucket's next turn: seconds to wait before using it (0: now).
    The turn after it is `interval` seconds later, whoever takes it."""
    if interval <= 0:  # unpaced: only a 429's hold applies (read, no write)
        with db.read() as s:
            held = s.scalar(select(Pace.next_at).where(Pace.key == key))
        return max(0.0, (clock.as_utc(held) - now).total_seconds()) if held else 0.0
    with db.write() as s:  # the row lock (BEGIN IMMEDIATE on SQLite) orders the takers
        row = _locked(s, key, now)
        turn = max(clock.as_utc(row.next_at), now)
        row.next_at = turn + timedelta(seconds=interval)
        return max(0.0, (turn - now).total_seconds())


def hold(db: Database, key: str, until: datetime) -> None:
    """Nobody uses the bucket before `until` (a 429's Retry-After)."""
    with db.write() as s:
        row = _locked(s, key, until)
        if clock.as_utc(row.next_at) < until:
            row.next_at = until
