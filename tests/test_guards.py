"""The guard functions one by one (sides, the rules, finding tasks and
milestones, deal membership, `storage.access`), so that changing any branch of
them fails a test — mutation testing (`mutmut run`, see pyproject.toml) checks
that it does."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest
from slack_sdk import WebClient
from sqlalchemy import select, update

from bot import identity
from bot.identity import side_of
from bot.local_slack import LocalSlack
from storage import access, lookup, membership, services
from storage.db import Database
from storage.models import Person, Plan, Task
from storage.rules import (
    Actor,
    can_comment,
    can_edit_plan,
    can_edit_task,
    can_place_people,
    can_set_task_status,
    derive_milestone_status,
    visible_to,
)
from tests.conftest import FixedClock

HOST = "T0HOST"
SELLER = Actor(user_id="U0SELLER", side="seller", team_id=HOST)
BUYER = Actor(user_id="W0BUYER", side="buyer", team_id=HOST)
CHANNEL = "C0DEAL"
INTERNAL = "That task isn't part of this plan."
NOT_IN_PLAN = "That task isn't part of this channel's plan."


# --- sides -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("user_team", "is_guest", "override", "side"),
    [
        (HOST, False, None, "seller"),  # a member of the host team, looked up
        (None, False, None, "seller"),  # the team from the person row, same answer
        ("", False, None, "seller"),
        (HOST, True, None, "buyer"),  # a guest
        (HOST, None, None, "buyer"),  # never looked up, or the lookup failed
        (None, None, None, "buyer"),
        ("", None, None, "buyer"),
        ("T0OTHER", False, None, "buyer"),  # another organisation
        ("T0OTHER", None, None, "buyer"),
        ("T0OTHER", False, "seller", "seller"),  # placed by hand: wins
        (HOST, False, "buyer", "buyer"),
        (HOST, None, "seller", "seller"),
        (HOST, False, "nonsense", "seller"),  # only the two sides count as a placement
        (HOST, None, "nonsense", "buyer"),
    ],
)
def test_side_of(
    user_team: str | None, is_guest: bool | None, override: str | None, side: str
) -> None:
    assert side_of(HOST, user_team, is_guest=is_guest, override=override) == side


# --- the rules ---------------------------------------------------------------------------


def test_set_task_status_rules() -> None:
    for owner in ("buyer", "seller", "mutual"):
        assert can_set_task_status("seller", owner, True) is None
        assert can_set_task_status("seller", owner, False) is None
        assert can_set_task_status("buyer", owner, True) == INTERNAL
    assert can_set_task_status("buyer", "buyer", False) is None
    assert can_set_task_status("buyer", "mutual", False) is None
    assert can_set_task_status("buyer", "seller", False) == (
        "That's a seller task: only the seller team can change it. Ask them in the channel."
    )


def test_edit_rules() -> None:
    refusal = (
        "Only the seller team can change the plan itself; you can start and complete buyer tasks."
    )
    assert can_edit_plan("seller", False) is None
    assert can_edit_plan("seller", True) is None
    assert can_edit_plan("buyer", True) is None
    assert can_edit_plan("buyer", False) == refusal
    for internal in (False, True):
        for owner in ("buyer", "seller", "mutual"):
            assert can_edit_task("seller", False, owner, internal) is None
            assert can_edit_task("buyer", False, owner, internal) == refusal
    assert can_edit_task("buyer", True, "buyer", False) is None
    assert can_edit_task("buyer", True, "mutual", False) is None
    assert can_edit_task("buyer", True, "buyer", True) == INTERNAL
    assert can_edit_task("buyer", True, "seller", True) == INTERNAL
    assert can_edit_task("buyer", True, "seller", False) == (
        "That's a seller task: only the seller team can change it."
    )


def test_visibility_comments_and_people_rules() -> None:
    assert visible_to("seller", True) and visible_to("seller", False)
    assert visible_to("buyer", False) and not visible_to("buyer", True)
    assert can_comment("buyer", False) is None and can_comment("seller", True) is None
    assert can_comment("buyer", True) == INTERNAL
    assert can_place_people("seller") is None
    assert can_place_people("buyer") == "Only the seller team can change who is on which side."


def test_milestone_status_is_derived_unless_set_by_hand() -> None:
    assert derive_milestone_status([]) == "not_started"
    assert derive_milestone_status(["not_started"]) == "not_started"
    assert derive_milestone_status(["in_progress"]) == "in_progress"
    assert derive_milestone_status(["not_started", "completed"]) == "in_progress"
    assert derive_milestone_status(["completed", "completed"]) == "completed"
    assert derive_milestone_status(iter(["completed"])) == "completed"
    assert derive_milestone_status(["completed"], "not_started") == "not_started"
    assert derive_milestone_status([], "in_progress") == "in_progress"


# --- finding tasks and milestones --------------------------------------------------------


def plan_with_tasks(db: Database) -> int:
    with db.write() as s:
        plan = services.create_plan(s, SELLER, CHANNEL, "Deal", target_date=None, tz="UTC")
        legal = services.add_milestone(s, SELLER, plan, "Legal review")
        services.add_milestone(s, SELLER, plan, "Security review")
        services.add_milestone(s, SELLER, plan, "Go-live")
        for title, internal in (
            ("Send MSA", False),  # 1
            ("Send MSA redlines", False),  # 2
            ("Discount approval", True),  # 3
            ("Review MSA internally", True),  # 4
        ):
            services.add_task(s, SELLER, plan, title, milestone=legal, internal=internal)
        return plan.id


def _plan(s: object, plan_id: int) -> Plan:
    plan = s.get(Plan, plan_id)  # type: ignore[attr-defined]
    assert plan is not None
    return plan  # type: ignore[no-any-return]


def test_best_matches() -> None:
    class Item:
        def __init__(self, title: str) -> None:
            self.title = title

    items = [Item("Send MSA"), Item("Send MSA redlines"), Item("msa")]
    assert [i.title for i in lookup.best_matches(items, "send msa")] == ["Send MSA"]  # exact
    assert [i.title for i in lookup.best_matches(items, "redlines SEND")] == ["Send MSA redlines"]
    assert [i.title for i in lookup.best_matches(items, "MSA")] == ["msa"]
    assert [i.title for i in lookup.best_matches(items, "se")] == ["Send MSA", "Send MSA redlines"]
    assert lookup.best_matches(items, "   ") == []
    assert lookup.best_matches(items, "nothing") == []


def test_find_task_by_number_and_words(db: Database) -> None:
    pid = plan_with_tasks(db)
    with db.read() as s:
        plan = _plan(s, pid)
        assert lookup.find_task(s, plan, number=1, words="", side="buyer").title == "Send MSA"
        assert lookup.find_task(s, plan, number=3, words="", side="seller").internal
        with pytest.raises(services.NotFound, match=r"^There's no task #3 in this plan\.$"):
            lookup.find_task(s, plan, number=3, words="", side="buyer")
        with pytest.raises(services.NotFound, match=r"^There's no task #9 in this plan\.$"):
            lookup.find_task(s, plan, number=9, words="", side="seller")
        # Words: exact first, then every word; internal ones never for a buyer.
        assert lookup.find_task(s, plan, number=None, words="send msa", side="buyer").number == 1
        assert lookup.find_task(s, plan, number=None, words="redlines", side="buyer").number == 2
        found = lookup.find_task(s, plan, number=None, words="internally", side="seller")
        assert found.number == 4
        with pytest.raises(services.NotFound, match="^No task in this plan matches “internally”.$"):
            lookup.find_task(s, plan, number=None, words="internally", side="buyer")
        with pytest.raises(lookup.Ambiguous) as many:
            lookup.find_task(s, plan, number=None, words="msa", side="seller")
        assert many.value.message == (
            "“msa” matches more than one task: #1 Send MSA, #2 Send MSA redlines, "
            "#4 Review MSA internally. Which one? Use its #number."
        )
        with pytest.raises(lookup.Ambiguous) as two:
            lookup.find_task(s, plan, number=None, words="msa", side="buyer")
        assert "#4" not in two.value.message  # an internal title never shows to a buyer


def test_find_task_lists_at_most_eight(db: Database) -> None:
    with db.write() as s:
        plan = services.create_plan(s, SELLER, CHANNEL, "Deal", target_date=None, tz="UTC")
        for n in range(10):
            services.add_task(s, SELLER, plan, f"Step {n}")
        pid = plan.id
    with db.read() as s, pytest.raises(lookup.Ambiguous) as many:
        lookup.find_task(s, _plan(s, pid), number=None, words="step", side="seller")
    assert "#8 Step 7" in many.value.message and "#9" not in many.value.message


def test_find_milestone(db: Database) -> None:
    pid = plan_with_tasks(db)
    with db.read() as s:
        plan = _plan(s, pid)
        assert lookup.find_milestone(s, plan, "legal").title == "Legal review"
        assert lookup.find_milestone(s, plan, "GO-LIVE").title == "Go-live"
        with pytest.raises(services.NotFound) as none:
            lookup.find_milestone(s, plan, "procurement")
        assert none.value.message == (
            "No milestone matches “procurement”. "
            "Milestones: Legal review, Security review, Go-live."
        )
        with pytest.raises(lookup.Ambiguous) as many:
            lookup.find_milestone(s, plan, "review")
        assert many.value.message == (
            "“review” matches several milestones: Legal review, Security review. Which one?"
        )
        m = lookup.find_milestone(s, plan, "security")
        assert lookup.find_milestone_by_id(s, plan, m.id) is m
        with pytest.raises(services.NotFound, match="^That milestone isn't part"):
            lookup.find_milestone_by_id(s, plan, m.id + 999)
        legal = lookup.find_milestone(s, plan, "legal")
        assert lookup.count_tasks(s, legal) == 4 and lookup.count_tasks(s, m) == 0


def test_find_milestone_in_a_plan_with_none(db: Database) -> None:
    with db.write() as s:
        plan = services.create_plan(s, SELLER, CHANNEL, "Bare", target_date=None, tz="UTC")
        pid = plan.id
    with db.read() as s, pytest.raises(services.NotFound) as none:
        lookup.find_milestone(s, _plan(s, pid), "legal")
    assert none.value.message == "No milestone matches “legal”. Milestones: none yet."


def test_find_task_by_id(db: Database) -> None:
    pid = plan_with_tasks(db)
    with db.read() as s:
        plan = _plan(s, pid)
        tasks = {t.number: t for t in s.scalars(select(Task).where(Task.plan_id == pid))}
        assert lookup.find_task_by_id(s, plan, tasks[1].id, "buyer") is tasks[1]
        assert lookup.find_task_by_id(s, plan, tasks[3].id, "seller") is tasks[3]
        for task_id, side in ((tasks[3].id, "buyer"), (10_000, "seller")):
            with pytest.raises(services.NotFound) as refused:
                lookup.find_task_by_id(s, plan, task_id, side)  # type: ignore[arg-type]
            assert refused.value.message == NOT_IN_PLAN


# --- deal membership and the one access check --------------------------------------------


def test_membership_is_known_only_once_fetched_and_while_fresh(
    db: Database, fixed_clock: FixedClock
) -> None:
    with db.write() as s:
        assert membership.is_member(s, HOST, CHANNEL, "W0BUYER") is None
        membership.joined(s, HOST, CHANNEL, "W0BUYER")  # not kept: the list isn't known
        assert membership.is_member(s, HOST, CHANNEL, "W0BUYER") is None
        membership.record_members(s, HOST, CHANNEL, ["W0BUYER", "U0SELLER", ""])
        assert membership.is_member(s, HOST, CHANNEL, "W0BUYER") is True
        assert membership.is_member(s, HOST, CHANNEL, "W0OTHER") is False
        assert membership.is_member(s, "T0ELSE", CHANNEL, "W0BUYER") is None
        membership.joined(s, HOST, CHANNEL, "W0OTHER")
        membership.joined(s, HOST, CHANNEL, "W0OTHER")  # the same event twice
        assert membership.is_member(s, HOST, CHANNEL, "W0OTHER") is True
        membership.left(s, HOST, CHANNEL, "W0BUYER")
        assert membership.is_member(s, HOST, CHANNEL, "W0BUYER") is False
        assert membership.unknown_channels(s, HOST, [CHANNEL, "C0NEW", "C0NEW"]) == ["C0NEW"]
        membership.record_members(s, HOST, CHANNEL, ["W0BUYER"])  # replaces the list
        assert membership.is_member(s, HOST, CHANNEL, "W0OTHER") is False
        assert list(s.scalars(membership.channels_of(HOST, "W0BUYER"))) == [CHANNEL]
    fixed_clock.set(fixed_clock.at + membership.ROSTER_MAX_AGE)
    with db.read() as s:  # exactly a day old: still known
        assert membership.is_member(s, HOST, CHANNEL, "W0BUYER") is True
        assert list(s.scalars(membership.channels_of(HOST, "W0BUYER"))) == [CHANNEL]
    fixed_clock.set(fixed_clock.at + timedelta(seconds=1))
    with db.write() as s:  # older: unknown again (an event may have been missed)
        assert membership.is_member(s, HOST, CHANNEL, "W0BUYER") is None
        assert list(s.scalars(membership.channels_of(HOST, "W0BUYER"))) == []
        assert membership.unknown_channels(s, HOST, [CHANNEL]) == [CHANNEL]
        membership.record_members(s, HOST, CHANNEL, ["W0BUYER"])
        assert membership.is_member(s, HOST, CHANNEL, "W0BUYER") is True
        membership.forget(s, HOST, CHANNEL)
        assert membership.is_member(s, HOST, CHANNEL, "W0BUYER") is None


def test_access_for_sellers_buyers_and_outsiders(db: Database) -> None:
    pid = plan_with_tasks(db)
    with db.write() as s:
        membership.record_members(s, HOST, CHANNEL, ["W0BUYER"])
        membership.record_members(s, HOST, "C0OTHER", ["W0OTHER"])
        internal = s.scalar(select(Task).where(Task.plan_id == pid, Task.internal.is_(True)))
        visible = s.scalar(select(Task).where(Task.plan_id == pid, Task.number == 1))
        assert internal is not None and visible is not None
        internal_id, visible_id = internal.id, visible.id
    outsider = Actor(user_id="W0OTHER", side="buyer", team_id=HOST)
    with db.read() as s:
        assert access.plan_for(s, BUYER, pid, CHANNEL).id == pid
        assert access.plan_in_channel(s, BUYER, CHANNEL).id == pid  # type: ignore[union-attr]
        assert access.plan_in_channel(s, SELLER, CHANNEL).id == pid  # type: ignore[union-attr]
        assert access.plan_in_channel(s, outsider, CHANNEL) is None
        assert access.plan_in_channel(s, BUYER, "C0OTHER") is None  # no plan there
        assert access.task_for(s, BUYER, visible_id)[1].id == visible_id
        assert access.task_for(s, SELLER, internal_id)[1].id == internal_id
        for who, task_id in ((BUYER, internal_id), (outsider, visible_id), (BUYER, 10_000)):
            with pytest.raises(services.NotFound) as refused:
                access.task_for(s, who, task_id)
            assert refused.value.message in (access.NOT_FOUND, NOT_IN_PLAN)
        listed = set(s.scalars(select(Plan.id).where(access.reachable_plans(BUYER))))
        assert listed == {pid}
        assert set(s.scalars(select(Plan.id).where(access.reachable_plans(outsider)))) == set()
        assert set(s.scalars(select(Plan.id).where(access.reachable_plans(SELLER)))) == {pid}
        elsewhere = Actor(user_id="U0SELLER", side="seller", team_id="T0ELSE")
        assert set(s.scalars(select(Plan.id).where(access.reachable_plans(elsewhere)))) == set()
    with db.write() as s:
        membership.forget(s, HOST, CHANNEL)
    with db.read() as s, pytest.raises(access.MembersUnknown) as unknown:
        access.plan_for(s, BUYER, pid)
    assert unknown.value.message == access.NOT_FOUND
    assert (unknown.value.team_id, unknown.value.channel_id) == (HOST, CHANNEL)
    with db.read() as s, pytest.raises(access.MembersUnknown):
        access.plan_in_channel(s, BUYER, CHANNEL)
    with db.read() as s:  # sellers never need the members
        assert access.plan_for(s, SELLER, pid).id == pid


def test_an_archived_plan_is_reached_by_nobody(db: Database) -> None:
    pid = plan_with_tasks(db)
    with db.write() as s:
        membership.record_members(s, HOST, CHANNEL, ["W0BUYER"])
        _plan(s, pid).archived = True
    with db.read() as s:
        for who in (SELLER, BUYER):
            with pytest.raises(services.NotFound):
                access.plan_for(s, who, pid)
            assert access.plan_in_channel(s, who, CHANNEL) is None
        assert list(s.scalars(select(Plan.id).where(access.reachable_plans(SELLER)))) == []
        assert list(s.scalars(select(Plan.id).where(access.reachable_plans(BUYER)))) == []


def test_find_task_by_number_is_this_plans(db: Database) -> None:
    pid = plan_with_tasks(db)  # four tasks
    with db.write() as s:
        other = services.create_plan(s, SELLER, "C0OTHER", "Other", target_date=None, tz="UTC")
        for n in range(5):
            services.add_task(s, SELLER, other, f"Other step {n}")
    with db.read() as s:
        plan = _plan(s, pid)
        assert lookup.find_task(s, plan, number=1, words="", side="seller").title == "Send MSA"
        with pytest.raises(services.NotFound):  # #5 is only the other plan's
            lookup.find_task(s, plan, number=5, words="", side="seller")


def test_find_milestone_lists_at_most_eight(db: Database) -> None:
    with db.write() as s:
        plan = services.create_plan(s, SELLER, CHANNEL, "Deal", target_date=None, tz="UTC")
        for n in range(10):
            services.add_milestone(s, SELLER, plan, f"Phase {n}")
        pid = plan.id
    with db.read() as s, pytest.raises(lookup.Ambiguous) as many:
        lookup.find_milestone(s, _plan(s, pid), "phase")
    assert "Phase 7" in many.value.message and "Phase 8" not in many.value.message


# --- who is who, against the Slack stand-in ----------------------------------------------


def _user(user_id: str, team_id: str, *, guest: bool = False) -> dict[str, object]:
    return {"id": user_id, "team_id": team_id, "name": user_id.lower(), "is_restricted": guest}


def test_the_people_cache_is_per_workspace_and_forgets_on_write(db: Database) -> None:
    identity.record_user(db, HOST, _user("U0PAT", HOST, guest=True))
    identity.record_user(db, "T0ELSE", _user("U0PAT", "T0ELSE"))  # a member over there
    assert identity.resolve_actor(db, None, HOST, "U0PAT", None)[0].side == "buyer"
    assert identity.resolve_actor(db, None, "T0ELSE", "U0PAT", None)[0].side == "seller"
    # A change behind the cache's back shows only once it is forgotten (or expires).
    with db.write() as s:
        s.execute(update(Person).where(Person.team_id == "T0ELSE").values(is_guest=True))
    assert identity.resolve_actor(db, None, "T0ELSE", "U0PAT", None)[0].side == "seller"
    identity.forget(db, "T0ELSE", "U0PAT")
    identity.forget(db, HOST, "U0NEVERSEEN")  # forgetting someone never cached is fine
    assert identity.resolve_actor(db, None, "T0ELSE", "U0PAT", None)[0].side == "buyer"


@pytest.mark.parametrize(
    ("fault", "why"),
    [
        ({"status": 500}, "internal_error"),
        ({"status": 429, "retry_after": 0}, "ratelimited"),
        ({"error": "user_not_found"}, "user_not_found"),
    ],
)
def test_a_failed_lookup_records_nobody_and_says_why(
    db: Database, caplog: pytest.LogCaptureFixture, fault: dict[str, Any], why: str
) -> None:
    with LocalSlack(team_id=HOST, tokens={"xoxb-test"}) as local:
        local.add_user("U0PAT", team_id=HOST, name="pat")
        client = WebClient(token="xoxb-test", base_url=local.base_url)
        local.fail_next("users.info", **fault)
        with caplog.at_level(logging.INFO, logger="bot.identity"):
            assert identity.refresh_person(db, client, HOST, "U0PAT") is None
        messages = [r.getMessage() for r in caplog.records if r.name == "bot.identity"]
        assert messages == [f"users.info U0PAT failed: {why}"]
        assert len(local.calls_to("users.info")) == 1  # not retried while the person waits
        actor, _tz = identity.resolve_actor(db, client, HOST, "U0PAT", HOST)
        assert actor.side == "seller"  # the next request looked them up, and it worked
    with db.read() as s:
        person = s.scalar(select(Person).where(Person.user_id == "U0PAT"))
        assert person is not None and person.refreshed_at is not None


def test_a_lookup_answering_for_someone_else_is_ignored(db: Database) -> None:
    with LocalSlack(team_id=HOST, tokens={"xoxb-test"}) as local:
        local.add_user("U0PAT", team_id=HOST, name="pat")
        client = WebClient(token="xoxb-test", base_url=local.base_url)
        assert identity.refresh_person(db, client, HOST, "U0NOBODY") is None
        assert identity.resolve_actor(db, client, HOST, "U0NOBODY", "")[0].side == "buyer"
        assert identity.refresh_person(db, client, HOST, "U0PAT") is not None


def test_a_person_row_without_a_lookup_is_not_known(db: Database) -> None:
    """A row made by muting digests or placing someone (no users.info yet) says
    is_guest False by default: that is not knowing, so buyer side."""
    from storage import reminder_services

    with db.write() as s:
        reminder_services.mute_digests(s, Actor("U0MUTE", "seller", HOST), True)
    assert identity.resolve_actor(db, None, HOST, "U0MUTE", HOST)[0].side == "buyer"
    identity.record_user(db, HOST, _user("U0MUTE", HOST))
    assert identity.resolve_actor(db, None, HOST, "U0MUTE", HOST)[0].side == "seller"


def test_what_a_lookup_records(db: Database) -> None:
    user = {
        "id": "U0PAT",
        "team_id": HOST,
        "name": "pat",
        "real_name": "Pat Real",
        "tz": "Europe/Paris",
        "profile": {"display_name": "Patty"},
    }
    identity.record_user(db, HOST, user)
    identity.record_user(db, HOST, {**user, "id": "U0REAL", "profile": {}})
    identity.record_user(db, HOST, {"id": "U0NAME", "name": "nm", "team_id": HOST})
    identity.record_user(db, HOST, {"id": "U0ULTRA", "team_id": HOST, "is_ultra_restricted": True})
    with db.read() as s:
        people = {p.user_id: p for p in s.scalars(select(Person))}
    assert people["U0PAT"].name == "Patty" and people["U0PAT"].tz == "Europe/Paris"
    assert people["U0PAT"].home_team_id == HOST and people["U0PAT"].is_guest is False
    assert people["U0REAL"].name == "Pat Real" and people["U0NAME"].name == "nm"
    assert people["U0ULTRA"].name == "" and people["U0ULTRA"].is_guest is True
    actor, tz = identity.resolve_actor(db, None, HOST, "U0PAT", None)
    assert (actor.side, tz, actor.user_id, actor.team_id) == (
        "seller",
        "Europe/Paris",
        "U0PAT",
        HOST,
    )
    assert identity.resolve_actor(db, None, HOST, "U0NAME", None)[1] == "UTC"
    assert identity.resolve_actor(db, None, HOST, "U0ULTRA", None)[0].side == "buyer"


def test_a_plan_per_team_in_one_shared_channel(db: Database) -> None:
    """Both organisations of a Slack Connect channel may run the app there."""
    ours = plan_with_tasks(db)
    theirs_seller = Actor(user_id="U0THEM", side="seller", team_id="T0THEM")
    with db.write() as s:
        theirs = services.create_plan(
            s, theirs_seller, CHANNEL, "Theirs", target_date=None, tz="UTC"
        ).id
    with db.read() as s:
        assert access.plan_in_channel(s, SELLER, CHANNEL).id == ours  # type: ignore[union-attr]
        found = access.plan_in_channel(s, theirs_seller, CHANNEL)
        assert found is not None and found.id == theirs


def test_a_slow_lookup_records_nobody(
    sqlite_db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    with LocalSlack(team_id=HOST, tokens={"xoxb-test"}) as local:
        local.add_user("U0PAT", team_id=HOST, name="pat")
        client = WebClient(token="xoxb-test", base_url=local.base_url)
        local.delay_next("users.info", identity.LOOKUP_TIMEOUT + 1)
        with caplog.at_level(logging.INFO, logger="bot.identity"):
            assert identity.refresh_person(sqlite_db, client, HOST, "U0PAT") is None
    (message,) = [r.getMessage() for r in caplog.records if r.name == "bot.identity"]
    assert message.startswith("users.info U0PAT failed: ") and "NoneType" not in message
    assert message.removeprefix("users.info U0PAT failed: ") in ("TimeoutError", "URLError")


def test_an_archived_plan_leaves_room_for_the_next(db: Database) -> None:
    first = plan_with_tasks(db)
    with db.write() as s:
        _plan(s, first).archived = True
    with db.write() as s:
        second = services.create_plan(s, SELLER, CHANNEL, "Next", target_date=None, tz="UTC").id
    with db.read() as s:
        found = access.plan_in_channel(s, SELLER, CHANNEL)
        assert found is not None and found.id == second


def test_a_profile_is_looked_up_once_a_day(db: Database, fixed_clock: FixedClock) -> None:
    with LocalSlack(team_id=HOST, tokens={"xoxb-test"}) as local:
        local.add_user("U0PAT", team_id=HOST, name="pat")
        client = WebClient(token="xoxb-test", base_url=local.base_url)
        assert identity.resolve_actor(db, client, HOST, "U0PAT", None)[0].side == "seller"
        identity.forget_everyone()
        identity.resolve_actor(db, client, HOST, "U0PAT", None)
        assert len(local.calls_to("users.info")) == 1  # known: not asked again
        fixed_clock.set(fixed_clock.at + identity.PROFILE_MAX_AGE)
        identity.forget_everyone()
        identity.resolve_actor(db, client, HOST, "U0PAT", None)
        assert len(local.calls_to("users.info")) == 1  # a day old exactly: still fresh
        fixed_clock.set(fixed_clock.at + timedelta(seconds=1))
        identity.forget_everyone()
        identity.resolve_actor(db, client, HOST, "U0PAT", None)
        assert len(local.calls_to("users.info")) == 2
