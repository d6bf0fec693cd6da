"""The migrations build exactly the schema the models describe, on both databases,
and the scheduler only ticks."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from storage.db import Database
from storage.models import Base


def _differences(db: Database) -> list[Any]:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={
                "include_object": lambda obj, name, type_, reflected, compare_to: (
                    not (type_ == "table" and str(name).startswith("slack_"))
                )
            },
        )
        diffs = compare_metadata(context, Base.metadata)
    # SQLite reports server defaults and index details loosely: keep real structure only.
    return [d for d in diffs if not (isinstance(d, list) and d and d[0][0] == "modify_default")]


def test_migrations_match_the_models(db: Database) -> None:
    assert _differences(db) == []


def test_the_scheduler_only_ticks(sqlite_db: Database) -> None:
    from reminders.scheduler import start_scheduler

    scheduler = start_scheduler(sqlite_db, lambda _team: None)
    try:
        (job,) = scheduler.get_jobs()
        assert job.id == "tick" and job.trigger.interval.total_seconds() == 60
        assert (job.max_instances, job.coalesce) == (1, True)
    finally:
        scheduler.shutdown(wait=False)
