"""The replay claim commits with the request's first write (storage.db.FirstWrite):
a click is one write transaction, not two, and a replay still runs nothing — its
write is rolled back, and nothing it would hand to the after-ack pool is handed."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Connection, event, select

from bot import ids
from bot.local_slack import payloads
from storage import seen_requests
from storage.db import Database, FirstWrite, Replayed, first_write
from storage.models import SeenRequest
from tests.harness import CHANNEL, SECRET, SELLER_TEAM, Harness
from tests.test_modals import BUYER, setup_plan, task

AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@contextmanager
def _writes(db: Database) -> Iterator[list[list[str]]]:
    """The request threads' write transactions, each as the tables it wrote."""
    seen: list[list[str]] = []

    def begin(conn: Connection) -> None:
        if conn.get_execution_options().get("sqlite_immediate") and _ours():
            seen.append([])

    def statement(conn: Connection, _c: object, sql: str, *_a: object) -> None:
        words = sql.lower().split()
        writing = conn.get_execution_options().get("sqlite_immediate") and _ours() and seen
        if writing and words[0] in ("insert", "update", "delete"):
            seen[-1].append(words[2] if words[0] != "update" else words[1])

    event.listen(db.engine, "begin", begin)
    event.listen(db.engine, "before_cursor_execute", statement)
    try:
        yield seen
    finally:
        event.remove(db.engine, "begin", begin)
        event.remove(db.engine, "before_cursor_execute", statement)


def _ours() -> bool:
    return not threading.current_thread().name.startswith(("refresh-", "after-ack"))


def _pending(db: Database, key: str) -> FirstWrite:
    return FirstWrite(
        db,
        lambda conn: seen_requests.claim_in(
            conn, "signature", key, now=AT, ttl=timedelta(minutes=10)
        ),
    )


def _claims(db: Database) -> list[str]:
    with db.read() as s:
        return list(s.scalars(select(SeenRequest.key)))


def _complete_body(h: Harness, number: int) -> tuple[str, dict[str, str]]:
    value = h.button_value(ids.TASK_COMPLETE, number)
    action = {"action_id": ids.TASK_COMPLETE, "block_id": "b", "value": value, "type": "button"}
    body = h.card_click_body(action, BUYER)
    return body, payloads.signed_headers(body, SECRET)


def test_a_known_buyers_click_is_one_write_carrying_its_claim(h: Harness, db: Database) -> None:
    setup_plan(h)
    assert h.click(ids.TASK_START, h.button_value(ids.TASK_START, 1)).status == 200  # now known
    body, headers = _complete_body(h, 1)
    with _writes(db) as writes:
        assert h.post(body, headers).status == 200
    assert len(writes) == 1, writes
    assert "seen_request" in writes[0] and "task" in writes[0], writes
    assert task(db, 1).status == "completed"


def test_a_replayed_click_changes_nothing_though_it_ran_to_its_write(
    h: Harness, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    setup_plan(h)
    assert h.click(ids.TASK_START, h.button_value(ids.TASK_START, 1)).status == 200
    body, headers = _complete_body(h, 1)
    assert h.post(body, headers).status == 200
    h.settle()
    assert h.click(ids.TASK_REOPEN, h.button_value(ids.TASK_REOPEN, 1)).status == 200
    assert task(db, 1).status == "not_started"
    # The same signed request again: refused, and its change rolled back with its claim.
    caplog.clear()
    assert h.post(body, headers).status == 409
    h.settle()
    assert task(db, 1).status == "not_started"
    # Not logged as a failure (no traceback): a warning from the guard.
    assert [r.levelname for r in caplog.records if r.levelno >= logging.WARNING] == ["WARNING"]


def test_a_replayed_refusal_hands_nothing_to_the_after_ack_pool(h: Harness, db: Database) -> None:
    setup_plan(h)
    assert h.click(ids.TASK_START, h.button_value(ids.TASK_START, 1)).status == 200
    said = h.local.calls_to("chat.postEphemeral") + h.local.response_posts
    # The buyer completes the seller's task: refused, in an ephemeral after the answer.
    body, headers = _complete_body(h, 2)
    assert h.post(body, headers).status == 200
    h.settle()
    refused = h.local.calls_to("chat.postEphemeral") + h.local.response_posts
    assert len(refused) == len(said) + 1, "the refusal was said"
    assert h.post(body, headers).status == 409
    h.settle()
    again = h.local.calls_to("chat.postEphemeral") + h.local.response_posts
    assert len(again) == len(refused), "a replay says nothing"
    assert task(db, 2).status == "not_started"


def test_a_replayed_command_that_writes_nothing_opens_no_second_form(
    h: Harness, db: Database
) -> None:
    """`/map add` reads, then leaves views.open for after the answer: the claim
    commits before that job is handed over, so a replay hands nothing."""
    setup_plan(h)
    body = payloads.slash_command_body(
        text="add", user_id="U0LEX", team_id=SELLER_TEAM, channel_id=CHANNEL
    )
    headers = payloads.signed_headers(body, SECRET)
    assert h.post(body, headers).status == 200
    h.settle()
    assert len(h.local.calls_to("views.open")) == 1, "the form"
    assert h.post(body, headers).status == 409
    h.settle()
    assert len(h.local.calls_to("views.open")) == 1, "a replay opens nothing"


def test_a_claim_is_pending_again_when_its_transaction_fails(db: Database) -> None:
    pending = _pending(db, "k")
    with first_write(pending):
        with pytest.raises(RuntimeError), db.write():
            raise RuntimeError("the listener failed")
        assert pending.state == "pending" and _claims(db) == []
        pending.settle()  # a request that wrote nothing claims at its end
    assert pending.state == "won" and _claims(db) == ["k"]
    pending.settle()  # once
    assert _claims(db) == ["k"]


def test_a_lost_claim_refuses_every_write_of_the_request(db: Database) -> None:
    assert seen_requests.claim(db, "signature", "k", now=AT, ttl=timedelta(minutes=10))
    pending = _pending(db, "k")
    ran: list[str] = []
    with first_write(pending):
        with pytest.raises(Replayed), db.write():
            ran.append("write")  # never: the claim is made before the block runs
        with pytest.raises(Replayed), db.write_connection():
            pass
        with pytest.raises(Replayed):
            pending.settle()
    assert pending.state == "lost" and ran == []
    # Outside the request, writes carry no claim.
    other = _pending(db, "other")
    with db.write_connection():
        pass
    assert other.state == "pending" and _claims(db) == ["k"]
