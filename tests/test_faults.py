"""Faults: 200 clicks on a card while a fifth of all Web API calls answer 429
(Retry-After), 500 or time out — some of the 500s and timeouts carried out by
Slack all the same — and the day's nudges and digests delivered through it. The
card ends matching the database, every message is in Slack once, and Slack's
per-channel and per-workspace rates are held (counted per minute by the
stand-in). On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import random
import threading
from collections import Counter
from datetime import date, timedelta

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import func, select

from bot import ids
from bot.local_slack import LocalSlack
from bot.local_slack.api import DEFAULT_TOKEN
from bot.local_slack.faults import Chaos
from bot.local_slack.rate_counts import over_limit, peak_per_minute
from bot.local_slack.records import Call
from reminders.delivery import refreshes
from reminders.delivery.card import card_message
from reminders.tick import tick
from storage import services
from storage.db import Database
from storage.models import Outbox, Plan, Task
from storage.readmodel import active_plan, plan_view
from storage.rules import Actor
from tests.conftest import FixedClock
from tests.harness import BUYER_TEAM, CHANNEL, SELLER_TEAM, Harness, running_app

CLICKS = 200
LEX = Actor("U0LEX", "seller", SELLER_TEAM)
SELLERS = [f"U0SELL{i}" for i in range(6)]


def test_rate_counts_find_the_busiest_minute() -> None:
    calls = [Call("chat.update", {}, None, at=float(t)) for t in (0, 10, 59, 61, 62, 200)]
    posts = [Call("chat.postMessage", {"channel": "C1"}, None, at=t * 0.5) for t in range(70)]
    assert peak_per_minute(calls, "chat.update") == {"workspace": 4}  # 10, 59, 61, 62
    assert peak_per_minute(posts, "chat.postMessage") == {"C1": 70}
    assert over_limit(calls + posts) == {"chat.postMessage": {"C1": 70}}
    assert over_limit(calls) == {}


def test_chaos_is_seeded_and_answers_as_slack_does() -> None:
    def run(seed: int) -> tuple[list[tuple[str, str, bool]], Counter[int], int]:
        # A burst on purpose: the faults are under test here, not the channel's pace.
        with LocalSlack(team_id=SELLER_TEAM, post_burst=100) as local:
            local.chaos = Chaos(seed=seed, rate=0.5, hold=1.5)
            local.add_channel("C1", "deal")
            client = WebClient(
                token=DEFAULT_TOKEN, base_url=local.base_url, timeout=1, retry_handlers=[]
            )
            statuses: Counter[int] = Counter()
            for i in range(24):
                try:
                    client.chat_postMessage(channel="C1", text=f"m{i}")
                    statuses[200] += 1
                except SlackApiError as e:
                    statuses[e.response.status_code] += 1
                    if e.response.status_code == 429:
                        assert int(e.response.headers["Retry-After"]) >= 1
                except OSError:
                    statuses[0] += 1  # timed out
            return list(local.chaos.injected), statuses, len(local.messages("C1"))

    first, statuses, posted = run(3)
    assert first == run(3)[0], "the same seed, the same faults"
    assert first != run(4)[0]
    kinds = Counter(k for _m, k, _d in first)
    assert set(kinds) == {"429", "500", "timeout"}
    assert statuses[429] == kinds["429"] and statuses[0] == kinds["timeout"]
    carried = sum(1 for _m, k, done in first if done)
    assert 0 < carried < kinds["500"] + kinds["timeout"]
    assert posted == statuses[200] + carried, "a carried-out 500 or timeout is in Slack"


def _seed_due(db: Database, plan_id: int, today: date) -> None:
    """What the day sends: buyer tasks due today (replies in the card's thread),
    seller tasks due today (DMs), an overdue task for the rep's digest; Monday's
    weekly digest."""
    with db.write() as s:
        plan = s.get_one(Plan, plan_id)
        for i in range(4):
            services.add_task(s, LEX, plan, f"Buyer due {i}", owner_side="buyer", due=today)
        for who in SELLERS:
            services.add_task(
                s, LEX, plan, f"Seller due {who}", owner_side="seller", assignee_id=who, due=today
            )
        services.add_task(
            s,
            LEX,
            plan,
            "Overdue",
            owner_side="seller",
            assignee_id="U0LEX",
            due=today - timedelta(days=3),
        )


def _in_slack(local: LocalSlack) -> Counter[str]:
    counts: Counter[str] = Counter()
    for messages in local._messages.values():
        for m in messages:
            key = ((m.metadata or {}).get("event_payload") or {}).get("key")
            if key and not str(key).startswith(refreshes.CARD):
                counts[str(key)] += 1
    return counts


def _card_matches_database(h: Harness, db: Database) -> bool:
    with db.read() as s:
        plan = active_plan(s, SELLER_TEAM, CHANNEL)
        assert plan is not None
        expected = card_message(s, plan_view(s, plan, "buyer"))
    card = h.card()
    return card is not None and json.dumps(card["blocks"]) == json.dumps(expected.blocks)


def test_200_clicks_and_a_days_messages_while_a_fifth_of_calls_fail(
    db: Database, fixed_clock: FixedClock
) -> None:
    today = fixed_clock.at.date()  # a Monday; 10:00 in New York
    with running_app(db, update_interval=1.2, slack_timeout=1) as h:
        for who in SELLERS:
            h.local.add_user(who, team_id=SELLER_TEAM, name=who.lower(), tz="America/New_York")
        assert h.command("create Scare Floor rollout go-live 2027-03-01").status == 200
        with db.write() as s:
            plan = active_plan(s, SELLER_TEAM, CHANNEL)
            assert plan is not None
            plan_id = plan.id
            values = [
                ids.task_value(
                    plan.id, services.add_task(s, LEX, plan, f"Click {i}", owner_side="buyer").id
                )
                for i in range(20)
            ]
        _seed_due(db, plan_id, today)
        h.settle()

        h.local.chaos = chaos = Chaos(seed=20261201, rate=0.2, hold=2.0)
        rng = random.Random(7)
        clicks = [(rng.choice(ids.TASK_ACTIONS), rng.choice(values)) for _ in range(CLICKS)]
        lock = threading.Lock()
        answers: list[int] = []

        def clicker() -> None:
            while True:
                with lock:
                    if not clicks:
                        return
                    action, value = clicks.pop()
                resp = h.click(action, value, user="W0MIKE", user_team=BUYER_TEAM)
                with lock:
                    answers.append(resp.status)

        threads = [threading.Thread(target=clicker) for _ in range(4)]
        for t in threads:
            t.start()

        # Meanwhile the day's messages go out through the same faults; passes go on
        # (later instants) until nothing is of unknown fate any more.
        client_for = h.bot.deps.workspaces.client_for
        for n in range(12):
            fixed_clock.set(fixed_clock.at + timedelta(minutes=2 if n else 0))
            tick(db, fixed_clock.at, client_for, pace=1.0)
            with db.read() as s:
                open_rows = s.scalar(
                    select(func.count())
                    .select_from(Outbox)
                    .where(Outbox.kind.not_in(refreshes.KINDS), Outbox.state != "sent")
                )
            if not open_rows and n:
                break
            h.local.advance_rate_clock(61)  # history/replies: one request a minute
        for t in threads:
            t.join()
        assert answers == [200] * CLICKS, "every click acknowledged"
        assert h.bot.deps.settle(180), "the card and Homes caught up"
        assert _card_matches_database(h, db), "the card shows what the database holds"
        calls = list(h.local.calls)

        with db.read() as s:
            rows = dict(
                s.execute(
                    select(Outbox.kind, func.count())
                    .where(Outbox.kind.not_in(refreshes.KINDS))
                    .group_by(Outbox.kind)
                ).all()
            )
            states = set(s.scalars(select(Outbox.state).where(Outbox.kind.not_in(refreshes.KINDS))))
            moved = s.scalar(
                select(func.count()).select_from(Task).where(Task.status != "not_started")
            )
        counts = _in_slack(h.local)

    assert chaos.count("429") and chaos.count("500") and chaos.count("timeout"), chaos.injected
    assert moved, "the clicks changed tasks"
    assert rows.get("nudge.due_today") == 4 + len(SELLERS), rows
    assert rows.get("digest.plan_weekly") == 1 and rows.get("digest.rep_daily") == 1, rows
    assert states == {"sent"}, states
    assert {k: n for k, n in counts.items() if n > 1} == {}, "a message sent twice"
    assert len(counts) == sum(rows.values()), "a message lost"
    assert over_limit(calls) == {}, "over Slack's rate"
