"""The plan services against both real databases."""

from __future__ import annotations

import threading
from datetime import date

import pytest
from sqlalchemy import func, select

from storage import lookup, services
from storage.db import Database
from storage.models import Activity, Plan, Task
from storage.readmodel import active_plan, plan_view
from storage.rules import Actor, derive_milestone_status

SELLER = Actor("U_SELLER", "seller", "T_SELLER")
BUYER = Actor("U_BUYER", "buyer", "T_SELLER")
OTHER_TEAM = Actor("U_OTHER", "seller", "T_OTHER")


def _plan(db: Database) -> int:
    with db.write() as s:
        plan = services.create_plan(
            s, SELLER, "C1", "LexCorp for Monsters", target_date=date(2027, 3, 1)
        )
        discovery = services.add_milestone(s, SELLER, plan, "Discovery")
        security = services.add_milestone(s, SELLER, plan, "Security review")
        services.add_task(s, SELLER, plan, "Kickoff call", milestone=discovery, owner_side="mutual")
        services.add_task(
            s, SELLER, plan, "Send questionnaire", milestone=security, owner_side="seller"
        )
        services.add_task(
            s, SELLER, plan, "Fill questionnaire", milestone=security, owner_side="buyer"
        )
        services.add_task(s, SELLER, plan, "Discount approval", milestone=security, internal=True)
        return plan.id


def _activities(db: Database, action: str) -> list[Activity]:
    with db.read() as s:
        return list(s.scalars(select(Activity).where(Activity.action == action)))


def test_create_add_and_read_back(db: Database) -> None:
    plan_id = _plan(db)
    with db.read() as s:
        plan = active_plan(s, "T_SELLER", "C1")
        assert plan is not None and plan.id == plan_id
        seller_view = plan_view(s, plan, "seller")
        buyer_view = plan_view(s, plan, "buyer")
    assert [m.title for m in seller_view.milestones] == ["Discovery", "Security review"]
    assert [t.number for t in seller_view.tasks] == [1, 2, 3, 4]
    assert [t.title for t in buyer_view.tasks] == [
        "Kickoff call",
        "Send questionnaire",
        "Fill questionnaire",
    ]
    assert len(_activities(db, "task.add")) == 4


def test_one_active_plan_per_channel(db: Database) -> None:
    _plan(db)
    with pytest.raises(services.Invalid, match="already has a plan"), db.write() as s:
        services.create_plan(s, SELLER, "C1", "Second")
    with db.write() as s:  # another workspace's channel of the same id is its own
        services.create_plan(s, OTHER_TEAM, "C1", "Theirs")


def test_buyer_may_move_buyer_and_mutual_tasks_only(db: Database) -> None:
    _plan(db)
    with db.write() as s:
        plan = active_plan(s, "T_SELLER", "C1")
        assert plan is not None
        buyer_task = lookup.find_task(s, plan, number=3, words="", side="buyer")
        assert services.set_task_status(s, BUYER, plan, buyer_task, "completed")
        mutual = lookup.find_task(s, plan, number=1, words="", side="buyer")
        assert services.set_task_status(s, BUYER, plan, mutual, "in_progress")
    with db.write() as s:
        plan = active_plan(s, "T_SELLER", "C1")
        assert plan is not None
        seller_task = lookup.find_task(s, plan, number=2, words="", side="buyer")
        with pytest.raises(services.Forbidden, match="seller task"):
            services.set_task_status(s, BUYER, plan, seller_task, "completed")
        # Internal tasks don't exist for buyers, even by number.
        with pytest.raises(services.NotFound):
            lookup.find_task(s, plan, number=4, words="", side="buyer")
        with pytest.raises(services.Forbidden):
            services.add_milestone(s, BUYER, plan, "Buyer's own")
    with db.read() as s:
        statuses = dict(s.execute(select(Task.number, Task.status)).all())
    assert statuses == {1: "in_progress", 2: "not_started", 3: "completed", 4: "not_started"}
    done = _activities(db, "task.status")
    assert {(a.actor_id, a.actor_side, a.before, a.after) for a in done} == {
        ("U_BUYER", "buyer", "not_started", "completed"),
        ("U_BUYER", "buyer", "not_started", "in_progress"),
    }


def test_another_workspace_cannot_touch_the_plan(db: Database) -> None:
    _plan(db)
    with db.write() as s:
        plan = active_plan(s, "T_SELLER", "C1")
        assert plan is not None
        task = lookup.find_task(s, plan, number=1, words="", side="seller")
        with pytest.raises(services.NotFound):
            services.set_task_status(s, OTHER_TEAM, plan, task, "completed")
        with pytest.raises(services.NotFound):
            services.rename_task(s, OTHER_TEAM, plan, task, "pwned")
    with db.read() as s:
        assert s.scalar(select(Task.status).where(Task.number == 1)) == "not_started"


def test_milestone_status_is_derived_unless_set_by_hand(db: Database) -> None:
    assert derive_milestone_status([]) == "not_started"
    assert derive_milestone_status(["not_started", "completed"]) == "in_progress"
    assert derive_milestone_status(["completed", "completed"]) == "completed"
    assert derive_milestone_status(["completed"], "not_started") == "not_started"
    _plan(db)
    with db.write() as s:
        plan = active_plan(s, "T_SELLER", "C1")
        assert plan is not None
        discovery = lookup.find_milestone(s, plan, "discovery")
        services.set_task_status(
            s,
            SELLER,
            plan,
            lookup.find_task(s, plan, number=1, words="", side="seller"),
            "completed",
        )
        services.set_milestone_status(
            s, SELLER, plan, lookup.find_milestone(s, plan, "security"), "completed"
        )
    with db.read() as s:
        plan = active_plan(s, "T_SELLER", "C1")
        assert plan is not None
        view = plan_view(s, plan, "seller")
    assert [(m.title, m.status, m.manual) for m in view.milestones] == [
        ("Discovery", "completed", False),
        ("Security review", "completed", True),
    ]
    with db.write() as s:
        plan = active_plan(s, "T_SELLER", "C1")
        assert plan is not None
        services.set_milestone_status(
            s, SELLER, plan, lookup.find_milestone(s, plan, "security"), None
        )
        view = plan_view(s, plan, "seller")
    assert view.milestones[1].status == "not_started" and not view.milestones[1].manual
    assert discovery.title == "Discovery"


def test_target_date_moves_relative_tasks_but_not_pinned_ones(db: Database) -> None:
    _plan(db)
    with db.write() as s:
        plan = active_plan(s, "T_SELLER", "C1")
        assert plan is not None
        rel = services.add_task(
            s, SELLER, plan, "Security sign-off", due_offset_days=-10, due_business=True
        )
        pinned = services.add_task(s, SELLER, plan, "Legal redlines", due_offset_days=-5)
        assert rel.due_date == date(2027, 2, 15)  # 10 business days before Mon 1 Mar 2027
        assert pinned.due_date == date(2027, 2, 24)
        services.set_task_due(s, SELLER, plan, pinned, date(2027, 2, 20))
    with db.write() as s:
        plan = active_plan(s, "T_SELLER", "C1")
        assert plan is not None
        moved = services.set_target_date(s, SELLER, plan, date(2027, 3, 15))
        assert [t.title for t in moved] == ["Security sign-off"]
    with db.read() as s:
        dues = dict(s.execute(select(Task.title, Task.due_date)).all())
    assert dues["Security sign-off"] == date(2027, 3, 1)
    assert dues["Legal redlines"] == date(2027, 2, 20)


def test_task_words_lookup_is_exact_first_then_asks(db: Database) -> None:
    _plan(db)
    with db.read() as s:
        plan = active_plan(s, "T_SELLER", "C1")
        assert plan is not None
        assert lookup.find_task(s, plan, number=None, words="kickoff", side="seller").number == 1
        with pytest.raises(lookup.Ambiguous, match="#2 Send questionnaire, #3 Fill questionnaire"):
            lookup.find_task(s, plan, number=None, words="questionnaire", side="seller")
        with pytest.raises(services.NotFound):
            lookup.find_task(s, plan, number=None, words="discount", side="buyer")


def test_remove_rename_move_and_assign_leave_an_activity_trail(db: Database) -> None:
    _plan(db)
    with db.write() as s:
        plan = active_plan(s, "T_SELLER", "C1")
        assert plan is not None
        task = lookup.find_task(s, plan, number=1, words="", side="seller")
        services.rename_task(s, SELLER, plan, task, "Kickoff call with IT")
        services.move_task(s, SELLER, plan, task, lookup.find_milestone(s, plan, "security"))
        services.assign_task(s, SELLER, plan, task, "U_JANE")
        gone = services.remove_milestone(
            s, SELLER, plan, lookup.find_milestone(s, plan, "discovery")
        )
        assert gone == 0
        services.remove_task(
            s, SELLER, plan, lookup.find_task(s, plan, number=2, words="", side="seller")
        )
        with pytest.raises(services.Invalid):
            services.rename_task(s, SELLER, plan, task, "   ")
    with db.read() as s:
        actions = [a for (a,) in s.execute(select(Activity.action).order_by(Activity.id))]
        remaining = list(s.scalars(select(Task.title).order_by(Task.number)))
    assert actions[-5:] == [
        "task.rename",
        "task.move",
        "task.assign",
        "milestone.remove",
        "task.remove",
    ]
    assert remaining == ["Kickoff call with IT", "Fill questionnaire", "Discount approval"]


def test_two_people_changing_different_tasks_at_once_both_land(db: Database) -> None:
    plan_id = _plan(db)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def click(actor: Actor, number: int) -> None:
        try:
            with db.write() as s:
                plan = s.get(Plan, plan_id)
                assert plan is not None
                task = lookup.find_task(s, plan, number=number, words="", side=actor.side)
                barrier.wait(timeout=5)
                services.set_task_status(s, actor, plan, task, "completed")
        except BaseException as e:  # surfaced below
            errors.append(e)

    # On SQLite the second writer waits at BEGIN IMMEDIATE, so the barrier must
    # not require both inside a transaction at once there.
    if db.is_sqlite:
        barrier = threading.Barrier(1)
    threads = [
        threading.Thread(target=click, args=(BUYER, 3)),
        threading.Thread(target=click, args=(SELLER, 2)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert errors == []
    with db.read() as s:
        done = set(s.scalars(select(Task.number).where(Task.status == "completed")))
        count = s.scalar(
            select(func.count()).select_from(Activity).where(Activity.action == "task.status")
        )
    assert done == {2, 3}
    assert count == 2


def test_concurrent_adds_get_distinct_numbers(db: Database) -> None:
    plan_id = _plan(db)

    def add(i: int) -> None:
        with db.write() as s:
            plan = s.get(Plan, plan_id)
            assert plan is not None
            services.add_task(s, SELLER, plan, f"Parallel {i}")

    threads = [threading.Thread(target=add, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    with db.read() as s:
        numbers = sorted(s.scalars(select(Task.number)))
    assert numbers == list(range(1, 13))
