"""APScheduler 3 only ticks: a job store can't be shared between processes (its
FAQ: "You can't"), so exactly-once lives in the database, not here."""

from __future__ import annotations

import logging

from apscheduler.schedulers.background import BackgroundScheduler

from reminders import delivery
from reminders.tick import tick
from storage import clock
from storage.db import Database

log = logging.getLogger(__name__)


def start_scheduler(db: Database, client_for: delivery.ClientFor) -> BackgroundScheduler:
    def run() -> None:
        result = tick(db, clock.now(), client_for)
        if result.due or result.delivery.sent or result.delivery.failed:
            log.info("reminder tick: %s", result.summary())

    scheduler = BackgroundScheduler(timezone="UTC")
    # One at a time, and a missed minute is run once, late, not several times.
    scheduler.add_job(
        run,
        "interval",
        minutes=1,
        id="tick",
        max_instances=1,
        coalesce=True,
        misfire_grace_time=300,
    )
    scheduler.start()
    return scheduler
