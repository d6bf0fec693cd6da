"""Card refresh under bursts: clicks coalesce into few `chat.update` calls, the card
ends showing every change, and a 429 is waited out as its `Retry-After` says."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from bot import ids
from storage import services
from storage.db import Database
from storage.models import Task
from storage.readmodel import active_plan
from storage.rules import Actor
from tests.harness import BUYER_TEAM, CHANNEL, SELLER_TEAM, Harness, running_app

CLICKS = 100
UPDATE_INTERVAL = 1.2  # the production default (bot.config.Settings)


@pytest.fixture
def h(db: Database) -> Iterator[Harness]:
    with running_app(db, update_interval=UPDATE_INTERVAL) as harness:
        yield harness
        assert harness.local.violations == [], "Slack would have refused something we sent"


def plan_with_buyer_tasks(h: Harness, db: Database, n: int) -> list[str]:
    """A plan with `n` buyer tasks and its card in the channel; the tasks' button values."""
    assert h.command("create Scare Floor rollout go-live 2027-03-01").status == 200
    lex = Actor("U0LEX", "seller", SELLER_TEAM)
    with db.write() as s:
        plan = active_plan(s, SELLER_TEAM, CHANNEL)
        assert plan is not None
        tasks = [
            services.add_task(s, lex, plan, f"Buyer task {i}", owner_side="buyer") for i in range(n)
        ]
        values = [ids.task_value(plan.id, t.id) for t in tasks]
    h.bot.deps.publisher.refresh(SELLER_TEAM, plan.id)
    h.settle()
    assert f"0 of {n} tasks done" in h.card_text()
    return values


def test_100_clicks_cost_at_most_10_updates_and_the_card_ends_right(
    h: Harness, db: Database
) -> None:
    values = plan_with_buyer_tasks(h, db, CLICKS)
    before = len(h.local.calls_to("chat.update"))
    queue = list(values)
    lock = threading.Lock()

    def clicker() -> None:
        while True:
            with lock:
                if not queue:
                    return
                value = queue.pop()
            resp = h.click(
                ids.TASK_COMPLETE, value, user="W0MIKE", user_team=BUYER_TEAM, settle=False
            )
            assert resp.status == 200

    started = time.monotonic()
    threads = [threading.Thread(target=clicker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    burst = time.monotonic() - started
    h.settle()
    updates = h.local.calls_to("chat.update")[before:]
    assert burst < 10, f"the burst took {burst:.1f}s: not the case this test is about"
    assert 1 <= len(updates) <= 10
    # Coalesced, not merely slow: never two updates closer than the interval.
    gaps = [b.at - a.at for a, b in zip(updates, updates[1:], strict=False)]
    assert all(g >= UPDATE_INTERVAL - 0.05 for g in gaps), gaps
    with db.read() as s:
        done = s.scalar(select(func.count()).where(Task.status == "completed"))
    assert done == CLICKS
    assert f"{CLICKS} of {CLICKS} tasks done" in h.card_text()
    # (The creator's first reply came through the command's response URL.)
    refused = [e for e in h.local.ephemerals() if e.source == "api"]
    assert refused == [], "no click was refused"


def test_a_429_is_waited_out_as_retry_after_says(h: Harness, db: Database) -> None:
    values = plan_with_buyer_tasks(h, db, 3)
    before = len(h.local.calls_to("chat.update"))
    h.local.fail_next("chat.update", status=429, retry_after=1)
    h.click(ids.TASK_COMPLETE, values[0], user="W0MIKE", user_team=BUYER_TEAM)
    h.settle()
    refused, retried = h.local.calls_to("chat.update")[before:]
    assert (refused.status, retried.status) == (429, 200)
    assert retried.at - refused.at >= 1.0, "Slack said to wait a second"
    assert "1 of 3 tasks done" in h.card_text()
