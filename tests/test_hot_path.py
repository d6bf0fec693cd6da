"""What a click and `/map status` cost in SQL, counted through the real app over
HTTP (functional, not timing): the replay claim is one statement, the refresh a
click enqueues is one statement, and nothing on the request path reads or writes
the outbox beyond that one upsert (sending is the delivery worker's)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, event, select, update

from bot import ids
from reminders.delivery import refreshes
from reminders.delivery.card import CardPublisher
from storage import services
from storage.db import Database
from storage.models import Outbox
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


@contextmanager
def _transactions(db: Database) -> Iterator[list[str]]:
    """The transactions the request threads begin, "read" or "write", in order."""
    seen: list[str] = []

    def begin(conn: Connection) -> None:
        if not threading.current_thread().name.startswith("refresh-"):
            seen.append("write" if conn.get_execution_options().get("sqlite_immediate") else "read")

    event.listen(db.engine, "begin", begin)
    try:
        yield seen
    finally:
        event.remove(db.engine, "begin", begin)


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
    # No repost waiting: one look, then the one upsert.
    assert [o.split()[0] for o in outbox] == ["select", "insert"], outbox
    assert "on conflict" in outbox[1]


def test_map_status_reads_in_one_transaction(h: Harness, db: Database) -> None:
    """The plan, who may see it and whether its repost waits already: one read,
    then the repost's mark, which carries the replay claim (a session each cost a
    third more)."""
    assert h.command("create Rollout go-live 2027-03-01").status == 200
    h.settle()
    with _transactions(db) as transactions:
        assert h.command("status").status == 200
    assert transactions == ["read", "write"], transactions  # the claim rides the mark


def _card_row(db: Database, plan_id: int) -> Outbox:
    with db.read() as s:
        rows = list(s.scalars(select(Outbox).where(Outbox.kind == refreshes.CARD)))
    assert len(rows) == 1 and rows[0].recipient == f"plan:{plan_id}", rows
    return rows[0]


def _set_row(db: Database, row_id: int, **values: object) -> None:
    with db.write() as s:
        s.execute(update(Outbox).where(Outbox.id == row_id).values(**values))


def test_a_repost_asked_while_one_waits_writes_nothing(db: Database) -> None:
    """`/map status` again while its repost waits for its turn: the waiting row
    already asks for it, so the second costs one read and no write."""
    publisher = CardPublisher(db, wake=lambda: None)  # nothing sends: the row waits
    with db.write() as s:
        plan = services.create_plan(s, LEX, CHANNEL, "Deal")
    publisher.repost(SELLER_TEAM, plan.id)
    first = _card_row(db, plan.id)
    assert (first.state, first.text) == ("pending", refreshes.REPOST)
    with _statements(db) as statements:
        publisher.repost(SELLER_TEAM, plan.id)
    work = [st for st in statements if not st.startswith(("begin", "commit", "rollback"))]
    assert [st.split()[0] for st in work] == ["select"], work
    again = _card_row(db, plan.id)
    assert (again.generation, again.state, again.text) == (first.generation, "pending", "repost")


def test_a_repost_is_written_when_the_row_cannot_carry_it(db: Database) -> None:
    """The read skips the write only when the waiting row would send what was
    asked: a plain refresh waiting becomes a repost; a row being sent counts the
    mark (the sender sends again after); a row sent is pending again; a row of
    another workspace (a plan moved) takes this one's."""
    publisher = CardPublisher(db, wake=lambda: None)
    with db.write() as s:
        plan = services.create_plan(s, LEX, CHANNEL, "Deal")
    publisher.refresh(SELLER_TEAM, plan.id)
    row = _card_row(db, plan.id)
    publisher.repost(SELLER_TEAM, plan.id)
    row = _card_row(db, plan.id)
    assert (row.state, row.text) == ("pending", refreshes.REPOST), "a refresh became a repost"

    _set_row(db, row.id, state="sending")
    publisher.repost(SELLER_TEAM, plan.id)
    sending = _card_row(db, plan.id)
    assert sending.generation == row.generation + 1, "a mark during a send is counted"

    _set_row(db, row.id, state="sent")
    publisher.repost(SELLER_TEAM, plan.id)
    assert _card_row(db, plan.id).state == "pending", "a sent card is reposted again"

    _set_row(db, row.id, team_id="T0OTHER")
    publisher.repost(SELLER_TEAM, plan.id)
    assert _card_row(db, plan.id).team_id == SELLER_TEAM
