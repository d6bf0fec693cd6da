"""What a click and `/map status` cost in SQL, counted through the real app over
HTTP (functional, not timing): the replay claim is one statement, the refresh a
click enqueues is one statement, and nothing on the request path reads or writes
the outbox beyond that one upsert (sending is the delivery worker's)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event

from bot import ids
from storage import services
from storage.db import Database
from storage.readmodel import active_plan
from storage.rules import Actor
from tests.harness import CHANNEL, SELLER_TEAM, Harness

LEX = Actor("U0LEX", "seller", SELLER_TEAM)


@contextmanager
def _statements(db: Database) -> Iterator[list[str]]:
    """The SQL the request threads run (not the refresh worker's polling)."""
    seen: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_a: object) -> None:
        if not threading.current_thread().name.startswith("refresh-"):
            seen.append(" ".join(statement.split()).lower())

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def _on(table: str, statements: list[str]) -> list[str]:
    return [s for s in statements if f" {table} " in s or f' "{table}" ' in s]


def test_a_click_claims_once_and_enqueues_its_refresh_in_one_statement(
    h: Harness, db: Database
) -> None:
    assert h.command("create Rollout go-live 2027-03-01").status == 200
    with db.write() as s:
        plan = active_plan(s, SELLER_TEAM, CHANNEL)
        assert plan is not None
        task = services.add_task(s, LEX, plan, "Security questionnaire", owner_side="buyer")
        value = ids.task_value(plan.id, task.id)
    h.settle()
    with _statements(db) as statements:
        assert h.click(ids.TASK_COMPLETE, value).status == 200
    seen = _on("seen_request", statements)
    assert len(seen) == 1 and seen[0].startswith("insert"), seen  # the claim: one upsert
    outbox = _on("outbox", statements)
    assert len(outbox) == 1 and outbox[0].startswith("insert"), outbox  # the refresh: one
    assert "on conflict" in outbox[0]


def test_map_status_claims_once_and_marks_its_repost_in_one_statement(
    h: Harness, db: Database
) -> None:
    assert h.command("create Rollout go-live 2027-03-01").status == 200
    h.settle()
    with _statements(db) as statements:
        assert h.command("status").status == 200
    assert len(_on("seen_request", statements)) == 1, statements
    outbox = _on("outbox", statements)
    assert len(outbox) == 1 and outbox[0].startswith("insert"), outbox
