"""One reminder pass at an instant: work out what is due, queue it, deliver it.

`mapbot tick --at …` runs one; the scheduler runs one a minute; several at
once are safe because the outbox's unique key and row claims decide."""

from __future__ import annotations

import gc
import hashlib
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from reminders import delivery, health_pass
from reminders.crm import pull as crm_pull
from reminders.delivery import refreshes
from reminders.due import digest_days, local_day, pending
from reminders.snapshot import NUDGE_MINUTE, digest_candidates, load_state
from storage import clock, drafts, reminder_services
from storage.db import Database
from storage.models import Activity, Person, Plan, ReminderMark, Snooze


@dataclass(frozen=True)
class TickResult:
    due: int  # messages the rules worked out
    queued: int  # of which new to the outbox
    delivery: delivery.DeliveryResult

    def summary(self) -> str:
        d = self.delivery
        return (
            f"due {self.due}, newly queued {self.queued}, sent {d.sent}, "
            f"recovered {d.recovered}, retried {d.retried}, failed {d.failed}"
        )


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def signature(s: Session, at: datetime) -> str:
    """Everything that decides what is due at `at`, in a few cheap statements: the
    latest change (every change writes an activity row; snoozes and people have
    their own), and for each time zone and digest time in use, whether it is past
    its send time and on which local date. Equal signatures: nothing new is due."""
    active = (Plan.archived.is_(False), Plan.reminders_on.is_(True))
    zones = set(s.scalars(select(Person.tz).distinct())) | set(
        s.scalars(select(Plan.tz).where(*active).distinct())
    )
    times = {(tz, NUDGE_MINUTE, True) for tz in zones} | {
        (tz, minute, True)
        for tz, minute in s.execute(select(Plan.tz, Plan.digest_minute).where(*active).distinct())
    }
    clocks = sorted(
        f"{tz}|{minute}|{local_day(at, tz, after_minute=minute, weekends=True)}"
        for tz, minute, _ in times
    )
    versions = s.execute(
        select(
            select(func.max(Activity.id)).scalar_subquery(),
            select(func.max(Snooze.id)).scalar_subquery(),
            select(func.count()).select_from(Snooze).scalar_subquery(),
            select(func.max(Person.refreshed_at)).scalar_subquery(),
            select(func.count())
            .select_from(Person)
            .where(Person.mute_digests.is_(True))
            .scalar_subquery(),
        )
    ).one()
    return hashlib.sha256(repr((clocks, tuple(versions))).encode()).hexdigest()


def plan_pass(db: Database, at: datetime) -> tuple[int, int]:
    """Work out what is due at `at` and queue it: (due, newly queued)."""
    with db.read() as s:
        seen = s.get(ReminderMark, "last_pass")
        mark = signature(s, at)
    if seen is not None and seen.value == mark:
        return 0, 0  # the minute tick's usual case: nothing has changed
    due, queued = _full_pass(db, at)
    with db.write() as s:
        # Recorded only after the messages are queued: a crash before means a redo.
        reminder_services.record_mark(s, "last_pass", mark)
    return due, queued


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """A full pass makes hundreds of thousands of small objects (rows, facts,
    blocks) that reference counting frees; the cycle collector, triggered by the
    allocations, would scan the growing heap again and again (a fifth of the
    Monday pass). Off for the pass (seconds, bounded; process-wide, so other
    threads' cycles wait that long too), back on after, when cycles are found."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _full_pass(db: Database, at: datetime) -> tuple[int, int]:
    with _no_cycle_collection():
        return _queue_due(db, at)


def _queue_due(db: Database, at: datetime) -> tuple[int, int]:
    day = at.date()
    with db.read() as s:
        # What is already queued for any zone's today: not worked out again.
        queued_keys = delivery.queued_keys(
            s, {day - timedelta(days=1), day, day + timedelta(days=1)}
        )
        # Done for *their* local date: yesterday's key must not hold back today's.
        done_digests = {
            (int(k[2][5:]), date.fromisoformat(k[3]))
            for k in queued_keys
            if k[0] == "digest.plan_weekly"
        }
        done_reps = {
            (k[1], date.fromisoformat(k[3])) for k in queued_keys if k[0] == "digest.rep_daily"
        }
        digest_ids = {
            plan_id
            for plan_id, local in digest_days(digest_candidates(s), at).items()
            if (plan_id, local) not in done_digests
        }
        state = load_state(s, at, digest_plan_ids=digest_ids, reps_done=done_reps)
        due = list(pending(state))
    # Render only what isn't queued yet: the steady state of a minute tick.
    new = [p.outgoing() for p in due if p.key not in queued_keys]
    with db.write() as s:
        queued = delivery.enqueue(s, new, at)
    return len(due), queued


def tick(
    db: Database,
    at: datetime,
    client_for: delivery.ClientFor,
    *,
    pace: float = 1.0,
    refreshers: dict[str, tuple[delivery.Refresher, float]] | None = None,
) -> TickResult:
    with db.write() as s:  # "3 days to go" becomes "2 days to go" at local midnight
        refreshes.cards_past_midnight(s, at)
        drafts.prune(s, at)  # call notes are not kept past their review
    # A change of plan health is an activity row: written before the pass reads the
    # latest activity for its signature, so the next quiet tick still skips.
    health_pass.run(db, at)
    due, queued = plan_pass(db, at)
    crm_pull.pull(db, at)  # deals' close dates, before delivery sends what they moved
    # A pass "at" a later instant (`mapbot tick --at`) may deliver what it queued.
    sent = delivery.deliver(
        db,
        client_for,
        worker_id(),
        pace=pace,
        now=lambda: max(at, clock.now()),
        refreshers=refreshers,
    )
    return TickResult(due, queued, sent)
