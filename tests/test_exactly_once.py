"""Exactly once: two `mapbot tick` processes at once, one killed with SIGKILL
mid-delivery and another started after it, 1,000+ due messages — every one
reaches the Slack stand-in once. On SQLite and on PostgreSQL."""

from __future__ import annotations

import signal
import time
from collections import Counter
from datetime import UTC, date, datetime

from sqlalchemy import func, insert, select

from bot.local_slack import LocalSlack
from reminders.delivery import refreshes
from storage import services
from storage.db import Database
from storage.models import Outbox, Task
from storage.rules import Actor
from tests.processes import start_tick

TEAM = "T0LEXCORP"
USERS = 1000
AT = "2026-03-17T20:00:00Z"  # a Tuesday, 16:00 in New York: everything due today is due


def _seed(db: Database) -> None:
    seller = Actor("U0LEX", "seller", TEAM)
    with db.write() as s:
        plan = services.create_plan(s, seller, "C0DEAL", "Big deal", tz="America/New_York")
        milestone = services.add_milestone(s, seller, plan, "Everything")
        now = datetime(2026, 3, 1, tzinfo=UTC)
        s.execute(
            insert(Task),
            [
                {
                    "plan_id": plan.id,
                    "milestone_id": milestone.id,
                    "number": i + 1,
                    "position": i + 1,
                    "title": f"Seller task {i}",
                    "owner_side": "seller",
                    "assignee_id": f"U{i:05d}",
                    "status": "not_started",
                    "internal": False,
                    "due_date": date(2026, 3, 17),
                    "due_business": False,
                    "due_pinned": False,
                    "risk": "on_track",
                    "risk_reason": "",
                    "notes": "",
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(USERS)
            ],
        )


def _delivered(local: LocalSlack) -> Counter[str]:
    return Counter(
        c.params["metadata"]["event_payload"]["key"]
        for c in local.calls_to("chat.postMessage")
        if c.ok and c.params.get("metadata")
    )


def test_two_ticks_a_kill_and_a_restart_deliver_each_message_once(db: Database) -> None:
    _seed(db)
    with LocalSlack(team_id=TEAM) as local:
        # Each post takes a few milliseconds, so the kill lands mid-delivery.
        local.delay_next("chat.postMessage", 0.004, times=100_000)
        victim, survivor = start_tick(db, local, AT), start_tick(db, local, AT)
        assert local.wait_for(lambda: len(local.calls_to("chat.postMessage")) >= 200, timeout=60)
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
        out, err = survivor.communicate(timeout=300)
        assert survivor.returncode == 0, err
        time.sleep(2.5)  # the killed worker's lease runs out
        restarted = start_tick(db, local, AT)
        out2, err2 = restarted.communicate(timeout=300)
        assert restarted.returncode == 0, err2
        delivered = _delivered(local)
    with db.read() as s:
        messages = Outbox.kind.not_in(refreshes.KINDS)  # not the card and Home refreshes
        expected = s.scalar(select(func.count()).select_from(Outbox).where(messages)) or 0
        unsent = s.scalar(
            select(func.count()).select_from(Outbox).where(messages, Outbox.state != "sent")
        )
        why = s.execute(
            select(Outbox.state, Outbox.error).where(messages, Outbox.state != "sent")
        ).all()
    assert expected == USERS + 1  # a nudge per task, and the rep's digest
    duplicates = {k: n for k, n in delivered.items() if n > 1}
    assert duplicates == {}, f"sent twice: {list(duplicates)[:5]}"
    assert len(delivered) == expected, f"lost: {expected - len(delivered)}"
    assert unsent == 0, f"left unsent: {why[:5]}"
    assert victim.returncode == -signal.SIGKILL
    print(f"\n{out.strip()}\n{out2.strip()}")
