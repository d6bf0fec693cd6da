"""The read model health, forecast, summary and pipeline read: what it holds, that a
buyer's copy holds nothing internal, and that it takes the same statements for 2
plans as for 12 (on both databases)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import event

from storage import collab_services, services
from storage.db import Database
from storage.models import Plan, Task
from storage.plan_facts import plan_facts
from storage.rules import Actor
from tests.conftest import FixedClock

TEAM = "T0LEXCORP"
SELLER = Actor("U0LEX", "seller", TEAM)
BUYER = Actor("W0MIKE", "buyer", TEAM)
SLACK = Actor(services.SLACK_SYSTEM_USER, "seller", TEAM)


def _deal(s: object, channel: str) -> Plan:
    return services.create_plan(
        s,  # type: ignore[arg-type]
        SELLER,
        channel,
        f"Deal {channel}",
        target_date=date(2026, 12, 18),
        tz="America/New_York",
    )


def test_facts_hold_the_plan_its_tasks_and_the_latest_activity_per_side(
    db: Database, fixed_clock: FixedClock
) -> None:
    start = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)
    fixed_clock.set(start)
    with db.write() as s:
        plan = _deal(s, "C1")
        services.set_country(s, SELLER, plan, "US")
        legal = services.add_milestone(s, SELLER, plan, "Legal review")
        msa = services.add_task(
            s,
            SELLER,
            plan,
            "MSA redlines",
            milestone=legal,
            owner_side="buyer",
            due=date(2026, 11, 6),
        )
        secret = services.add_task(
            s,
            SELLER,
            plan,
            "Discount approval",
            milestone=legal,
            owner_side="seller",
            internal=True,
        )
        services.assign_task(s, SELLER, plan, msa, SELLER.user_id)
        plan_id, msa_id, secret_id = plan.id, msa.id, secret.id
    fixed_clock.set(start + timedelta(days=3))
    with db.write() as s:
        plan = s.get_one(Plan, plan_id)
        services.set_task_status(s, BUYER, plan, s.get_one(Task, msa_id), "completed")
    fixed_clock.set(start + timedelta(days=5))
    with db.write() as s:
        plan = s.get_one(Plan, plan_id)
        services.set_task_status(s, SELLER, plan, s.get_one(Task, secret_id), "in_progress")
        # Slack's own bookkeeping is no one acting on the deal.
        services.record_channel_shared(s, plan, "T0MONSTERS", shared=True)
    with db.read() as s:
        facts = plan_facts(s, [plan_id, 999])[plan_id]
    assert 999 not in plan_facts_keys(db, [plan_id, 999])
    assert (facts.title, facts.target_date, facts.tz, facts.country) == (
        "Deal C1",
        date(2026, 12, 18),
        "America/New_York",
        "US",
    )
    assert [m.title for m in facts.milestones][-1] == "Legal review"
    by_id = {t.id: t for t in facts.tasks}
    assert by_id[msa_id].status == "completed"
    assert by_id[msa_id].completed_at == start + timedelta(days=3)
    assert by_id[msa_id].due_date == date(2026, 11, 6)
    assert by_id[secret_id].internal
    assert facts.name_of(SELLER.user_id) is None  # no person row with a name yet
    assert facts.last_activity("buyer") == start + timedelta(days=3)
    assert facts.last_activity("seller") == start + timedelta(days=5)  # not Slack's share event
    assert facts.last_movement == start + timedelta(days=5)
    assert facts.milestone_status(facts.milestones[-1]) == "in_progress"

    buyer = facts.for_side("buyer")
    assert [t.id for t in buyer.tasks] == [msa_id]
    # The seller's latest move was on the internal task: the buyer's copy can't tell.
    assert buyer.last_movement == start + timedelta(days=3)
    assert buyer.last_activity("seller") == start  # creating the plan and its tasks
    assert buyer.milestone_status(buyer.milestones[-1]) == "completed"


def plan_facts_keys(db: Database, ids: list[int]) -> set[int]:
    with db.read() as s:
        return set(plan_facts(s, ids))


def test_statements_do_not_grow_with_the_number_of_plans(
    db: Database, fixed_clock: FixedClock
) -> None:
    counts = []
    for size in (2, 12):
        with db.write() as s:
            have = s.query(Plan).count()
            for p in range(have, size):
                plan = _deal(s, f"C{p}")
                services.upsert_person(
                    s, TEAM, "U0LEX", home_team_id=TEAM, name="Lex", tz=None, is_guest=False
                )
                for i in range(4):
                    task = services.add_task(
                        s, SELLER, plan, f"T{i}", assignee_id="U0LEX", due=date(2026, 12, 1 + i)
                    )
                    if i % 2:
                        services.set_task_status(s, SELLER, plan, task, "completed")
                collab_services.set_person(s, SELLER, plan, "W0MIKE", role="Buyer", side=None)
        seen: list[str] = []

        def count(*args: object, _seen: list[str] = seen, **_k: object) -> None:
            _seen.append(str(args[2]))

        event.listen(db.engine, "before_cursor_execute", count)
        try:
            with db.read() as s:
                ids = list(s.scalars(Plan.__table__.select().with_only_columns(Plan.id)))
                seen.clear()
                facts = plan_facts(s, ids)
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        assert len(facts) == size
        assert all(len(f.tasks) == 4 and f.name_of("U0LEX") == "Lex" for f in facts.values())
        counts.append(len(seen))
    assert counts[0] == counts[1] <= 6, counts
