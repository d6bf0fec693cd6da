"""The MAP summary, plan health and the forecast through the real app over signed
HTTP, with the Slack stand-in checking every view and message it is sent:
`/map summary` (complete for the seller), `/map summary share` (buyer-safe, through
the outbox, once per state of the plan), the card's health line and Summary button
(the clicker's side; a crafted plan id refused), `/map health` thresholds, and a
change of health recorded as one activity row."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select, update

from bot import ids
from reminders import delivery
from reminders.health_pass import run as health_pass
from storage.db import Database
from storage.models import Activity, Outbox, Plan, PlanHealth, Task
from tests.conftest import FixedClock
from tests.harness import BUYER_TEAM, CHANNEL, SELLER_TEAM, Harness
from tests.test_modals import button, click, last_view

SELLER = ("U0LEX", SELLER_TEAM)
BUYER = ("W0MIKE", BUYER_TEAM)
MONDAY = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # the fixed clock's instant


def _say(h: Harness, text: str, who: tuple[str, str] = SELLER) -> str:
    resp = h.command(text, user=who[0], team=who[1])
    assert resp.status == 200, resp.body
    return json.dumps(resp.json(), ensure_ascii=False)


def _deal(h: Harness, db: Database) -> int:
    """A deal a week old: two tasks done (one this week), buyer work overdue, an
    internal task, and a seller note on a buyer-visible task."""
    _say(h, "create Monsters rollout go-live 2026-12-18")
    _say(h, "milestone add Legal review due 2026-11-20")
    _say(h, "add Send MSA to Legal review owner seller <@U0LEX|lex> due 2026-11-16")
    _say(h, "add Redline the MSA to Legal review owner buyer <@W0MIKE|mike> due 2026-11-19")
    _say(h, "milestone add Rollout")
    _say(h, "add Security questionnaire to Rollout owner buyer <@W0MIKE|mike> due 2026-11-20")
    _say(h, "add Kickoff agenda to Rollout due 2026-11-30")
    _say(
        h, "add SECRET discount floor to Rollout internal owner seller <@U0LEX|lex> due 2026-11-20"
    )
    _say(h, "add Order form to Rollout owner buyer due 2026-12-04")
    _say(h, "done #1")
    with db.write() as s:
        plan_id = s.scalars(select(Plan.id)).one()
        s.execute(
            update(Task).where(Task.number == 6).values(notes="SECRET seller note: walk-away price")
        )
        # Done a week ago (last week), by the seller.
        s.execute(
            update(Task).where(Task.number == 1).values(completed_at=MONDAY - timedelta(days=8))
        )
    h.settle()
    h.click(
        ids.TASK_COMPLETE, h.button_value(ids.TASK_COMPLETE, 4), user=BUYER[0], user_team=BUYER[1]
    )
    h.settle()
    return plan_id


def test_the_seller_s_summary_is_complete_and_says_what_each_figure_is(
    h: Harness, db: Database, fixed_clock: FixedClock
) -> None:
    _deal(h, db)
    said = _say(h, "summary")
    reply = json.loads(said)
    assert reply["response_type"] == "ephemeral"
    text = "\n".join(b["text"]["text"] for b in reply["blocks"] if b["type"] == "section")
    assert (
        "*At risk* — 2 buyer tasks overdue; 1 seller task overdue; "
        "Legal review 1 business day late" in text
    )
    assert "too little history to forecast (2 tasks completed)" in text
    assert "*Completed:* 1 this week, 2 of 6 in all" in text
    assert "Order form" in text.split("*Next 14 days* (1)")[1].split("*Overdue*")[0]
    overdue = text.split("*Overdue* (3)")[1].split("*Who owns what*")[0]
    assert "SECRET discount floor" in overdue and "🔒 internal" in overdue  # seller: all
    owners = text.split("*Who owns what*")[1]
    assert "Buyer: 3 open, *2 overdue* · Seller: 1 open, *1 overdue*" in owners
    assert "<@W0MIKE>: 2 open, *2 overdue*" in owners and "_Unassigned_: 1 open" in owners
    assert "Legal review · 1/2 · *1 overdue* · due Nov 20" in owners
    assert "Rollout · 1/4 · *2 overdue*" in owners
    assert "walk-away" not in said, "notes are never in a summary"


def test_the_shared_summary_is_buyer_safe_pings_nobody_and_posts_once_per_state(
    h: Harness, db: Database, fixed_clock: FixedClock
) -> None:
    _deal(h, db)
    assert "Posting the summary" in _say(h, "summary share")
    assert "already in the channel" in _say(h, "summary share"), "nothing changed since"
    sent = delivery.deliver(db, h.bot.deps.workspaces.client_for, "test", pace=0)
    assert sent.sent == 1
    (posted,) = [m for m in h.local.messages(CHANNEL) if "Summary:" in m.text]
    body = json.dumps(posted.blocks, ensure_ascii=False)
    assert "SECRET" not in body and "walk-away" not in body
    # The buyer's copy: 5 tasks, the internal overdue one not counted anywhere.
    assert "2 of 5 in all" in body and "Seller:" not in body and "seller task" not in body
    assert "Rollout · 1/3 · *1 overdue*" in body
    assert "<@" not in body and "mike" in body, "people by name: a channel post pings nobody"
    # A change makes a new summary worth sharing.
    _say(h, "done #5")
    assert "Posting the summary" in _say(h, "summary share")


def test_only_the_seller_side_may_share_or_set_thresholds(
    h: Harness, db: Database, fixed_clock: FixedClock
) -> None:
    _deal(h, db)
    guest = ("U0GUEST", SELLER_TEAM)  # a guest can run slash commands: buyer side
    h.local.add_channel("C0SIDE", "side", members=["U0LEX"])
    assert "Only the seller team can post the summary" in _say(h, "summary share", guest)
    assert "Only the seller team can change how plan health" in _say(h, "health stall 2", guest)
    with db.read() as s:
        assert s.scalar(select(Outbox.id).where(Outbox.kind == "summary.shared")) is None
        assert s.scalar(select(PlanHealth.stall_days)) is None


def test_health_thresholds_are_the_plan_s_own(
    h: Harness, db: Database, fixed_clock: FixedClock
) -> None:
    _deal(h, db)
    shown = _say(h, "health")
    assert "overdue 1 task (default)" in shown and "stall 7 days (default)" in shown
    said = _say(h, "health overdue 4 stall 10")
    assert "Health thresholds set." in said and "overdue 4 tasks ·" in said
    assert "*At risk* — Legal review 1 business day late" in said  # 3 overdue: under 4
    assert "stall 10 days ·" in said
    assert "(default)" in _say(h, "health stall default").split("stall 7 days")[1][:12]
    refused = _say(h, "health stall forever")
    assert "isn't a number from 1 to 365" in refused and "/map health" in refused
    with db.read() as s:
        row = s.get_one(PlanHealth, s.scalars(select(Plan.id)).one())
        assert (row.overdue_tasks, row.stall_days) == (4, None)


def test_the_card_carries_the_buyer_s_health_line_and_a_summary_button(
    h: Harness, db: Database, fixed_clock: FixedClock
) -> None:
    plan_id = _deal(h, db)
    card = h.card()
    assert card is not None
    (line,) = [b for b in card["blocks"] if b.get("block_id") == ids.BLOCK_HEALTH]
    # The buyer's copy: the overdue internal task isn't counted.
    assert line["text"]["text"] == (
        "🟠 *At risk* — 2 buyer tasks overdue; Legal review 1 business day late"
    )
    assert line["accessory"]["action_id"] == ids.PLAN_SUMMARY

    click(h, button(ids.PLAN_SUMMARY, str(plan_id)), BUYER)
    view = last_view(h)
    assert view["callback_id"] == ids.VIEW_SUMMARY
    shown = json.dumps(view, ensure_ascii=False)
    assert "Redline the MSA" in shown and "SECRET" not in shown and "walk-away" not in shown
    click(h, button(ids.PLAN_SUMMARY, str(plan_id)), SELLER)
    assert "SECRET discount floor" in json.dumps(last_view(h), ensure_ascii=False)


def test_a_summary_button_naming_another_deal_shows_nothing_of_it(
    h: Harness, db: Database, fixed_clock: FixedClock
) -> None:
    _deal(h, db)
    h.local.add_channel("C0OTHER", "other-deal", members=["U0LEX"])
    _say_in(h, "C0OTHER", "create Other deal go-live 2026-12-01")
    _say_in(h, "C0OTHER", "add Other buyer work owner buyer due 2026-11-30")
    with db.read() as s:
        other = s.scalars(select(Plan.id).where(Plan.channel_id == "C0OTHER")).one()
    opened = len(h.local.calls_to("views.open"))
    for who in (BUYER, SELLER):  # from this deal's card, naming the other deal
        resp = click(h, button(ids.PLAN_SUMMARY, str(other)), who)
        assert resp.status == 200
    h.settle()
    views = [json.dumps(c.params) for c in h.local.calls_to("views.open")[opened:]]
    assert not any("Other deal" in v or "Other buyer work" in v for v in views), views
    for bad in ("0", "-1", "x", "99999999999"):
        assert click(h, button(ids.PLAN_SUMMARY, bad), BUYER).status == 200


def _say_in(h: Harness, channel: str, text: str) -> None:
    resp = h.command(text, user=SELLER[0], team=SELLER[1], channel=channel)
    assert resp.status == 200 and ":no_entry:" not in resp.body, resp.body


def test_a_change_of_health_is_one_activity_row(
    h: Harness, db: Database, fixed_clock: FixedClock
) -> None:
    plan_id = _deal(h, db)

    def health_rows() -> list[tuple[str | None, str | None]]:
        with db.read() as s:
            return [
                (a.before, a.after)
                for a in s.scalars(
                    select(Activity).where(Activity.action == "plan.health").order_by(Activity.id)
                )
            ]

    assert health_pass(db, MONDAY) == 1
    assert health_rows() == [(None, "at_risk")]
    assert health_pass(db, MONDAY) == 0 and health_pass(db, MONDAY + timedelta(minutes=1)) == 0
    assert health_rows() == [(None, "at_risk")], "nothing changed: nothing recorded"
    # Ten days on with nobody touching it: stalled.
    later = MONDAY + timedelta(days=10)
    fixed_clock.set(later)
    assert health_pass(db, later) == 1
    assert health_rows() == [(None, "at_risk"), ("at_risk", "stalled")]
    with db.read() as s:
        row = s.get_one(PlanHealth, plan_id)
        assert row.state == "stalled" and row.assessed_on == date(2026, 12, 3)
        assert "no movement for 10 days" in row.reasons
    # The health row itself is no movement: the plan stays stalled, and a day on
    # its reasons say so without another activity row.
    assert health_pass(db, later + timedelta(hours=1)) == 0
    assert health_pass(db, later + timedelta(days=1)) == 0
    assert health_rows() == [(None, "at_risk"), ("at_risk", "stalled")]
    with db.read() as s:
        row = s.get_one(PlanHealth, plan_id)
        assert "no movement for 11 days" in row.reasons and row.assessed_on == date(2026, 12, 4)


def test_the_weekly_digest_and_the_rep_s_digest_carry_health_and_forecast(
    h: Harness, db: Database, fixed_clock: FixedClock
) -> None:
    from reminders.tick import tick

    _deal(h, db)
    # Monday 15:00 UTC: past 09:00 in New York, the plan's zone and the rep's.
    result = tick(db, MONDAY, h.bot.deps.workspaces.client_for)
    assert result.delivery.sent == result.due > 0
    posts = {
        str(c.params["channel"]): json.dumps(c.params, ensure_ascii=False)
        for c in h.local.calls_to("chat.postMessage")
        if "digest" in str(c.params.get("text", "")).lower()
        or "Your deals today" in str(c.params.get("text", ""))
    }
    weekly, rep = posts[CHANNEL], posts["U0LEX"]
    # The channel's digest: a buyer's copy of the health, without the internal task.
    assert "🟠 *At risk* — 2 buyer tasks overdue; Legal review 1 business day late" in weekly
    assert "too little history to forecast (2 tasks completed)" in weekly
    assert "seller task" not in weekly and "SECRET" not in weekly
    # The rep's DM: the seller's copy, internal work counted.
    assert "Plan health: 1 at risk or stalled" in rep
    assert "Monsters rollout: 🟠 *At risk* — 2 buyer tasks overdue; 1 seller task overdue" in rep


def test_the_weekly_digest_shows_the_insight_recorded_for_its_day_else_works_it_out(
    h: Harness, db: Database, fixed_clock: FixedClock
) -> None:
    from reminders.due import due_messages
    from reminders.snapshot import load_state

    plan_id = _deal(h, db)

    def weekly() -> str:
        with db.read() as s:
            state = load_state(s, MONDAY)
        (digest,) = [o for o in due_messages(state) if o.kind == "digest.plan_weekly"]
        return json.dumps(digest.blocks, ensure_ascii=False)

    with db.write() as s:  # as if no health pass had run yet
        s.execute(update(PlanHealth).values(buyer_insight=None, assessed_on=None))
    worked_out = weekly()
    assert "🟠 *At risk* — 2 buyer tasks overdue; Legal review 1 business day late" in worked_out
    assert "seller task" not in worked_out and "SECRET" not in worked_out
    health_pass(db, MONDAY)  # records a buyer's copy's lines, as the tick does first
    with db.read() as s:
        recorded = s.get_one(PlanHealth, plan_id).buyer_insight or ""
    assert "2 buyer tasks overdue" in recorded and "seller task" not in recorded
    assert weekly() == worked_out, "the recorded lines are those a buyer's copy gives"
    # Lines recorded for another day are not shown: worked out again.
    with db.write() as s:
        s.execute(
            update(PlanHealth).values(buyer_insight="🟢 stale", assessed_on=date(2026, 11, 22))
        )
    assert weekly() == worked_out
    # Lines recorded for the plan's today are shown as they are (not worked out again).
    with db.write() as s:
        s.execute(
            update(PlanHealth).values(
                buyer_insight="🟢 recorded today", assessed_on=date(2026, 11, 23)
            )
        )
    assert "🟢 recorded today" in weekly() and "2 buyer tasks overdue" not in weekly()
    # On a day that is not the plan's digest day the pass records no lines.
    health_pass(db, MONDAY + timedelta(days=1))
    with db.read() as s:
        row = s.get_one(PlanHealth, plan_id)
        assert row.assessed_on == date(2026, 11, 24) and row.buyer_insight is None
