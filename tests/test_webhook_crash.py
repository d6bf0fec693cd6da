"""SIGKILL mid-delivery: `mapbot tick` (a real process) sends webhooks to a
loopback receiver, is killed while doing so, and a restarted one finishes. No
event is lost, and none reaches the receiver under two ids (the one in flight
may arrive twice, under its one id, which receivers drop per the spec)."""

from __future__ import annotations

import signal
import time
from collections import defaultdict
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.local_slack import LocalSlack
from storage import services, webhook_endpoints
from storage.db import Database
from storage.models import Outbox
from storage.rules import Actor
from storage.webhook_events import KIND
from tests.processes import start_tick
from tests.webhook_receiver import receiving

TEAM = "T0LEXCORP"
EVENTS = 80
KEY = "test-only passphrase long enough to stretch into a key"


def test_a_killed_worker_loses_no_event_and_doubles_none(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "MAPBOT_SECRET_KEY", "test-only passphrase long enough to stretch into a key"
    )
    monkeypatch.setenv("MAPBOT_WEBHOOK_ALLOW_PRIVATE", "1")
    monkeypatch.setenv("MAPBOT_WEBHOOK_TIMEOUT", "0.5")
    seller = Actor("U0LEX", "seller", TEAM)
    with receiving() as rx, LocalSlack(team_id=TEAM) as local:
        rx.delay = 0.1  # each answer takes a moment, so the kill lands mid-delivery
        _, rx.secrets["/crm"] = webhook_endpoints.add_endpoint(
            db, seller, rx.url("/crm"), internal=True
        )
        with db.write() as s:  # one transaction: a plan and its tasks, EVENTS events
            plan = services.create_plan(s, seller, "C0DEAL", "Big deal")
            m = services.add_milestone(s, seller, plan, "Everything")
            services.add_tasks(
                s,
                seller,
                plan,
                [services.NewTask(f"Task {i}", m) for i in range(EVENTS - 1)],
            )
        at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        victim = start_tick(db, local, at)
        deadline = time.monotonic() + 60
        while len(rx.tried("/crm")) < 10 and time.monotonic() < deadline:
            time.sleep(0.01)
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
        sent_before = len(rx.tried("/crm"))
        time.sleep(3.5)  # the killed worker's leases (2 s + the send timeout) run out
        restarted = start_tick(db, local, at)
        _, err = restarted.communicate(timeout=300)
        assert restarted.returncode == 0, err
    with db.read() as s:
        rows = s.execute(select(Outbox.subject, Outbox.state).where(Outbox.kind == KIND)).all()
    assert victim.returncode == -signal.SIGKILL, f"finished first: {sent_before} sent"
    assert 10 <= sent_before < EVENTS, "killed mid-delivery"
    # The plan and its tasks, and whatever the tick itself caused (plan health).
    assert len(rows) >= EVENTS and {state for _, state in rows} == {"sent"}
    delivered = rx.delivered("/crm")
    assert {b["id"] for b in delivered} == {subject for subject, _ in rows}, "none lost"
    ids_of: dict[tuple[str, int | None], set[str]] = defaultdict(set)
    for b in delivered:
        ids_of[(b["type"], (b["data"].get("task") or {}).get("id"))].add(b["id"])
    assert len(ids_of) == len(rows) and all(len(v) == 1 for v in ids_of.values()), "one id each"
    repeats = len(delivered) - len(rows)
    assert repeats <= 1, "only the send in flight at the kill may arrive again (same id)"
    print(f"\n{sent_before} sent before the kill, {repeats} arrived again under its id")
