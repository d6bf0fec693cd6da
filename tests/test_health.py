"""Plan health, rule by rule, on a controlled local date: each rule at its
threshold and one day short of it, per-plan thresholds, the plan's holidays, and a
buyer's copy that no internal task can move."""

from __future__ import annotations

from datetime import date, timedelta

from reminders.health import Health, HealthRules, assess
from storage.plan_facts import HealthSettings, MilestoneFact
from tests.facts_builder import facts, moved, task, touched

TODAY = date(2026, 12, 1)  # a Tuesday, after Thanksgiving (Thu Nov 26)
RECENT = [moved(TODAY - timedelta(days=1)), touched(TODAY - timedelta(days=2), "buyer")]


def test_a_plan_moving_with_nothing_late_is_on_track_and_says_why() -> None:
    plan = facts(
        [task(1, done=TODAY - timedelta(days=3)), task(2, due=TODAY + timedelta(days=3))],
        activity=RECENT,
        target=TODAY + timedelta(days=30),
    )
    health = assess(plan, TODAY)
    assert health == Health(
        "on_track", ("nothing overdue, 1 of 2 tasks completed, last movement 1 day ago",)
    )
    assert health.line() == (
        "On track: nothing overdue, 1 of 2 tasks completed, last movement 1 day ago"
    )


def test_overdue_tasks_are_counted_per_side_from_the_plan_s_threshold() -> None:
    late = TODAY - timedelta(days=1)
    tasks = [task(i, side="buyer", due=late) for i in (1, 2, 3)]
    tasks += [
        task(4, side="seller", due=late),
        task(5, side="buyer", due=TODAY),
    ]  # due today: not late
    tasks += [task(6, side="buyer", due=late - timedelta(days=5), done=late)]  # done: not late
    plan = facts(tasks, activity=RECENT)
    assert assess(plan, TODAY) == Health(
        "at_risk", ("3 buyer tasks overdue", "1 seller task overdue")
    )
    # The plan's own threshold: four overdue tasks are tolerated at five.
    tolerant = facts(tasks, activity=RECENT, settings=HealthSettings(overdue_tasks=5))
    assert assess(tolerant, TODAY).state == "on_track"
    assert assess(tolerant, TODAY, HealthRules(overdue_tasks=4)).state == "at_risk"


def test_a_late_milestone_counts_business_days_on_the_plan_s_calendar() -> None:
    legal = MilestoneFact(2, 2, "Legal review", date(2026, 11, 20), None)  # a Friday
    tasks = [task(1, milestone=2, due=TODAY + timedelta(days=5))]  # the task isn't late
    weekends_only = facts(tasks, milestones=[legal], activity=RECENT)
    # Nov 23, 24, 25, 26, 27, 30, Dec 1: seven business days...
    assert assess(weekends_only, TODAY).reasons == ("Legal review 7 business days late",)
    # ...six where Thanksgiving is a holiday.
    us = facts(tasks, milestones=[legal], activity=RECENT, country="US")
    assert assess(us, TODAY) == Health("at_risk", ("Legal review 6 business days late",))
    # Its date may come from its tasks; a completed milestone is never late.
    dated_by_task = MilestoneFact(2, 2, "Legal review", None, None)
    late_task = [task(1, milestone=2, due=date(2026, 11, 30))]
    assert (
        "Legal review 1 business day late"
        in assess(facts(late_task, milestones=[dated_by_task], activity=RECENT), TODAY).reasons
    )
    done = MilestoneFact(2, 2, "Legal review", date(2026, 11, 20), "completed")
    assert assess(facts(tasks, milestones=[done], activity=RECENT), TODAY).state == "on_track"
    patient = facts(
        tasks, milestones=[legal], activity=RECENT, settings=HealthSettings(milestone_late_days=8)
    )
    assert assess(patient, TODAY).state == "on_track"


def test_no_movement_for_the_stall_threshold_stalls_the_plan() -> None:
    tasks = [task(1, due=TODAY + timedelta(days=10))]
    buyer_recent = touched(TODAY - timedelta(days=1), "buyer")  # a comment isn't movement
    nine = facts(tasks, activity=[moved(TODAY - timedelta(days=9)), buyer_recent])
    assert assess(nine, TODAY) == Health("stalled", ("no movement for 9 days",))
    six = facts(tasks, activity=[moved(TODAY - timedelta(days=6)), buyer_recent])
    assert assess(six, TODAY).state == "on_track"
    strict = facts(
        tasks,
        activity=[moved(TODAY - timedelta(days=6)), buyer_recent],
        settings=HealthSettings(stall_days=5),
    )
    assert assess(strict, TODAY) == Health("stalled", ("no movement for 6 days",))
    never = facts(tasks, created=TODAY - timedelta(days=8), activity=[buyer_recent])
    assert assess(never, TODAY).reasons == ("no movement since the plan was created 8 days ago",)


def test_silence_from_the_buyer_side_puts_the_plan_at_risk() -> None:
    tasks = [task(1, due=TODAY + timedelta(days=10))]
    fourteen = facts(tasks, activity=[moved(TODAY), touched(TODAY - timedelta(days=14), "buyer")])
    assert assess(fourteen, TODAY) == Health(
        "at_risk", ("nothing from the buyer side for 14 days",)
    )
    thirteen = facts(tasks, activity=[moved(TODAY), touched(TODAY - timedelta(days=13), "buyer")])
    assert assess(thirteen, TODAY).state == "on_track"
    # Seller activity is not the buyer's.
    never = facts(tasks, created=TODAY - timedelta(days=20), activity=[moved(TODAY)])
    assert assess(never, TODAY).reasons == ("nothing from the buyer side yet (20 days)",)
    quiet_ok = facts(
        tasks,
        created=TODAY - timedelta(days=20),
        activity=[moved(TODAY)],
        settings=HealthSettings(buyer_silence_days=21),
    )
    assert assess(quiet_ok, TODAY).state == "on_track"


def test_a_passed_target_with_work_open_is_at_risk_and_a_finished_plan_on_track() -> None:
    tasks = [task(1, done=TODAY - timedelta(days=9)), task(2)]
    passed = facts(tasks, activity=RECENT, target=date(2026, 11, 27), country="US")
    assert assess(passed, TODAY).reasons == (
        "target date passed 2 business days ago with 1 task open",
    )
    finished = facts(
        [task(1, done=TODAY - timedelta(days=40)), task(2, done=TODAY - timedelta(days=30))],
        target=date(2026, 11, 27),
        created=TODAY - timedelta(days=60),
    )
    assert assess(finished, TODAY) == Health("on_track", ("all 2 tasks completed",))


def test_stalled_outranks_at_risk_and_keeps_every_reason() -> None:
    plan = facts(
        [task(1, side="buyer", due=TODAY - timedelta(days=2))],
        activity=[moved(TODAY - timedelta(days=10)), touched(TODAY - timedelta(days=15), "buyer")],
    )
    assert assess(plan, TODAY) == Health(
        "stalled",
        (
            "no movement for 10 days",
            "1 buyer task overdue",
            "Next steps 2 business days late",  # dated by its latest task
            "nothing from the buyer side for 15 days",
        ),
    )


def test_a_buyer_s_copy_of_the_health_owes_nothing_to_internal_tasks() -> None:
    """Internal work that is overdue, or that alone kept the plan moving, must not
    show through the health a buyer reads (the digest in the channel)."""
    secret_late = task(
        2,
        milestone=2,
        side="seller",
        internal=True,
        due=TODAY - timedelta(days=3),
        title="Discount approval",
    )
    legal = MilestoneFact(2, 2, "Internal pricing sign-off", None, None)
    plan = facts(
        [task(1, side="buyer", due=TODAY + timedelta(days=5)), secret_late],
        milestones=[MilestoneFact(1, 1, "Next steps", None, None), legal],
        activity=[
            moved(TODAY - timedelta(days=1), internal=True),  # only internal work moved lately
            moved(TODAY - timedelta(days=8)),
            touched(TODAY - timedelta(days=1), "buyer"),
        ],
    )
    seller = assess(plan, TODAY)
    assert seller == Health(
        "at_risk", ("1 seller task overdue", "Internal pricing sign-off 2 business days late")
    )
    buyer = assess(plan.for_side("buyer"), TODAY)
    assert buyer == Health("stalled", ("no movement for 8 days",))
    assert "Discount" not in buyer.line() and "pricing" not in buyer.line()
