"""The reminder rules: what falls due for whom, at 09:00 in each person's own zone.

Hand-built states test each rule; the same rules through `load_state` on both
databases (with a controlled clock) test what the snapshot reads: every overdue
task in a rep's digest, only this deal's buyers mentioned, digests on
consecutive days, snooze and mute rows.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from reminders.delivery.outgoing import Outgoing
from reminders.due import due_messages
from reminders.snapshot import PersonInfo, ReminderState, TaskInfo, load_state
from reminders.tick import plan_pass
from storage import collab_services, reminder_services, services
from storage.db import Database
from storage.models import Outbox, Plan, Task
from storage.rules import Actor
from tests.conftest import FixedClock
from tests.harness import Harness
from tests.test_reminders import _plan, _task

TEAM = "T0LEXCORP"
BUYER_TEAM = "T0MONSTERS"
SELLER = Actor("U0LEX", "seller", TEAM)
BUYER = Actor("W0MIKE", "buyer", TEAM)


def _utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def _state(at: datetime, tasks: list[TaskInfo], zones: dict[str, str | None]) -> ReminderState:
    """One New York plan owned by U0LEX; people as given (W… are buyers)."""
    state = ReminderState(at=at, plans={1: _plan()}, tasks=tasks)
    for uid, tz in zones.items():
        home = BUYER_TEAM if uid.startswith("W") else TEAM
        state.people[(TEAM, uid)] = PersonInfo(uid, uid.lower(), tz, home, False, None, False)
    state.last_activity[1] = at
    return state


def _nudges(state: ReminderState) -> dict[str, Outgoing]:
    return {o.subject: o for o in due_messages(state) if o.kind.startswith("nudge")}


def _seller_task(i: int, due: date, who: str) -> TaskInfo:
    return _task(i, due, owner_side="seller", assignee_id=who)


# --- time: zones, DST, late ticks, weekends ------------------------------------------


def test_people_in_different_zones_each_get_their_own_nine_oclock() -> None:
    """Tokyo, London and Los Angeles, one task each due Monday 16 March 2026."""
    due = date(2026, 3, 16)
    zones: dict[str, str | None] = {
        "U0TOKYO": "Asia/Tokyo",
        "U0LONDON": "Europe/London",
        "U0LA": "America/Los_Angeles",
        "U0NOZONE": None,  # falls back to the plan's zone, New York
    }
    tasks = [_seller_task(i, due, uid) for i, uid in enumerate(zones, start=1)]

    def who_at(at: datetime) -> dict[str, tuple[str, date]]:
        out = _nudges(_state(at, tasks, zones))
        return {o.recipient: (o.kind, o.local_date) for o in out.values()}

    # 00:30 UTC Monday: 09:30 in Tokyo; still Sunday evening in the Americas.
    assert who_at(_utc(2026, 3, 16, 0, 30)) == {"U0TOKYO": ("nudge.due_today", due)}
    # 09:00 UTC: London (GMT until 29 March) joins.
    assert set(who_at(_utc(2026, 3, 16, 9, 0))) == {"U0TOKYO", "U0LONDON"}
    # 13:00 UTC: 09:00 in New York (EDT since 8 March): the person without a zone.
    assert set(who_at(_utc(2026, 3, 16, 13, 0))) == {"U0TOKYO", "U0LONDON", "U0NOZONE"}
    # 16:00 UTC: 09:00 PDT in Los Angeles; Tokyo is in Tuesday's small hours, before
    # its 09:00: Monday there is over, Tuesday's nudge not yet due.
    assert who_at(_utc(2026, 3, 16, 16, 0)) == {
        uid: ("nudge.due_today", due) for uid in zones if uid != "U0TOKYO"
    }
    assert who_at(_utc(2026, 3, 17, 0, 0))["U0TOKYO"] == ("nudge.overdue", date(2026, 3, 17))


def test_nine_in_new_york_is_14_utc_before_the_dst_change_and_13_after() -> None:
    friday, monday = date(2026, 3, 6), date(2026, 3, 9)  # clocks change on Sunday 8 March
    tasks = [_seller_task(1, friday, "U0LEX"), _seller_task(2, monday, "U0LEX")]
    zones: dict[str, str | None] = {"U0LEX": "America/New_York"}
    assert not _nudges(_state(_utc(2026, 3, 6, 13, 59), tasks, zones))
    assert _nudges(_state(_utc(2026, 3, 6, 14, 0), tasks, zones))["task:1"].kind == (
        "nudge.due_today"
    )
    assert "task:2" not in _nudges(_state(_utc(2026, 3, 9, 12, 59), tasks, zones))
    assert _nudges(_state(_utc(2026, 3, 9, 13, 0), tasks, zones))["task:2"].kind == (
        "nudge.due_today"
    )
    # London moves three weeks later (29 March): 09:00 is 09:00 UTC, then 08:00 UTC.
    london: dict[str, str | None] = {"U0LEX": "Europe/London"}
    before, after = date(2026, 3, 27), date(2026, 3, 30)
    tasks = [_seller_task(1, before, "U0LEX"), _seller_task(2, after, "U0LEX")]
    assert not _nudges(_state(_utc(2026, 3, 27, 8, 30), tasks, london))
    assert "task:1" in _nudges(_state(_utc(2026, 3, 27, 9, 0), tasks, london))
    assert "task:2" in _nudges(_state(_utc(2026, 3, 30, 8, 0), tasks, london))


def test_a_late_tick_works_out_the_same_message_as_one_at_nine() -> None:
    """What fell due at 09:00 is still due at 15:00 local, with the same key (so
    the outbox stops a second send); the next day is a new key."""
    due = date(2026, 3, 16)
    tasks = [_seller_task(1, due, "U0LEX")]
    zones: dict[str, str | None] = {"U0LEX": "America/New_York"}
    at_nine = _nudges(_state(_utc(2026, 3, 16, 13, 0), tasks, zones))["task:1"]
    at_three = _nudges(_state(_utc(2026, 3, 16, 19, 0), tasks, zones))["task:1"]
    at_midnight = _nudges(_state(_utc(2026, 3, 17, 3, 59), tasks, zones))["task:1"]
    assert at_nine.key == at_three.key == at_midnight.key
    assert at_nine.key == ("nudge.due_today", "U0LEX", "task:1", "2026-03-16")
    next_day = _nudges(_state(_utc(2026, 3, 17, 13, 0), tasks, zones))["task:1"]
    assert next_day.key == ("nudge.overdue", "U0LEX", "task:1", "2026-03-17")


def test_weekends_are_off_unless_the_plan_says_otherwise() -> None:
    saturday = date(2026, 3, 14)
    tasks = [_seller_task(1, saturday, "U0LEX"), _seller_task(2, saturday - timedelta(1), "U0LEX")]
    zones: dict[str, str | None] = {"U0LEX": "America/New_York"}
    at = _utc(2026, 3, 14, 15, 0)  # Saturday 11:00 in New York
    state = _state(at, tasks, zones)
    state.reps = {(TEAM, "U0LEX")}
    assert due_messages(state) == [], "no nudge and no rep digest on a Saturday"
    state.plans[1] = _plan(weekends=True)
    kinds = {(o.kind, o.subject) for o in due_messages(state)}
    assert kinds == {
        ("nudge.due_today", "task:1"),
        ("nudge.overdue", "task:2"),
        ("digest.rep_daily", "rep:U0LEX"),
    }


def test_the_weekly_digest_follows_the_plan_s_day_time_and_zone() -> None:
    """Tuesday 08:00 in Berlin (CET, UTC+1 until 29 March): 07:00 UTC."""
    state = _state(_utc(2026, 3, 17, 6, 59), [], {})
    state.plans[1] = _plan(tz="Europe/Berlin", digest_weekday=1, digest_minute=8 * 60)
    state.digest_tasks = {1: [_task(1, date(2026, 3, 20))]}

    def weekly() -> list[Outgoing]:
        return [o for o in due_messages(state) if o.kind == "digest.plan_weekly"]

    assert weekly() == []
    state.at = _utc(2026, 3, 17, 7, 0)
    (digest,) = weekly()
    assert digest.key == ("digest.plan_weekly", "C1", "plan:1", "2026-03-17")
    assert digest.thread_of_plan is None, "the digest is a channel message of its own"
    state.at = _utc(2026, 3, 17, 22, 59)  # 23:59 in Berlin: a late tick, the same key
    assert [o.key for o in weekly()] == [digest.key]
    state.at = _utc(2026, 3, 18, 7, 0)  # Wednesday
    assert weekly() == []


# --- who is nudged, where ------------------------------------------------------------


def test_lead_days_are_per_plan_and_the_overdue_cadence_stops_after_four() -> None:
    at = _utc(2026, 3, 18, 17, 0)  # Wednesday, past 09:00 in New York and Los Angeles
    today = date(2026, 3, 18)
    offsets = range(-14, 8)
    tasks = [_task(i, today + timedelta(days=d)) for i, d in enumerate(offsets, start=1)]
    zones: dict[str, str | None] = {"W0MIKE": "America/Los_Angeles"}
    state = _state(at, tasks, zones)
    state.plans[1] = _plan(lead_days=5)
    got = {
        (o.local_date - tasks[int(o.subject[5:]) - 1].due_date).days: o.kind  # type: ignore[operator]
        for o in _nudges(state).values()
    }
    assert got == {
        -5: "nudge.due_soon",
        0: "nudge.due_today",
        1: "nudge.overdue",
        4: "nudge.overdue",
        7: "nudge.overdue",
        10: "nudge.overdue",
    }
    state.plans[1] = _plan(lead_days=0)  # no advance notice at all
    assert "nudge.due_soon" not in {o.kind for o in _nudges(state).values()}


def test_buyer_tasks_go_in_the_card_thread_seller_tasks_by_dm() -> None:
    today = date(2026, 3, 16)
    tasks = [
        _task(1, today, owner_side="buyer", assignee_id="W0MIKE"),
        _task(2, today, owner_side="mutual", assignee_id="U0LEX"),
        _task(3, today, owner_side="seller", assignee_id="U0LEX"),
        _task(4, today, owner_side="seller", assignee_id=None),  # nobody to tell
        _task(5, today, owner_side="buyer", assignee_id="W0MIKE", status="in_progress"),
    ]
    zones: dict[str, str | None] = {"W0MIKE": "UTC", "U0LEX": "UTC"}
    out = _nudges(_state(_utc(2026, 3, 16, 20, 0), tasks, zones))
    assert (out["task:1"].recipient, out["task:1"].thread_of_plan) == ("C1", 1)
    assert "<@W0MIKE>" in out["task:1"].text
    assert (out["task:2"].recipient, out["task:2"].thread_of_plan) == ("C1", 1)
    assert (out["task:3"].recipient, out["task:3"].thread_of_plan) == ("U0LEX", None)
    assert "task:4" not in out
    assert "task:5" in out, "in progress and due: still nudged"
    assert all(o.team_id == TEAM for o in out.values())


def test_an_unassigned_buyer_task_mentions_the_deal_s_buyers_and_honours_their_snoozes() -> None:
    today = date(2026, 3, 16)
    state = _state(_utc(2026, 3, 16, 20, 0), [_task(1, today, assignee_id=None)], {})
    state.buyer_people = {1: ["W0ANNA", "W0MIKE"], 2: ["W0OTHERDEAL"]}
    nudge = _nudges(state)["task:1"]
    assert "<@W0ANNA>" in nudge.text and "<@W0MIKE>" in nudge.text
    assert "W0OTHERDEAL" not in nudge.text
    state.snoozes[(1, "W0ANNA")] = today + timedelta(days=3)
    nudge = _nudges(state)["task:1"]
    assert "<@W0ANNA>" not in nudge.text and "<@W0MIKE>" in nudge.text
    state.snoozes[(1, "W0MIKE")] = today + timedelta(days=1)
    assert "task:1" not in _nudges(state), "everyone snoozed it: no nudge"
    state.at = _utc(2026, 3, 17, 20, 0)  # Mike's snooze ends on the 17th; overdue day 1
    assert "<@W0MIKE>" in _nudges(state)["task:1"].text


def test_a_snooze_holds_until_its_date_in_the_person_s_own_zone() -> None:
    due = date(2026, 3, 16)
    tasks = [_seller_task(1, due, "U0TOKYO")]
    zones: dict[str, str | None] = {"U0TOKYO": "Asia/Tokyo"}
    state = _state(_utc(2026, 3, 16, 1, 0), tasks, zones)  # 10:00 Monday in Tokyo
    state.snoozes[(1, "U0TOKYO")] = due + timedelta(days=1)
    assert not _nudges(state)
    state.at = _utc(2026, 3, 16, 23, 59)  # 08:59 Tuesday in Tokyo
    assert not _nudges(state)
    state.at = _utc(2026, 3, 17, 0, 0)  # 09:00 Tuesday: the snooze has run out
    assert _nudges(state)["task:1"].kind == "nudge.overdue"
    state.snoozes[(1, "U0LEX")] = date(2026, 12, 31)  # someone else's snooze: no effect
    assert _nudges(state)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(-12, 8),  # due, days from today
            st.sampled_from(["buyer", "seller", "mutual"]),
            st.sampled_from(["U0LEX", "W0MIKE", None]),
            st.booleans(),  # internal
            st.sampled_from(["not_started", "in_progress", "completed"]),
            st.sampled_from(["on_track", "at_risk", "blocked"]),
        ),
        min_size=1,
        max_size=25,
    ),
    st.integers(0, 23),
)
def test_internal_tasks_never_reach_anything_a_buyer_can_read(
    specs: list[tuple[int, str, str | None, bool, str, str]], hour: int
) -> None:
    today = date(2026, 3, 16)
    tasks = [
        _task(
            i,
            today + timedelta(days=d),
            owner_side=side,
            assignee_id=who,
            internal=internal,
            status=status,
            risk=risk,
            title=f"{'SECRET' if internal else 'Open'} {i}",
        )
        for i, (d, side, who, internal, status, risk) in enumerate(specs, start=1)
    ]
    zones: dict[str, str | None] = {"W0MIKE": "America/Los_Angeles", "U0LEX": "Europe/London"}
    state = _state(_utc(2026, 3, 16, hour, 0), [t for t in tasks if t.status != "completed"], zones)
    state.reps = {(TEAM, "U0LEX")}
    state.buyer_people = {1: ["W0MIKE"]}
    state.digest_tasks = {1: tasks}
    state.completed_by = {1: [(t.id, "U0LEX") for t in tasks]}
    state.milestones = {1: [(1, "Kick-off")]}
    for o in due_messages(state):
        if o.recipient.startswith("C"):  # the deal channel, shared with the buyer
            assert "SECRET" not in o.text + json.dumps(o.blocks), o.kind
        else:
            assert o.recipient in ("U0LEX", "W0MIKE")
            if o.recipient == "W0MIKE":  # a buyer's DM: never about an internal task
                assert "SECRET" not in o.text + json.dumps(o.blocks), o.kind


# --- digests --------------------------------------------------------------------------


def _digest_state() -> ReminderState:
    monday = date(2026, 3, 16)
    tasks = [
        _task(1, monday - timedelta(days=9), status="completed", title="Security review"),
        _task(2, monday - timedelta(days=3), status="completed", title="Reopened later"),
        _task(3, monday - timedelta(days=2), title="Late legal redlines", milestone_id=2),
        _task(4, monday + timedelta(days=3), title="Pricing call", risk="blocked", milestone_id=2),
        _task(5, monday + timedelta(days=7), title="Sign order form", milestone_id=2),
        _task(6, monday + timedelta(days=20), title="Kick-off", milestone_id=3, risk="at_risk"),
        _task(7, monday, title="Margin <floor>", internal=True, risk="blocked"),
        _task(
            8, monday - timedelta(days=1), title="Internal done", internal=True, status="completed"
        ),
    ]
    # Completed on Friday (the activity says so), reopened since.
    tasks[1] = _task(
        2, monday - timedelta(days=3), title="Reopened later", status="in_progress", milestone_id=2
    )
    state = _state(_utc(2026, 3, 16, 13, 30), [], {})  # Monday 09:30 in New York
    state.digest_tasks = {1: tasks}
    state.completed_by = {1: [(1, "W0ANNA"), (1, "W0MIKE"), (2, "U0LEX"), (8, "U0LEX")]}
    state.milestones = {1: [(1, "Evaluation"), (2, "Paperwork"), (3, "Go-live")]}
    return state


def test_the_weekly_digest_says_how_the_deal_is_going_and_hides_internal_work() -> None:
    (digest,) = [o for o in due_messages(_digest_state()) if o.kind == "digest.plan_weekly"]
    body = "\n".join(b["text"]["text"] for b in digest.blocks if b["type"] == "section")
    assert digest.recipient == "C1" and digest.subject == "plan:1"
    assert "17% · 1 of 6 tasks done" in body, "progress counts visible tasks only"
    assert "16 days to go" in body  # go-live 1 April
    assert "*Next milestone:* Paperwork" in body, "Evaluation has nothing open left"
    completed = body.split("*Completed this week*")[1].split("\n\n")[0]
    assert "Security review" in completed and "<@W0MIKE>" in completed, "the last to complete"
    assert "<@W0ANNA>" not in completed and completed.count("Security review") == 1
    assert "Reopened later" not in completed, "reopened since: not completed"
    soon = body.split("*Due in the next 7 days*")[1].split("\n\n")[0]
    assert "Pricing call" in soon and "Sign order form" in soon and "Kick-off" not in soon
    overdue = body.split("*Overdue*")[1].split("\n\n")[0]
    assert "Late legal redlines" in overdue and "Reopened later" in overdue
    risky = body.split("*At risk or blocked*")[1].split("\n\n")[0]
    assert "Pricing call" in risky and "Kick-off" in risky
    everything = digest.text + json.dumps(digest.blocks)
    assert "Margin" not in everything and "Internal done" not in everything


def test_the_rep_digest_covers_every_deal_internal_work_and_stalled_plans() -> None:
    monday = date(2026, 3, 16)
    state = _state(
        _utc(2026, 3, 16, 13, 30),
        [
            _task(1, monday, title="Margin <floor>", internal=True, assignee_id=None),
            _task(2, monday - timedelta(days=1), plan_id=2, title="Legal"),
            _task(3, monday + timedelta(days=2), title="Not yet"),
        ],
        {"U0LEX": "America/New_York"},
    )
    state.plans[2] = _plan(id=2, channel_id="C2", title="Second deal")
    state.plans[3] = _plan(id=3, channel_id="C3", title="Quiet deal", created_by="U0OTHER")
    state.reps = {(TEAM, "U0LEX")}
    state.last_activity = {1: state.at, 2: state.at - timedelta(days=8)}
    (rep,) = [o for o in due_messages(state) if o.kind == "digest.rep_daily"]
    body = json.dumps(rep.blocks)
    assert rep.key == ("digest.rep_daily", "U0LEX", "rep:U0LEX", "2026-03-16")
    assert "Margin &lt;floor&gt;" in body and "Legal" in body and "Not yet" not in body
    assert body.index("Legal") < body.index("Margin"), "the oldest first"
    assert "No movement for a week: 1" in body and "Second deal" in body
    assert "Quiet deal" not in body, "someone else's plan"
    state.people[(TEAM, "U0LEX")] = PersonInfo(
        "U0LEX", "lex", "America/New_York", TEAM, False, None, True
    )
    kinds = {o.kind for o in due_messages(state)}
    assert "digest.rep_daily" not in kinds, "muted"
    assert "nudge.overdue" in kinds, "muting digests leaves nudges alone"


def test_days_to_the_target_date_read_naturally() -> None:
    def go_live(target: date) -> str:
        state = _digest_state()
        state.plans[1] = _plan(target_date=target)
        (digest,) = [o for o in due_messages(state) if o.kind == "digest.plan_weekly"]
        return next(str(b["text"]["text"]) for b in digest.blocks if "Go-live" in str(b))

    monday = date(2026, 3, 16)
    assert "(1 day to go)" in go_live(monday + timedelta(days=1))
    assert "(today)" in go_live(monday)
    assert "(3 days ago)" in go_live(monday - timedelta(days=3))


# --- through load_state and the outbox, on both databases -----------------------------


def _person(s: object, uid: str, tz: str | None, home: str = TEAM, guest: bool = False) -> None:
    services.upsert_person(
        s,  # type: ignore[arg-type]
        TEAM,
        uid,
        home_team_id=home,
        name=uid.lower(),
        tz=tz,
        is_guest=guest,
    )


def _deal(s: object, channel: str, title: str, tz: str = "America/New_York") -> Plan:
    return services.create_plan(
        s,  # type: ignore[arg-type]
        SELLER,
        channel,
        title,
        target_date=date(2026, 6, 1),
        tz=tz,
    )


def _messages(db: Database, at: datetime) -> list[Outgoing]:
    with db.read() as s:
        return due_messages(load_state(s, at))


def test_the_rep_digest_lists_every_overdue_task_not_only_nudge_days(
    db: Database, fixed_clock: FixedClock
) -> None:
    fixed_clock.set(_utc(2026, 3, 13, 15, 0))
    monday = date(2026, 3, 16)
    with db.write() as s:
        _person(s, "U0LEX", "America/New_York")
        plan = _deal(s, "C1", "Deal one")
        other = _deal(s, "C2", "Deal two", tz="Europe/London")
        for days in (2, 3, 12, 40):  # none of them an overdue nudge day (1, 4, 7, 10)
            services.add_task(
                s,
                SELLER,
                plan,
                f"Overdue {days}",
                assignee_id="W0MIKE",
                due=monday - timedelta(days=days),
            )
        services.add_task(
            s, SELLER, other, "Internal pricing", internal=True, due=monday, owner_side="seller"
        )
        services.add_task(s, SELLER, other, "Next week", due=monday + timedelta(days=5))
        done = services.add_task(s, SELLER, other, "Done already", due=monday - timedelta(days=2))
        services.set_task_status(s, SELLER, other, done, "completed")
    fixed_clock.set(_utc(2026, 3, 16, 13, 5))
    (rep,) = [m for m in _messages(db, fixed_clock.at) if m.kind == "digest.rep_daily"]
    body = json.dumps(rep.blocks)
    assert rep.local_date == monday and rep.recipient == "U0LEX"
    for title in ("Overdue 2", "Overdue 3", "Overdue 12", "Overdue 40", "Internal pricing"):
        assert title in body, title
    assert "Next week" not in body and "Done already" not in body
    assert "Overdue or due today: 5" in body
    assert not [
        m for m in _messages(db, _utc(2026, 3, 16, 12, 59)) if m.kind == "digest.rep_daily"
    ], "08:59 in New York"


def test_digests_come_every_day_they_are_due_not_once(
    db: Database, fixed_clock: FixedClock
) -> None:
    """Yesterday's queued digest must not hold back today's, nor a weekly digest
    moved to the next day."""
    fixed_clock.set(_utc(2026, 3, 13, 15, 0))
    with db.write() as s:
        _person(s, "U0LEX", "America/New_York")
        plan = _deal(s, "C1", "Deal one")
        services.add_task(s, SELLER, plan, "Slipping", due=date(2026, 3, 12))
    plan_pass(db, _utc(2026, 3, 16, 14, 0))  # Monday: the weekly digest and the rep's
    with db.write() as s:
        plan = s.get_one(Plan, plan.id)
        reminder_services.set_reminders(s, SELLER, plan, digest_weekday=1)  # now Tuesdays
    plan_pass(db, _utc(2026, 3, 17, 14, 0))
    plan_pass(db, _utc(2026, 3, 17, 14, 1))  # a second tick: nothing twice
    with db.read() as s:
        rows = s.execute(
            select(Outbox.kind, Outbox.local_date).where(Outbox.kind.like("digest.%"))
        ).all()
    assert sorted((k, d.day) for k, d in rows) == [
        ("digest.plan_weekly", 16),
        ("digest.plan_weekly", 17),
        ("digest.rep_daily", 16),
        ("digest.rep_daily", 17),
    ]


def test_an_unassigned_buyer_task_mentions_this_deal_s_buyers_only(
    db: Database, fixed_clock: FixedClock
) -> None:
    fixed_clock.set(_utc(2026, 3, 13, 15, 0))
    due = date(2026, 3, 16)
    with db.write() as s:
        _person(s, "U0LEX", "America/New_York")
        _person(s, "W0MIKE", "America/Los_Angeles", home=BUYER_TEAM)
        _person(s, "W0ZED", "Europe/Paris", home="T0OTHERCUSTOMER")
        _person(s, "U0GUEST", "UTC", guest=True)  # a guest of the seller team: a buyer
        _person(s, "U0SE", "UTC")
        plan = _deal(s, "C1", "Deal one")
        other = _deal(s, "C2", "Deal two")
        collab_services.set_person(s, SELLER, plan, "U0SE", role="Solutions engineer", side=None)
        collab_services.set_person(s, SELLER, plan, "U0GUEST", role="Consultant", side=None)
        collab_services.set_person(s, SELLER, other, "W0ZED", role="Champion", side=None)
        # Mike is on the deal through a task of his.
        services.add_task(
            s,
            SELLER,
            plan,
            "Mike's",
            owner_side="buyer",
            assignee_id="W0MIKE",
            due=due + timedelta(30),
        )
        task = services.add_task(s, SELLER, plan, "Whose is this?", owner_side="buyer", due=due)
        task_id = task.id
    nudge = next(
        m for m in _messages(db, _utc(2026, 3, 16, 20, 0)) if m.subject == f"task:{task_id}"
    )
    assert nudge.recipient == "C1" and nudge.thread_of_plan == plan.id
    assert nudge.text.startswith("<@U0GUEST> <@W0MIKE>"), "stakeholders first, then assignees"
    assert "W0ZED" not in nudge.text, "another customer's buyer"
    assert "U0SE" not in nudge.text and "U0LEX" not in nudge.text, "seller side"
    with db.write() as s:
        reminder_services.snooze(s, BUYER, task_id, due + timedelta(days=3))
    nudge = next(
        m for m in _messages(db, _utc(2026, 3, 16, 20, 0)) if m.subject == f"task:{task_id}"
    )
    assert nudge.text.startswith("<@U0GUEST> `#2`"), "Mike snoozed it"


def test_snooze_mute_and_reminders_off_are_read_from_the_database(
    db: Database, fixed_clock: FixedClock
) -> None:
    fixed_clock.set(_utc(2026, 3, 13, 15, 0))
    due = date(2026, 3, 16)
    with db.write() as s:
        _person(s, "U0LEX", "America/New_York")
        plan = _deal(s, "C1", "Deal one")
        plan_id = plan.id
        mine = services.add_task(
            s, SELLER, plan, "Mine", owner_side="seller", assignee_id="U0LEX", due=due
        )
        mine_id = mine.id
        reminder_services.snooze(s, SELLER, mine.id, due + timedelta(days=1))
        reminder_services.mute_digests(s, SELLER, True)
    at = _utc(2026, 3, 16, 20, 0)
    assert {m.kind for m in _messages(db, at)} == {"digest.plan_weekly"}
    with db.write() as s:
        reminder_services.mute_digests(s, SELLER, False)
    assert {m.kind for m in _messages(db, at)} == {"digest.plan_weekly", "digest.rep_daily"}
    nudge = next(m for m in _messages(db, _utc(2026, 3, 17, 20, 0)) if m.kind.startswith("nudge"))
    assert (nudge.kind, nudge.subject) == ("nudge.overdue", f"task:{mine_id}")
    with db.write() as s:
        reminder_services.set_reminders(s, SELLER, s.get_one(Plan, plan_id), reminders_on=False)
    assert _messages(db, _utc(2026, 3, 17, 20, 0)) == []


def test_the_weekly_digest_names_who_completed_what_from_the_activity(
    db: Database, fixed_clock: FixedClock
) -> None:
    fixed_clock.set(_utc(2026, 3, 5, 15, 0))
    with db.write() as s:
        _person(s, "W0MIKE", "America/Los_Angeles", home=BUYER_TEAM)
        plan = _deal(s, "C1", "Deal one")
        old = services.add_task(s, SELLER, plan, "Done long ago", owner_side="buyer")
        recent = services.add_task(s, SELLER, plan, "Security questionnaire", owner_side="buyer")
        secret = services.add_task(
            s, SELLER, plan, "Discount approval", internal=True, owner_side="seller"
        )
        services.set_task_status(s, BUYER, plan, old, "completed")
    fixed_clock.set(_utc(2026, 3, 12, 15, 0))
    with db.write() as s:
        plan = s.get_one(Plan, plan.id)
        for task_id, who in ((recent.id, BUYER), (secret.id, SELLER)):
            services.set_task_status(s, who, plan, s.get_one(Task, task_id), "completed")
    monday = _utc(2026, 3, 16, 13, 0)
    with db.read() as s:
        state = load_state(s, monday, digest_plan_ids={plan.id})
    (digest,) = [m for m in due_messages(state) if m.kind == "digest.plan_weekly"]
    body = json.dumps(digest.blocks)
    assert "Security questionnaire" in body and "<@W0MIKE>" in body
    assert "Done long ago" not in body.split("Completed this week")[1]
    assert "Discount approval" not in body
    assert "2 of 2 tasks done" in body


def test_load_state_statements_do_not_grow_with_plans(
    db: Database, fixed_clock: FixedClock
) -> None:
    from sqlalchemy import event

    fixed_clock.set(_utc(2026, 3, 13, 15, 0))
    due = date(2026, 3, 16)
    with db.write() as s:
        _person(s, "W0MIKE", "America/Los_Angeles", home=BUYER_TEAM)
    counts = []
    for size in (2, 12):
        with db.write() as s:
            n = s.query(Plan).count()
            for p in range(n, size):
                plan = _deal(s, f"C{p}", f"Deal {p}")
                collab_services.set_person(s, SELLER, plan, "W0MIKE", role="Buyer", side=None)
                for i in range(5):
                    services.add_task(
                        s,
                        SELLER,
                        plan,
                        f"T{i}",
                        owner_side="buyer",
                        due=due - timedelta(days=i * 3),
                    )
        seen: list[str] = []

        def count(*args: object, _seen: list[str] = seen, **_k: object) -> None:
            _seen.append(str(args[2]))

        event.listen(db.engine, "before_cursor_execute", count)
        try:
            with db.read() as s:
                state = load_state(s, _utc(2026, 3, 16, 20, 0), digest_plan_ids={1, 2})
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        assert state.buyer_people and state.rep_tasks and state.reps
        counts.append(len(seen))
    assert counts[0] == counts[1], counts


# --- the nudge's buttons ----------------------------------------------------------------


def test_snooze_buttons_accept_only_what_they_offer(h: Harness, fixed_clock: FixedClock) -> None:
    from bot import ids
    from storage.models import Snooze

    fixed_clock.set(_utc(2026, 3, 16, 20, 0))
    h.command("create Deal go-live 2026-06-01")
    h.command("add Sign order form owner buyer <@W0MIKE|mike> due 2026-03-20")
    h.command("add Internal margin check owner seller internal due 2026-03-20")
    h.settle()
    with h.bot.deps.db.read() as s:
        ids_by_title = {title: i for title, i in s.execute(select(Task.title, Task.id))}
    buyer_task = ids_by_title["Sign order form"]
    h.local.response_posts.clear()
    for value in (f"{buyer_task}:99999999999", f"{buyer_task}:-3", f"{buyer_task}:2"):
        assert h.click(f"{ids.NUDGE_SNOOZE}.3", value).status == 200
    internal = ids_by_title["Internal margin check"]
    assert h.click(f"{ids.NUDGE_SNOOZE}.1", f"{internal}:1").status == 200  # a buyer
    refusals = [str(p.params) for p in h.local.response_posts]
    assert len(refusals) == 4 and all("no_entry" in r for r in refusals), refusals
    assert h.click(f"{ids.NUDGE_SNOOZE}.due", f"{buyer_task}:due").status == 200
    h.settle()
    with h.bot.deps.db.read() as s:
        assert [
            tuple(r) for r in s.execute(select(Snooze.task_id, Snooze.user_id, Snooze.until))
        ] == [(buyer_task, "W0MIKE", date(2026, 3, 20))]


def test_remind_settings_parse_strictly() -> None:
    from commands import syntax as c
    from commands.parser import parse

    today = date(2026, 3, 16)
    assert parse("remind lead 3 days", today) == c.Remind("lead", number=3)
    assert parse("remind lead 1 day", today) == c.Remind("lead", number=1)
    assert parse("remind digest tue 10:30", today) == c.Remind("digest", number=1, minute=630)
    assert parse("remind digest Friday 4pm", today) == c.Remind("digest", number=4, minute=960)
    assert parse("remind weekends on", today) == c.Remind("weekends", on=True)
    assert parse("remind off", today) == c.Remind("power", on=False)
    assert parse("mute digests", today) == c.MuteDigests(True)
    for bad in (
        "remind lead 2 weeks",
        "remind lead 30",
        "remind digest monkey 9:00",
        "remind digest mo 9:00",
        "remind digest mon 25:00",
        "remind weekends maybe",
    ):
        assert not isinstance(parse(bad, today), c.Remind), bad
