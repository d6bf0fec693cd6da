"""Recovery after a send of unknown fate: Slack may have the message while we have
no `ts` (a crash, a timeout). The stand-in is as strict as Slack where this
depends on it — history holds no thread replies, pages of at most 15 behind a
cursor, `oldest` exclusive, one history/replies request a minute — and the
nasty cases are driven for real: answers held back, a timeout, a 429 during
recovery, two tick processes SIGKILLed with a thread reply in flight."""

from __future__ import annotations

import signal
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import func, select

from bot.local_slack import LocalSlack
from bot.local_slack.api import DEFAULT_TOKEN
from bot.local_slack.rates import POST_BURST
from reminders.delivery import outbox as delivery
from reminders.delivery import refreshes
from reminders.delivery.outgoing import Outgoing
from reminders.delivery.recovery import key_in as recovery_key
from storage import services
from storage.db import Database
from storage.models import Outbox
from storage.rules import Actor
from tests.processes import start_tick

TEAM = "T0LEXCORP"
SELLER = Actor("U0LEX", "seller", TEAM)
CHANNEL = "C0DEAL"
AT = datetime(2026, 3, 17, 20, 0, tzinfo=UTC)  # a Tuesday, 16:00 in New York


def _slack(post_burst: int = POST_BURST) -> LocalSlack:
    """The workspace with the deal channel; `post_burst` raised by the tests that
    post faster into one channel than Slack's 1/s on purpose (to set a scene)."""
    local = LocalSlack(team_id=TEAM, post_burst=post_burst)
    local.add_channel(CHANNEL, "deal", shared=True)
    local.add_user(SELLER.user_id, team_id=TEAM, name="lex")  # the rep: digests by DM
    return local


def _client(local: LocalSlack, timeout: float = 5) -> WebClient:
    return WebClient(token=DEFAULT_TOKEN, base_url=local.base_url, timeout=timeout)


def _key_counts(local: LocalSlack) -> Counter[str]:
    """Each outbox key as often as Slack holds a message carrying it."""
    counts: Counter[str] = Counter()
    for channel_messages in local._messages.values():
        for m in channel_messages:
            key = ((m.metadata or {}).get("event_payload") or {}).get("key")
            if key:
                counts[str(key)] += 1
    return counts


def _plan_with_card(db: Database, local: LocalSlack) -> tuple[int, str]:
    card = _client(local).chat_postMessage(channel=CHANNEL, text="the plan card")
    with db.write() as s:
        plan = services.create_plan(s, SELLER, CHANNEL, "Deal", tz="America/New_York")
        services.set_card(s, plan, CHANNEL, str(card["ts"]))
        return plan.id, str(card["ts"])


def _queue_thread_nudge(db: Database, plan_id: int, n: int = 1) -> None:
    with db.write() as s:
        delivery.enqueue(
            s,
            [
                Outgoing(
                    "nudge.due_today",
                    TEAM,
                    CHANNEL,
                    f"task:{i}",
                    date(2026, 3, 17),
                    f"Task {i} is due today",
                    thread_of_plan=plan_id,
                )
                for i in range(1, n + 1)
            ],
            AT,
        )


def _states(db: Database) -> dict[str, int]:
    """Messages by state (card and Home refreshes are rows of the outbox too)."""
    with db.read() as s:
        return dict(
            s.execute(
                select(Outbox.state, func.count())
                .where(Outbox.kind.not_in(refreshes.KINDS))
                .group_by(Outbox.state)
            ).all()
        )


# --- the stand-in answers as Slack does ---------------------------------------------


def test_history_and_replies_answer_as_slack_does() -> None:
    with _slack(post_burst=30) as local:
        client = _client(local)
        parent = client.chat_postMessage(channel=CHANNEL, text="parent")["ts"]
        replies = [
            client.chat_postMessage(channel=CHANNEL, text=f"reply {i}", thread_ts=parent)["ts"]
            for i in range(20)
        ]
        top = [client.chat_postMessage(channel=CHANNEL, text=f"top {i}")["ts"] for i in range(3)]

        history = client.conversations_history(channel=CHANNEL, limit=200)
        texts = [m["text"] for m in history["messages"]]
        assert texts == ["top 2", "top 1", "top 0", "parent"], "never a thread reply, newest first"
        assert history["has_more"] is False

        with pytest.raises(SlackApiError) as limited:  # 1 request a minute
            client.conversations_history(channel=CHANNEL)
        assert limited.value.response.status_code == 429
        assert int(limited.value.response.headers["Retry-After"]) > 0

        local.advance_rate_clock(61)
        page = client.conversations_replies(channel=CHANNEL, ts=parent, limit=200)
        assert len(page["messages"]) == 15, "at most 15 a page outside the Marketplace"
        assert page["messages"][0]["ts"] == parent and page["has_more"] is True
        cursor = page["response_metadata"]["next_cursor"]
        assert cursor
        local.advance_rate_clock(61)
        rest = client.conversations_replies(channel=CHANNEL, ts=parent, cursor=cursor)
        assert [m["ts"] for m in page["messages"] + rest["messages"]] == [parent, *replies]
        assert rest["has_more"] is False and rest["response_metadata"]["next_cursor"] == ""

        local.advance_rate_clock(61)
        exclusive = client.conversations_history(channel=CHANNEL, oldest=top[0])
        assert [m["ts"] for m in exclusive["messages"]] == [top[2], top[1]], "oldest exclusive"
        local.advance_rate_clock(61)
        inclusive = client.conversations_history(channel=CHANNEL, oldest=top[0], inclusive=True)
        assert [m["ts"] for m in inclusive["messages"]] == [top[2], top[1], top[0]]

        local.advance_rate_clock(61)
        with pytest.raises(SlackApiError) as missing:
            client.conversations_replies(channel=CHANNEL, ts="1.000001")
        assert missing.value.response["error"] == "thread_not_found"
        local.advance_rate_clock(61)
        with pytest.raises(SlackApiError) as bad:
            client.conversations_history(channel=CHANNEL, cursor="garbage")
        assert bad.value.response["error"] == "invalid_cursor"


# --- recovery ------------------------------------------------------------------------


def test_a_timed_out_thread_reply_is_looked_up_in_its_thread_not_sent_twice(
    db: Database,
) -> None:
    with _slack() as local:
        plan_id, card_ts = _plan_with_card(db, local)
        _queue_thread_nudge(db, plan_id)
        # Slack takes the reply at once but answers after the client gave up.
        local.hold_answer_next("chat.postMessage", 1.5)
        client = _client(local, timeout=0.5)
        first = delivery.deliver(db, lambda _t: client, "w1", pace=0, now=lambda: AT)
        assert first.sent == 0 and first.retried == 1
        assert _key_counts(local) == Counter({"nudge.due_today|C0DEAL|task:1|2026-03-17": 1})
        time.sleep(1.2)  # the held answer goes out to nobody

        later = AT + timedelta(seconds=30)
        second = delivery.deliver(db, lambda _t: client, "w1", pace=0, now=lambda: later)
        assert second.recovered == 1 and second.sent == 0
        assert [c.params["ts"] for c in local.calls_to("conversations.replies")] == [card_ts]
        assert local.calls_to("conversations.history") == [], "history never holds a reply"
        assert _key_counts(local)["nudge.due_today|C0DEAL|task:1|2026-03-17"] == 1
        assert _states(db) == {"sent": 1}


def test_a_429_during_recovery_sends_nothing_and_the_lookup_is_tried_again(
    db: Database,
) -> None:
    with _slack() as local:
        plan_id, _card = _plan_with_card(db, local)
        _queue_thread_nudge(db, plan_id)
        local.hold_answer_next("chat.postMessage", 1.0)
        client = _client(local, timeout=0.3)
        delivery.deliver(db, lambda _t: client, "w1", pace=0, now=lambda: AT)
        time.sleep(0.8)

        local.fail_next("conversations.replies", status=429, retry_after=30)
        at = AT + timedelta(seconds=30)
        blocked = delivery.deliver(db, lambda _t: client, "w1", pace=0, now=lambda: at)
        assert blocked.sent == 0 and blocked.recovered == 0 and blocked.retried == 1
        with db.read() as s:
            row = s.scalars(select(Outbox)).one()
        assert row.state == "pending" and row.error == "lookup: ratelimited"
        assert row.posting_since is not None, "still of unknown fate: never sent blindly"
        assert delivery.claim(db, "w2", at + timedelta(seconds=59)) == [], "held a minute"

        at2 = AT + timedelta(seconds=91)
        found = delivery.deliver(db, lambda _t: client, "w1", pace=0, now=lambda: at2)
        assert found.recovered == 1 and found.sent == 0
        assert sum(_key_counts(local).values()) == 1


def test_a_sure_refusal_is_sent_again_without_a_lookup(db: Database) -> None:
    """A 429 or an `ok: false` from chat.postMessage was not posted: no lookup."""
    with _slack() as local:
        plan_id, _card = _plan_with_card(db, local)
        _queue_thread_nudge(db, plan_id, n=2)
        local.fail_next("chat.postMessage", status=429, retry_after=1)
        local.fail_next("chat.postMessage", error="internal_error")
        client = _client(local)
        delivery.deliver(db, lambda _t: client, "w1", pace=0, now=lambda: AT)
        later = AT + timedelta(minutes=5)
        delivery.deliver(db, lambda _t: client, "w1", pace=0, now=lambda: later)
        assert local.calls_to("conversations.replies") == []
        assert _states(db) == {"sent": 2}
        assert sorted(_key_counts(local).values()) == [1, 1]


def test_a_lookup_over_many_pages_goes_on_where_the_429_stopped_it(db: Database) -> None:
    with _slack(post_burst=30) as local:
        plan_id, card_ts = _plan_with_card(db, local)
        people = _client(local)
        for i in range(20):  # a busy thread: the reply we look for is on page 2
            people.chat_postMessage(channel=CHANNEL, text=f"chatter {i}", thread_ts=card_ts)
        _queue_thread_nudge(db, plan_id)
        local.hold_answer_next("chat.postMessage", 1.0)
        client = _client(local, timeout=0.3)
        delivery.deliver(db, lambda _t: client, "w1", pace=0, now=lambda: AT)
        time.sleep(0.8)

        at = AT + timedelta(seconds=30)
        partial = delivery.deliver(db, lambda _t: client, "w1", pace=0, now=lambda: at)
        assert partial.recovered == 0 and partial.sent == 0
        calls = local.calls_to("conversations.replies")
        assert [c.status for c in calls] == [200, 429], "page 2 within the minute: refused"
        with db.read() as s:
            mark = s.scalars(select(Outbox.lookup_mark)).one()
        assert mark == calls[0].result["messages"][-1]["ts"]

        local.advance_rate_clock(61)
        at2 = AT + timedelta(seconds=91)
        found = delivery.deliver(db, lambda _t: client, "w1", pace=0, now=lambda: at2)
        assert found.recovered == 1 and found.sent == 0
        resumed = local.calls_to("conversations.replies")[2]
        assert resumed.params["oldest"] == mark and "cursor" not in resumed.params
        assert sum(_key_counts(local).values()) == 1


# --- the crash itself ----------------------------------------------------------------


def _seed_buyer_nudges(db: Database, card_ts: str, tasks: int) -> None:
    with db.write() as s:
        plan = services.create_plan(s, SELLER, CHANNEL, "Deal", tz="America/New_York")
        services.set_card(s, plan, CHANNEL, card_ts)
        milestone = services.add_milestone(s, SELLER, plan, "Everything")
        for i in range(tasks):
            services.add_task(
                s,
                SELLER,
                plan,
                f"Buyer task {i}",
                owner_side="buyer",
                assignee_id=f"W{i:04d}",
                due=date(2026, 3, 17),
                milestone=milestone,
            )


def test_two_ticks_killed_with_thread_replies_in_flight_then_a_restart(db: Database) -> None:
    with _slack(post_burst=1000) as local:  # `--pace 0`: 120 replies at once
        card_ts = str(_client(local).chat_postMessage(channel=CHANNEL, text="card")["ts"])
        # Enough for both processes to claim a batch (50 rows each).
        _seed_buyer_nudges(db, card_ts, tasks=120)
        # Each process's first thread reply reaches Slack; its answer never comes back.
        local.hold_answer_next("chat.postMessage", 30, times=2)
        first, second = start_tick(db, local, AT.isoformat()), start_tick(db, local, AT.isoformat())
        started = local.wait_for(lambda: len(local.calls_to("chat.postMessage")) >= 3, timeout=60)
        for victim in (first, second):
            victim.send_signal(signal.SIGKILL)
        # What the killed ticks logged, and what Slack was asked: shown when it fails.
        logged = "\n".join(victim.communicate(timeout=10)[1] for victim in (first, second))
        calls = "\n".join(f"{c.method} {c.params.get('metadata', '')}" for c in local.calls)
        seen = f"{logged[-6000:]}\n{calls}"
        assert started, seen
        assert "Traceback" not in logged, f"a tick failed before the kill: {seen}"
        in_flight = set(_key_counts(local))
        assert len(in_flight) == 2, f"both replies are in Slack: {seen}"
        # The rows whose post began and whose answer never came: both, as a rule.
        # One process may post both (the other slow to start): its first timed out
        # (10 s) and waits to settle before it is looked up; the one killed in
        # flight is looked up as soon as its lease runs out.
        with db.read() as s:
            unknown = {
                delivery.key_of(r): r.state
                for r in s.scalars(
                    select(Outbox).where(Outbox.posting_since.is_not(None), Outbox.ts.is_(None))
                )
            }
        unanswered = set(unknown)
        killed_in_flight = {key for key, state in unknown.items() if state == "sending"}
        assert unanswered and unanswered <= in_flight, f"in Slack, and we don't know: {seen}"
        assert killed_in_flight, f"a reply killed in flight: {unknown}"

        time.sleep(2.5)  # their leases run out
        restarted = start_tick(db, local, AT.isoformat())
        _out, err = restarted.communicate(timeout=120)
        assert restarted.returncode == 0, err
        lookups = local.calls_to("conversations.replies")
        with db.read() as s:
            left = s.execute(
                select(Outbox.id, Outbox.state, Outbox.error).where(
                    Outbox.kind.not_in(refreshes.KINDS), Outbox.state != "sent"
                )
            ).all()
        if left:
            # Under load one of the restart's own posts can go unanswered: an
            # unknown fate, looked up (never re-sent) once it has settled.
            time.sleep(delivery.SETTLE.total_seconds() + 1)
            local.advance_rate_clock(61)
            again = start_tick(db, local, AT.isoformat())
            _out, err = again.communicate(timeout=120)
            assert again.returncode == 0, err

    with db.read() as s:
        expected = (
            s.scalar(
                select(func.count()).select_from(Outbox).where(Outbox.kind.not_in(refreshes.KINDS))
            )
            or 0
        )
    counts = _key_counts(local)
    assert expected >= 120
    assert {k: n for k, n in counts.items() if n > 1} == {}, "a thread reply sent twice"
    assert len(counts) == expected, f"lost: {expected - len(counts)}"
    assert _states(db) == {"sent": expected}, f"after the restart: {left}"
    # One lookup of the thread found every row killed in flight (a later one may
    # look for the row that timed out, or a post of the restart's own that went
    # unanswered under load).
    first_lookup = {recovery_key(m) for m in lookups[0].result.get("messages") or []}
    assert killed_in_flight <= first_lookup, f"one lookup for the thread, for all its rows: {seen}"


def test_a_row_taken_over_after_its_lease_is_not_sent_by_the_slow_worker(db: Database) -> None:
    """A worker slow enough for its lease to run out (a long batch, a stall) finds,
    when it reaches a row, that another worker owns it now, and leaves it."""
    with _slack() as local:
        plan_id, _card = _plan_with_card(db, local)
        _queue_thread_nudge(db, plan_id, n=3)
        slow = delivery.claim(db, "slow", AT)
        later = AT + timedelta(seconds=delivery.lease_seconds() + 1)
        fast = delivery.claim(db, "fast", later)
        assert {i.id for i in fast} == {i.id for i in slow}, "taken over after the lease"
        client = _client(local)
        result = delivery.DeliveryResult()
        pacer = delivery.Pacer(db, 0)
        for item in slow:
            delivery._deliver_one(db, lambda _t: client, "slow", item, pacer, result, lambda: AT)
        assert local.calls_to("chat.postMessage")[1:] == [], "the slow worker sent nothing"
        for item in fast:
            delivery._deliver_one(db, lambda _t: client, "fast", item, pacer, result, lambda: later)
        assert sorted(_key_counts(local).values()) == [1, 1, 1]


# --- every kind at once: thread replies, DMs, weekly and daily digests ---------------

MONDAY = datetime(2026, 3, 16, 20, 0, tzinfo=UTC)  # 16:00 in New York: digests are due


def _seed_every_kind(db: Database, local: LocalSlack, plans: int) -> None:
    """`plans` deals, each with its card, its own rep, buyer tasks due today
    (replies in the card's thread), seller tasks due today (DMs to their
    assignees), a weekly digest (Monday) and an overdue task for the rep's digest."""
    for p in range(plans):  # the stand-in knows only the channels and people it has
        local.add_channel(f"C0DEAL{p}", f"deal-{p}", shared=True)
        local.add_user(f"U0REP{p}", team_id=TEAM, name=f"rep{p}")
        for i in range(15):
            local.add_user(f"W{p}{i:03d}", team_id="T0BUYER", name=f"buyer{p}{i}")
        for i in range(10):
            local.add_user(f"U{p}{i:03d}", team_id=TEAM, name=f"seller{p}{i}")
    cards = [
        str(_client(local).chat_postMessage(channel=f"C0DEAL{p}", text="card")["ts"])
        for p in range(plans)
    ]
    with db.write() as s:
        for p in range(plans):
            rep = Actor(f"U0REP{p}", "seller", TEAM)
            plan = services.create_plan(s, rep, f"C0DEAL{p}", f"Deal {p}", tz="America/New_York")
            services.set_card(s, plan, f"C0DEAL{p}", cards[p])
            milestone = services.add_milestone(s, rep, plan, "Everything")
            tasks = [("buyer", f"W{p}{i:03d}", date(2026, 3, 16)) for i in range(15)] + [
                ("seller", f"U{p}{i:03d}", date(2026, 3, 16)) for i in range(10)
            ]
            tasks.append(("seller", rep.user_id, date(2026, 3, 9)))  # overdue: the rep's digest
            for n, (side, who, due) in enumerate(tasks):
                services.add_task(
                    s,
                    rep,
                    plan,
                    f"Task {n}",
                    owner_side=side,
                    assignee_id=who,
                    due=due,
                    milestone=milestone,
                )


def test_every_kind_exactly_once_after_two_ticks_are_killed_mid_thread_reply(
    db: Database,
) -> None:
    with LocalSlack(team_id=TEAM) as local:
        _seed_every_kind(db, local, plans=5)
        # The first two posts reach Slack and their answers never come back.
        local.hold_answer_next("chat.postMessage", 30, times=2)
        first = start_tick(db, local, MONDAY.isoformat())
        second = start_tick(db, local, MONDAY.isoformat())
        assert local.wait_for(lambda: len(local.calls_to("chat.postMessage")) >= 3, timeout=60)
        for victim in (first, second):
            victim.send_signal(signal.SIGKILL)
            victim.wait(10)
        held = [c for c in local.calls_to("chat.postMessage") if c.params.get("metadata")][:2]
        assert all(c.params.get("thread_ts") for c in held), "a thread reply is what was held"

        time.sleep(2.5)  # their leases run out
        for _round in range(3):  # unknown fates settle and are looked up, never re-sent
            restarted = start_tick(db, local, MONDAY.isoformat())
            _out, err = restarted.communicate(timeout=180)
            assert restarted.returncode == 0, err
            if _states(db).keys() == {"sent"}:
                break
            time.sleep(delivery.SETTLE.total_seconds() + 1)
            local.advance_rate_clock(61)

        with db.read() as s:
            kinds = dict(
                s.execute(
                    select(Outbox.kind, func.count())
                    .where(Outbox.kind.not_in(refreshes.KINDS))
                    .group_by(Outbox.kind)
                ).all()
            )
    counts = _key_counts(local)
    expected = sum(kinds.values())
    assert kinds["nudge.due_today"] == 5 * 25 and kinds["digest.plan_weekly"] == 5, kinds
    assert kinds["digest.rep_daily"] == 5 and kinds.get("nudge.overdue", 0) >= 5, kinds
    assert {k: n for k, n in counts.items() if n > 1} == {}, "sent twice"
    assert len(counts) == expected, f"lost: {expected - len(counts)}"
    assert _states(db) == {"sent": expected}
    replies = {k for k in counts if k.startswith("nudge.") and "|C0DEAL" in k}
    assert len(replies) >= 5 * 15, "buyer nudges are thread replies in the deal channels"
