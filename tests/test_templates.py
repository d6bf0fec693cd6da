"""Templates beyond the basics in test_plan_templates.py: moving go-live there and
back through the services on both databases, the preview agreeing with the move,
"after a milestone" in mixed units, holiday-country round trips, far dates, and
more line-numbered refusals that store nothing."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from slack_sdk.models.blocks import Block
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.render.card import render_card
from commands import syntax as c
from commands.handlers import Request, handle
from commands.parser import parse
from commands.template_commands import run_template
from storage import services, template_store
from storage.db import Database
from storage.models import Activity, Plan, Task, TeamTemplate
from storage.readmodel import active_plan, plan_view
from storage.rules import Actor
from storage.templates import (
    PlanTask,
    TemplateError,
    builtin,
    from_plan,
    lay_out,
    parse_template,
    to_yaml,
)
from storage.workdays import add_business_days, is_business_day, shift

SELLER = Actor("U_SELLER", "seller", "T_SELLER")
TODAY = date(2026, 11, 23)
GOLIVE = date(2027, 6, 1)  # a Tuesday


def _dues(db: Database, channel: str = "C1") -> dict[int, date | None]:
    with db.read() as s:
        plan = active_plan(s, "T_SELLER", channel)
        assert plan is not None
        rows = s.execute(select(Task.number, Task.due_date).where(Task.plan_id == plan.id))
        return {n: d for n, d in rows}


def _plan(s: Session, channel: str = "C1") -> Plan:
    plan = active_plan(s, "T_SELLER", channel)
    assert plan is not None
    return plan


# --- pure: laying out and validating -------------------------------------------------


MIXED = """name: mixed
milestones:
  - title: Legal review
    tasks:
      - title: Redlines back
        owner: buyer
        due: 20 business days before go-live
      - title: Final read
        due: 25 days before go-live
  - title: Procurement
    tasks:
      - title: Purchase order raised
        owner: buyer
        due: 5 days after Legal review
  - title: Kickoff
    tasks:
      - title: Kickoff call
        due: 2 business days after Procurement
"""


def test_after_a_milestone_in_other_units_counts_from_its_real_end() -> None:
    """Legal review ends at the later of 20 business days and 25 calendar days before
    go-live; "5 days after" it is five calendar days after that date, and "2 business
    days after Procurement" two business days after the purchase order."""
    target = date(2027, 3, 1)  # a Monday
    t = parse_template(MIXED)
    laid = {x.title: x for x in lay_out(t, target, "US")}
    legal_end = max(shift(target, -20, True, "US"), target - timedelta(days=25))
    assert laid["Purchase order raised"].due == legal_end + timedelta(days=5)
    assert laid["Kickoff call"].due == add_business_days(legal_end + timedelta(days=5), 2, "US")
    # Stored as offsets from go-live, they give the same dates when recomputed.
    for x in laid.values():
        assert x.offset_days is not None
        assert shift(target, x.offset_days, x.business, "US") == x.due
    # Without a target there are no dates yet, but every task still gets an offset.
    assert all(x.due is None and x.offset_days is not None for x in lay_out(t, None))


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (
            "name: x\nmilestones:\n  - title: A\n    tasks:\n      - title: t\n"
            "  - title: B\n    tasks:\n      - title: u\n        due: 2 days after A\n",
            "line 9: “A” has no task with a due date",
        ),
        (
            "name: x\nmilestones:\n  - title: A\n    tasks:\n      - title: t\n"
            "        owner: buyer\n        owner: seller\n",
            "line 7: “owner” is given twice",
        ),
        ("name: x\nname: y\nmilestones:\n  - title: A\n", "line 2: “name” is given twice"),
        (
            "name: x\nmilestones:\n  - title: A\n    tasks:\n      - title: t\n"
            "        due: 10000 days before go-live\n",
            "line 6: can't read due",
        ),
        (
            "name: x\nmilestones:\n  - title: A\n    tasks:\n      - title: t\n"
            "        internal: maybe\n",
            "line 6: internal must be true or false",
        ),
        ("name: x\nmilestones:\n  - title: A\n\ttasks: []\n", "line 4: not valid YAML"),
        ("- just\n- a list\n", "line 1: the template should be a mapping"),
        ("name: x\nmilestones: []\n", "line 2: milestones should be a list of milestones"),
        ("name: x\nmilestones:\n  - tasks: []\n", "line 3: a milestone needs a title"),
        (f"name: x\nmilestones:\n  - title: {'M' * 301}\n", "line 3: title longer than 300"),
    ],
)
def test_more_bad_templates_say_which_line(text: str, says: str) -> None:
    with pytest.raises(TemplateError) as e:
        parse_template(text)
    assert any(p.startswith(says) for p in e.value.problems), e.value.problems


def test_dates_years_away_round_trip_and_dates_too_far_are_dropped() -> None:
    """A renewal three years after go-live (on a Saturday, so calendar days) survives
    save → YAML → load; a date further than a due phrase can say is left undated
    rather than producing a template that can't be read back."""
    target = date(2027, 3, 1)
    renewal = date(2030, 3, 2)
    t = from_plan(
        "r",
        "R",
        target,
        [
            (
                "Renewal",
                [
                    PlanTask("Renewal", "mutual", False, renewal, None, False),
                    PlanTask("Far", "mutual", False, date(2060, 1, 1), None, False),
                ],
            )
        ],
    )
    again = parse_template(to_yaml(t))
    assert again == t
    laid = lay_out(again, target)
    assert [x.due for x in laid] == [renewal, None]


@pytest.mark.parametrize("name", ["enterprise", "onboarding", "quick-smb", "security-heavy"])
@pytest.mark.parametrize("country", [None, "US", "GB", "DE"])
def test_builtin_business_dates_land_on_business_days(name: str, country: str | None) -> None:
    t = builtin(name)
    assert t is not None
    titles = [x.title for m in t.milestones for x in m.tasks]
    assert len(titles) == len(set(titles)), "task titles are distinct"
    for target in (date(2026, 12, 28), date(2027, 1, 4), date(2027, 7, 6)):
        for x in lay_out(t, target, country):
            assert x.due is not None, x.title
            if x.business and x.offset_days:
                assert is_business_day(x.due, country), (x.title, x.due)


# --- through the services, on both databases -----------------------------------------


def _enterprise(db: Database, country: str | None = "US") -> None:
    with db.write() as s:
        template_store.create_from_template(
            s, SELLER, "C1", "Deal", "enterprise", GOLIVE, "America/New_York", TODAY
        )
        plan = _plan(s)
        if country:
            services.set_country(s, SELLER, plan, country)
        pinned = s.scalar(select(Task).where(Task.plan_id == plan.id, Task.number == 2))
        assert pinned is not None
        services.set_task_due(s, SELLER, plan, pinned, date(2027, 2, 26))


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(n=st.integers(-40, 40).filter(bool))
def test_moving_go_live_and_back_restores_every_date(db: Database, n: int) -> None:
    """Each example moves the plan's go-live n business days and back, so the plan is
    the same before every example: that is the property under test."""
    with db.read() as s:
        if active_plan(s, "T_SELLER", "C1") is None:
            s.close()
            _enterprise(db)
    before = _dues(db)
    with db.write() as s:
        moved = services.set_target_date(s, SELLER, _plan(s), add_business_days(GOLIVE, n, "US"))
        assert 2 not in {t.number for t in moved}, "the date set by hand stays put"
    during = _dues(db)
    assert during[2] == before[2] == date(2027, 2, 26)
    assert sum(during[k] != before[k] for k in before) == len(moved) > 0
    with db.write() as s:
        services.set_target_date(s, SELLER, _plan(s), GOLIVE)
    assert _dues(db) == before


def _activity(db: Database) -> list[tuple[str, int | None]]:
    with db.read() as s:
        return [(a, t) for a, t in s.execute(select(Activity.action, Activity.task_id))]


def test_the_preview_says_exactly_what_the_move_does(db: Database) -> None:
    _enterprise(db)
    before = _dues(db)
    logged = _activity(db)
    new = date(2027, 1, 12)
    today = date(2026, 11, 2)
    with db.write() as s:
        plan = _plan(s)
        preview = template_store.preview_target(s, plan, new, today)
    assert _dues(db) == before and _activity(db) == logged, "a preview changes nothing"
    with db.write() as s:
        moved = services.set_target_date(s, SELLER, _plan(s), new)
        moved_ids = {t.id for t in moved}
    after = _dues(db)
    assert [(m.number, m.before, m.after) for m in preview.moves] == sorted(
        (t.number, before[t.number], after[t.number]) for t in moved
    )
    assert preview.pinned == 1
    assert preview.past and all(m.after < today for m in preview.past)
    assert {m.number for m in preview.past} == {k for k, d in after.items() if d and d < today}
    # The activity log records the move: the target, and each task that followed it.
    added = _activity(db)[len(logged) :]
    assert sorted(added, key=str) == sorted(
        [("plan.target", None)] + [("task.due", i) for i in moved_ids], key=str
    )


def test_a_holiday_country_plan_round_trips_through_export_and_import(db: Database) -> None:
    """Hand-set dates (one on the day after Thanksgiving) become relative dates that
    land on the same days in a new plan of the same country."""
    _enterprise(db, country="US")
    with db.write() as s:
        plan = _plan(s)
        services.add_task(s, SELLER, plan, "Board sign-off", due=date(2026, 11, 27))
        services.add_task(s, SELLER, plan, "Holiday party", due=date(2026, 12, 25))
        run_template(s, SELLER, plan, c.TemplateCommand("save", "ours-us"), TODAY)
    shown = handle(db, Request(actor=SELLER, channel_id="C1", text="template export ours-us"))
    pasted = "\n".join(b["text"]["text"] for b in shown.message.blocks[1:])
    pasted = pasted.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    cmd = parse(f"template import copy-us\n{pasted}", TODAY)
    assert isinstance(cmd, c.TemplateCommand)
    with db.write() as s:
        run_template(s, SELLER, None, cmd, TODAY)
        template_store.create_from_template(
            s, SELLER, "C2", "Copy", "copy-us", GOLIVE, "America/New_York", TODAY
        )
        services.set_country(s, SELLER, _plan(s, "C2"), "US")

    def structure(channel: str) -> list[tuple[str, str, str, bool, date | None]]:
        with db.read() as s:
            view = plan_view(s, _plan(s, channel), "seller")
        return [
            (m.title, t.title, t.owner_side, t.internal, t.due_date)
            for m in view.milestones
            for t in m.tasks
        ]

    assert structure("C2") == structure("C1")
    assert ("Holiday party", date(2026, 12, 25)) in [(x[1], x[4]) for x in structure("C2")]


def test_a_bad_import_over_an_existing_template_keeps_the_old_one(db: Database) -> None:
    smb = builtin("quick-smb")
    assert smb is not None
    with db.write() as s:
        template_store.save_template(s, SELLER, "ours", to_yaml(smb))
    text = "template import ours\nname: ours\nmilestones:\n  - title: A\n    x: 1\n"
    reply = handle(db, Request(actor=SELLER, channel_id="C1", text=text))
    # Lines count from the first line of the pasted YAML.
    assert "line 4: unknown milestone field “x”" in str(reply.message.blocks)
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(TeamTemplate)) == 1
        assert template_store.find_template(s, "T_SELLER", "ours") == replace(smb, name="ours")


def test_create_from_an_unknown_template_creates_no_plan(db: Database) -> None:
    reply = handle(
        db, Request(actor=SELLER, channel_id="C9", text="create Deal from nope go-live 2027-06-01")
    )
    assert "no template “nope”" in reply.message.text and "enterprise" in reply.message.text
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(Plan)) == 0


def test_go_live_at_the_end_of_the_calendar_is_answered_not_crashed(db: Database) -> None:
    _enterprise(db, country=None)
    reply = handle(db, Request(actor=SELLER, channel_id="C1", text="golive 9999-12-31"))
    assert "moves" in str(reply.message.blocks)
    assert _dues(db)[1] == add_business_days(GOLIVE, -60), "the preview changed nothing"


def test_a_plan_extended_into_onboarding_still_renders_a_valid_card(db: Database) -> None:
    """The biggest plan the built-ins make (enterprise, then onboarding after signature)
    keeps its card within Slack's limits, with no internal task in it."""
    with db.write() as s:
        template_store.create_from_template(
            s, SELLER, "C1", "Deal", "enterprise", GOLIVE, "UTC", TODAY
        )
    reply = handle(db, Request(actor=SELLER, channel_id="C1", text="extend onboarding"))
    assert "Laid out *10* tasks from `onboarding`" in str(reply.message.blocks)
    with db.read() as s:
        view = plan_view(s, _plan(s), "buyer")
        blocks = render_card(view, TODAY).blocks
    assert 0 < len(blocks) <= 50
    for b in blocks:
        parsed = Block.parse(b)
        assert parsed is not None
        parsed.validate_json()
    internal = [
        x.title
        for name in ("enterprise", "onboarding")
        for m in builtin(name).milestones  # type: ignore[union-attr]
        for x in m.tasks
        if x.internal
    ]
    assert internal and not any(title in str(blocks) for title in internal)
