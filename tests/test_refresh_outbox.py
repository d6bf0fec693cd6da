"""Card and Home refreshes live in the outbox, not in a process's memory: a mark
survives the process that made it, a 5xx is tried again rather than dropped,
the pacing is shared by every process, a 429 holds only its workspace, and a
mark that comes while its card is being sent is not lost."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from slack_sdk import WebClient
from sqlalchemy import select

from bot import ids
from bot.app import build
from bot.config import Settings
from bot.local_slack import LocalSlack
from reminders.delivery import refreshes
from reminders.delivery.card import CardPublisher
from reminders.delivery.refresh_worker import RefreshWorker
from storage import services
from storage.db import Database
from storage.models import Outbox, Plan, Task
from storage.readmodel import active_plan
from storage.rules import Actor
from tests.conftest import FixedClock
from tests.harness import (
    BUYER_TEAM,
    CHANNEL,
    SECRET,
    SELLER_TEAM,
    TOKEN,
    Harness,
    running_app,
)

LEX = Actor("U0LEX", "seller", SELLER_TEAM)


@pytest.fixture
def h(db: Database) -> Iterator[Harness]:
    with running_app(db) as harness:
        yield harness


def _plan(h: Harness, db: Database, tasks: int = 3) -> tuple[int, list[str]]:
    assert h.command("create Rollout go-live 2027-03-01").status == 200
    with db.write() as s:
        plan = active_plan(s, SELLER_TEAM, CHANNEL)
        assert plan is not None
        made = [
            services.add_task(s, LEX, plan, f"Buyer task {i}", owner_side="buyer")
            for i in range(tasks)
        ]
        values = [ids.task_value(plan.id, t.id) for t in made]
        plan_id = plan.id
    h.bot.deps.publisher.refresh(SELLER_TEAM, plan_id)
    h.settle()
    return plan_id, values


def _complete_all(db: Database) -> None:
    with db.write() as s:
        plan = active_plan(s, SELLER_TEAM, CHANNEL)
        assert plan is not None
        for task in s.scalars(select(Task).where(Task.plan_id == plan.id)):
            services.set_task_status(s, LEX, plan, task, "completed")


def test_a_mark_outlives_the_process_that_made_it(h: Harness, db: Database) -> None:
    plan_id, _values = _plan(h, db)
    _complete_all(db)
    # A process that committed the change and the mark, then died before sending.
    CardPublisher(db, wake=lambda: None).refresh(SELLER_TEAM, plan_id)
    h.bot.deps.stop()  # this process's worker is gone too
    assert "3 of 3 tasks done" not in h.card_text()
    with db.read() as s:
        row = s.scalars(select(Outbox).where(Outbox.kind == refreshes.CARD)).one()
    assert row.state == "pending"

    settings = Settings(
        bot_token=TOKEN,
        signing_secret=SECRET,
        slack_api_url=h.local.base_url,
        database_url=db.url,
        card_update_interval=0.0,
    )
    restarted = build(settings, db)  # a new process: sends what was left, unasked
    try:
        assert h.local.wait_for(lambda: "3 of 3 tasks done" in h.card_text(), timeout=10)
    finally:
        restarted.deps.settle(10)
        restarted.deps.stop()


def test_a_5xx_from_chat_update_is_tried_again_not_dropped(h: Harness, db: Database) -> None:
    plan_id, values = _plan(h, db)
    h.local.fail_next("chat.update", status=500, times=2)
    resp = h.click(ids.TASK_COMPLETE, values[0], user="W0MIKE", user_team=BUYER_TEAM)
    assert resp.status == 200
    h.settle()
    updates = [c.status for c in h.local.calls_to("chat.update")]
    assert updates[-3:] == [500, 500, 200]
    assert "1 of 3 tasks done" in h.card_text()
    with db.read() as s:
        row = s.scalars(select(Outbox).where(Outbox.kind == refreshes.CARD)).one()
    assert (row.state, row.attempts, row.error) == ("sent", 0, None)


def test_a_mark_during_the_send_is_sent_after_it(h: Harness, db: Database) -> None:
    plan_id, _values = _plan(h, db)
    h.local.delay_next("chat.update", 0.5)
    h.bot.deps.publisher.refresh(SELLER_TEAM, plan_id)

    def sending() -> bool:
        with db.read() as s:
            return s.scalar(select(Outbox.state).where(Outbox.kind == refreshes.CARD)) == "sending"

    deadline = time.monotonic() + 5
    while not sending() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sending(), "the update is in flight"
    _complete_all(db)
    h.bot.deps.publisher.refresh(SELLER_TEAM, plan_id)
    h.settle()
    assert "3 of 3 tasks done" in h.card_text(), "the later mark was not folded away"


def test_pacing_is_shared_by_two_processes(db: Database) -> None:
    """Two workers (as two processes would: their own engines) on one database
    keep one workspace's chat.update at the interval between them."""
    interval = 0.5
    with LocalSlack(team_id=SELLER_TEAM) as local:
        client = WebClient(token=TOKEN, base_url=local.base_url)
        plan_ids = []
        for i in range(6):
            channel = f"C0DEAL{i}"
            local.add_channel(channel, f"deal-{i}", shared=True)
            card = client.chat_postMessage(channel=channel, text="card")
            with db.write() as s:
                plan = services.create_plan(s, LEX, channel, f"Deal {i}")
                services.set_card(s, plan, channel, str(card["ts"]))
                plan_ids.append(plan.id)
        local.reset()
        second_db = Database(db.url)
        workers = [RefreshWorker(d, lambda _t: client, interval=interval) for d in (db, second_db)]
        try:
            for i, plan_id in enumerate(plan_ids):
                CardPublisher(db, workers[i % 2].wake).refresh(SELLER_TEAM, plan_id)
            assert all(w.flush(20) for w in workers)
        finally:
            for w in workers:
                w.stop()
            second_db.dispose()
        updates = local.calls_to("chat.update")
    assert len(updates) == 6
    # Turns are taken in the database: together the two send at the interval.
    # A turn is when a send may start: a send slowed by load (the first, say) can
    # land next to the following turn's, so a stretch of k sends spans at least
    # k - 2 intervals, never fewer (each process pacing alone: half that).
    at = [u.at for u in updates]
    gaps = [b - a for a, b in zip(at, at[1:], strict=False)]
    for i, j in itertools.combinations(range(len(at)), 2):
        assert at[j] - at[i] >= (j - i - 1) * interval - 0.1, (i, j, gaps)


def test_a_429_holds_its_workspace_only(db: Database) -> None:
    with LocalSlack(team_id="T0A") as slack_a, LocalSlack(team_id="T0B") as slack_b:
        for slack in (slack_a, slack_b):
            slack.add_channel(CHANNEL, "deal", shared=True)
        clients = {
            "T0A": WebClient(token=TOKEN, base_url=slack_a.base_url),
            "T0B": WebClient(token=TOKEN, base_url=slack_b.base_url),
        }
        plans = {}
        for team, client in clients.items():
            card = client.chat_postMessage(channel=CHANNEL, text="card")
            with db.write() as s:
                plan = services.create_plan(s, Actor("U0X", "seller", team), CHANNEL, team)
                services.set_card(s, plan, CHANNEL, str(card["ts"]))
                plans[team] = plan.id
        slack_a.fail_next("chat.update", status=429, retry_after=1)
        worker = RefreshWorker(db, clients.__getitem__, interval=0.0)
        started = time.monotonic()
        try:
            for team, plan_id in plans.items():
                CardPublisher(db, worker.wake).refresh(team, plan_id)
            assert slack_b.wait_for(lambda: len(slack_b.calls_to("chat.update")) == 1, 5)
            b_done = time.monotonic() - started
            assert worker.flush(10)
        finally:
            worker.stop()
        a_calls = slack_a.calls_to("chat.update")
    assert [c.status for c in a_calls] == [429, 200]
    assert a_calls[1].at - a_calls[0].at >= 1.0, "Slack said to wait a second"
    assert b_done < 1.0, "the other workspace did not wait"


def test_marks_coalesce_into_one_row_per_target(db: Database) -> None:
    woken = threading.Event()
    publisher = CardPublisher(db, woken.set)
    with db.write() as s:
        plan = services.create_plan(s, LEX, CHANNEL, "Deal")
    for _ in range(5):
        publisher.refresh(SELLER_TEAM, plan.id)
    publisher.repost(SELLER_TEAM, plan.id)
    publisher.refresh(SELLER_TEAM, plan.id)
    with db.read() as s:
        rows = list(s.scalars(select(Outbox).where(Outbox.kind == refreshes.CARD)))
    assert len(rows) == 1 and woken.is_set()
    assert rows[0].generation == 6 and rows[0].text == refreshes.REPOST, "a repost survives"


def test_the_refresh_a_click_enqueues_is_one_statement(h: Harness, db: Database) -> None:
    from sqlalchemy import event

    plan_id, _values = _plan(h, db)
    statements: list[str] = []

    me = threading.get_ident()  # not the worker thread's polling

    def count(_conn: object, _cursor: object, statement: str, *_a: object) -> None:
        if threading.get_ident() == me:
            statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        CardPublisher(db, wake=lambda: None).refresh(SELLER_TEAM, plan_id)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    writes = [st for st in statements if not st.lstrip().upper().startswith(("BEGIN", "COMMIT"))]
    assert len(writes) == 1 and "outbox" in writes[0].lower(), writes


def test_the_card_follows_time_at_local_midnight(
    h: Harness, db: Database, fixed_clock: FixedClock
) -> None:
    """Nothing changes in the plan, yet "10 days to go" must become "9 days to go":
    once a day per zone, at the plan's local midnight, its card is refreshed."""
    from reminders.tick import tick

    fixed_clock.set(datetime(2026, 11, 23, 15, 0, tzinfo=UTC))  # 10:00 in New York
    assert h.command("create Rollout go-live 2026-12-03").status == 200
    h.settle()
    assert "10 days to go" in h.card_text()
    client_for = h.bot.deps.workspaces.client_for
    tick(db, fixed_clock(), client_for, pace=0)  # the first pass notes today
    h.settle()
    before = len(h.local.calls_to("chat.update"))

    fixed_clock.set(datetime(2026, 11, 24, 4, 59, tzinfo=UTC))  # 23:59 in New York
    tick(db, fixed_clock(), client_for, pace=0)
    h.settle()
    assert len(h.local.calls_to("chat.update")) == before, "not before local midnight"

    fixed_clock.set(datetime(2026, 11, 24, 5, 1, tzinfo=UTC))  # 00:01 in New York
    tick(db, fixed_clock(), client_for, pace=0)
    tick(db, fixed_clock() + timedelta(minutes=1), client_for, pace=0)
    h.settle()
    assert len(h.local.calls_to("chat.update")) == before + 1, "once, not every tick"
    assert "9 days to go" in h.card_text()


def test_two_ticks_turning_the_same_day_mark_the_cards_once(db: Database) -> None:
    """Both see the zone's day turn; the second waits for the first's commit (the
    writer lock on SQLite, the row on PostgreSQL) and marks nothing, without error."""
    with db.write() as s:
        plan = services.create_plan(s, LEX, CHANNEL, "Deal", tz="America/New_York")
        services.set_card(s, plan, CHANNEL, "1700000000.000100")
    at = datetime(2026, 11, 24, 5, 1, tzinfo=UTC)
    marked: list[int] = []

    def other_tick() -> None:
        with db.write() as s:
            marked.append(refreshes.cards_past_midnight(s, at))

    with db.write() as s:
        marked.append(refreshes.cards_past_midnight(s, at))
        other = threading.Thread(target=other_tick)
        other.start()
        time.sleep(0.5)  # it reads the day as not turned yet, then waits for this commit
    other.join(10)
    assert marked == [1, 0]
    with db.read() as s:
        cards = list(s.scalars(select(Outbox.recipient).where(Outbox.kind == refreshes.CARD)))
    assert cards == [f"plan:{plan.id}"]


def test_sigterm_drains_the_worker(db: Database) -> None:
    """SIGTERM: the send in flight finishes, nothing new is claimed, and what was
    claimed but not begun goes back at once (not held for a lease)."""
    import os
    import signal
    import socket
    import subprocess
    import sys

    from tests.processes import ROOT

    with LocalSlack(team_id=SELLER_TEAM) as local:
        client = WebClient(token=TOKEN, base_url=local.base_url)
        publisher = CardPublisher(db, wake=lambda: None)
        for i in range(5):
            channel = f"C0DRAIN{i}"
            local.add_channel(channel, f"drain-{i}", shared=True)
            card = client.chat_postMessage(channel=channel, text="card")
            with db.write() as s:
                plan = services.create_plan(s, LEX, channel, f"Deal {i}")
                services.set_card(s, plan, channel, str(card["ts"]))
            publisher.refresh(SELLER_TEAM, plan.id)
        local.delay_next("chat.update", 1.5, times=100)
        with socket.socket() as free:
            free.bind(("127.0.0.1", 0))
            port = free.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
        env.update(
            DATABASE_URL=db.url,
            SLACK_API_URL=local.base_url,
            SLACK_BOT_TOKEN=TOKEN,
            PORT=str(port),
            HOST="127.0.0.1",
            PYTHONPATH=str(ROOT),
        )
        worker = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "worker"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

        def states() -> list[tuple[str, str | None]]:
            with db.read() as s:
                return [
                    (r.state, r.claimed_by)
                    for r in s.scalars(select(Outbox).where(Outbox.kind == refreshes.CARD))
                ]

        deadline = time.monotonic() + 30
        while not any(st == "sending" for st, _ in states()) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)  # the first update is on its way to Slack
        worker.send_signal(signal.SIGTERM)
        _out, err = worker.communicate(timeout=20)
        assert worker.returncode == 0, err
    final = states()
    sent = [st for st, _ in final if st == "sent"]
    handed_back = [by for st, by in final if st == "pending"]
    assert len(sent) >= 1, f"the send in flight finished: {final}"
    assert handed_back and handed_back == [None] * len(handed_back), f"given back: {final}"
    assert len(sent) + len(handed_back) == 5, final


def test_a_change_queues_its_card_refresh_in_its_own_transaction(h: Harness, db: Database) -> None:
    """The service that changes a plan writes the card's refresh row itself: rolled
    back with the change, committed with it (no listener involved)."""
    plan_id, _values = _plan(h, db)
    h.bot.deps.stop()  # nothing sends: the row stays as the change left it

    def card_row() -> tuple[str, int]:
        with db.read() as s:
            row = s.scalars(select(Outbox).where(Outbox.kind == refreshes.CARD)).one()
            return row.state, row.generation

    before = card_row()
    with pytest.raises(RuntimeError), db.write() as s:
        plan = s.get_one(Plan, plan_id)
        task = s.scalars(select(Task).where(Task.plan_id == plan_id)).first()
        assert task is not None
        services.set_task_status(s, LEX, plan, task, "completed")
        raise RuntimeError("the transaction fails after the change")
    assert card_row() == before, "a rolled-back change queued nothing"

    with db.write() as s:
        plan = s.get_one(Plan, plan_id)
        for task in s.scalars(select(Task).where(Task.plan_id == plan_id)):
            services.set_task_status(s, LEX, plan, task, "completed")
    state, generation = card_row()
    assert state == "pending" and generation == before[1] + 1, "one mark for the transaction"


def test_a_repost_whose_answer_never_came_is_found_not_posted_twice(db: Database) -> None:
    """The new card reached Slack, the answer did not (a timeout, or a crash):
    the retry finds it by the key in its metadata and keeps it as the card."""
    with running_app(db, slack_timeout=3) as h:
        _plan(h, db)
        old = h.card()
        assert old is not None
        h.local.hold_answer_next("chat.postMessage", 4.0)
        assert h.command("status").status == 200  # asks for the card at the bottom
        assert h.bot.deps.settle(60)

        def is_card(m: object) -> bool:
            key = ((getattr(m, "metadata", None) or {}).get("event_payload") or {}).get("key")
            return str(key or "").startswith(refreshes.CARD)

        cards = [m for m in h.local.messages(CHANNEL) if is_card(m)]
        assert len(cards) == 1, "posted once, though its answer never came"
        card = h.card()
        assert card is not None and card["ts"] == cards[0].ts != old["ts"]
        assert h.local.message(CHANNEL, old["ts"]) is None, "the old card is gone"
        assert len(h.local.calls_to("conversations.history")) == 1, "looked up once"


def test_a_change_made_while_the_first_card_is_on_its_way_reaches_it(
    h: Harness, db: Database
) -> None:
    """Before its first card a plan has no card to mark; a change made while that
    card is being posted is shown by one more update once its ts is known."""
    h.local.delay_next("chat.postMessage", 2.0)  # Slack takes its time with the first card
    assert h.command("create Rollout go-live 2027-03-01").status == 200

    def posting() -> bool:
        with db.read() as s:
            return (
                s.scalar(select(Outbox.posting_since).where(Outbox.kind == refreshes.CARD))
                is not None
            )

    deadline = time.monotonic() + 10
    while not posting() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert posting(), "the first card is on its way"
    with db.write() as s:
        plan = active_plan(s, SELLER_TEAM, CHANNEL)
        assert plan is not None and plan.card_ts is None
        services.add_task(s, LEX, plan, "Made meanwhile", owner_side="buyer")
    h.settle()
    assert "Made meanwhile" in h.card_text()


def test_a_wake_after_stop_sends_nothing(db: Database) -> None:
    """A request still in flight while the process drains wakes the worker: it
    must not start sending again (the row is left for another process)."""
    with LocalSlack(team_id=SELLER_TEAM) as local:
        local.add_channel("C0STOPPED", "stopped", shared=True)
        client = WebClient(token=TOKEN, base_url=local.base_url)
        card = client.chat_postMessage(channel="C0STOPPED", text="card")
        with db.write() as s:
            plan = services.create_plan(s, LEX, "C0STOPPED", "Deal")
            services.set_card(s, plan, "C0STOPPED", str(card["ts"]))
        worker = RefreshWorker(db, lambda _t: client, interval=0.0)
        publisher = CardPublisher(db, worker.wake)
        publisher.refresh(SELLER_TEAM, plan.id)
        assert worker.flush(10)
        worker.stop()
        publisher.refresh(SELLER_TEAM, plan.id)  # woken after the stop
        alive = [t for t in threading.enumerate() if t.name.startswith("refresh-") and t.is_alive()]
        assert alive == []
        assert worker.pending() == 1
        assert len(local.calls_to("chat.update")) == 1
