"""Templates and dates worked back from go-live: date arithmetic, built-in
templates, team templates round-tripping, and the go-live preview end to end."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from slack_sdk.models.blocks import Block
from sqlalchemy import func, select

from bot import ids
from bot.render.card import render_card
from commands import syntax as c
from commands.parser import parse
from storage import services, template_store
from storage.db import Database
from storage.models import Task, TeamTemplate
from storage.readmodel import active_plan, plan_view
from storage.rules import Actor
from storage.templates import (
    Due,
    TemplateError,
    builtin,
    builtin_names,
    lay_out,
    parse_due,
    parse_template,
    to_yaml,
)
from storage.workdays import add_business_days, business_days_between, is_business_day, shift
from tests.harness import CHANNEL, SELLER_TEAM, Harness

SELLER = Actor("U_SELLER", "seller", "T_SELLER")
TODAY = date(2026, 11, 23)


# --- date arithmetic -------------------------------------------------------------------


def test_business_days_skip_weekends_and_holidays() -> None:
    assert add_business_days(date(2026, 11, 27), 1) == date(2026, 11, 30)  # Fri → Mon
    assert add_business_days(date(2026, 11, 30), -1) == date(2026, 11, 27)
    assert add_business_days(date(2026, 11, 28), 1) == date(2026, 11, 30)  # from a Saturday
    # Thanksgiving (Thu 26 Nov 2026) is skipped for a US plan only.
    assert add_business_days(date(2026, 11, 25), 1, "US") == date(2026, 11, 27)
    assert add_business_days(date(2026, 11, 25), 1) == date(2026, 11, 26)
    # Year end: New Year's Day is a holiday in the US and in Germany.
    assert add_business_days(date(2026, 12, 31), 1) == date(2027, 1, 1)
    assert add_business_days(date(2026, 12, 31), 1, "US") == date(2027, 1, 4)
    assert add_business_days(date(2026, 12, 24), 1, "DE") == date(2026, 12, 28)  # 25, 26 off
    # Month end and leap day.
    assert add_business_days(date(2028, 2, 28), 1) == date(2028, 2, 29)
    assert shift(date(2027, 3, 1), -10, True) == date(2027, 2, 15)
    assert shift(date(2027, 3, 1), 30, False) == date(2027, 3, 31)
    assert not is_business_day(date(2026, 12, 25), "GB")


def test_dates_are_calendar_dates_across_daylight_saving() -> None:
    """A due date is a date in the plan's zone: the DST change (8 March 2026 in New York)
    changes the UTC hour of local midnight, not which day a task is due."""
    from datetime import UTC, datetime

    from storage.clock import today_in

    before = datetime(2026, 3, 8, 4, 59, tzinfo=UTC)  # 23:59 EST on 7 March
    after = datetime(2026, 3, 9, 3, 59, tzinfo=UTC)  # 23:59 EDT on 8 March
    assert today_in("America/New_York", before) == date(2026, 3, 7)
    assert today_in("America/New_York", after) == date(2026, 3, 8)
    assert add_business_days(date(2026, 3, 6), 1) == date(2026, 3, 9)


@settings(max_examples=200, deadline=None)
@given(
    target=st.dates(min_value=date(2024, 1, 1), max_value=date(2030, 12, 31)),
    offsets=st.lists(st.integers(-80, 40), min_size=1, max_size=8),
    n=st.integers(-60, 60),
    country=st.sampled_from([None, "US", "DE", "GB"]),
)
def test_moving_the_target_and_back_restores_every_date(
    target: date, offsets: list[int], n: int, country: str | None
) -> None:
    target = add_business_days(target, 0, country)
    while not is_business_day(target, country):
        target += timedelta(days=1)
    before = [shift(target, k, True, country) for k in offsets]
    there = add_business_days(target, n, country)
    back = add_business_days(there, -n, country)
    assert back == target
    assert [shift(back, k, True, country) for k in offsets] == before


@settings(max_examples=200, deadline=None)
@given(
    start=st.dates(min_value=date(2025, 1, 1), max_value=date(2029, 12, 31)),
    n=st.integers(-90, 90),
)
def test_business_days_between_inverts_adding(start: date, n: int) -> None:
    while not is_business_day(start):
        start += timedelta(days=1)
    assert business_days_between(start, add_business_days(start, n)) == n


def test_due_phrases() -> None:
    assert parse_due("10 business days before go-live") == Due(-10, True)
    assert parse_due("3 days after go-live") == Due(3, False)
    assert parse_due("on go-live") == Due(0, False)
    assert parse_due("5 working days after Legal review") == Due(5, True, "Legal review")
    for bad in ("soon", "10 business days before Legal review", "ten days before go-live"):
        with pytest.raises(ValueError):
            parse_due(bad)
    for due in (Due(-10, True), Due(3, False), Due(0, False), Due(2, True, "Kickoff")):
        assert parse_due(due.text()) == due


# --- templates as files ------------------------------------------------------------------


def test_builtin_templates_load_and_speak_the_buyers_language() -> None:
    names = builtin_names()
    assert names == ["enterprise", "onboarding", "quick-smb", "security-heavy"]
    smb = builtin("quick-smb")
    assert smb is not None and 5 <= smb.task_count <= 8
    enterprise = builtin("enterprise")
    assert enterprise is not None
    assert [m.title for m in enterprise.milestones] == [
        "Discovery",
        "Evaluation",
        "Security review",
        "Legal review",
        "Procurement",
        "Signature",
        "Kickoff",
        "Go-live",
    ]
    tasks = [t for m in enterprise.milestones for t in m.tasks]
    assert {t.owner for t in tasks} == {"buyer", "seller", "mutual"}
    assert any(t.internal for t in tasks)
    for name in names:
        t = builtin(name)
        assert t is not None and parse_template(to_yaml(t)) == t


def test_bad_template_files_give_line_numbered_errors() -> None:
    bad = """name: Bad Name
title: x
milestones:
  - title: Discovery
    tasks:
      - title: Call
        owner: customer
        due: whenever
      - owner: buyer
  - title: Legal
    tasks:
      - title: Review
        due: 3 days after Nowhere
        colour: red
"""
    with pytest.raises(TemplateError) as e:
        parse_template(bad)
    problems = "\n".join(e.value.problems)
    assert "line 1: name must be lowercase" in problems
    assert "line 7: owner must be buyer, seller or mutual" in problems
    assert "line 8: can't read due “whenever”" in problems
    assert "line 9: a task needs a title" in problems
    assert "line 13: “Nowhere” is not an earlier milestone" in problems
    assert "line 14: unknown task field “colour”" in problems
    with pytest.raises(TemplateError, match="line 3: not valid YAML"):
        parse_template("name: x\nmilestones: [unclosed\n")


def test_after_a_milestone_follows_that_milestones_last_date() -> None:
    t = builtin("security-heavy")
    assert t is not None
    laid = {x.title: x for x in lay_out(t, date(2027, 3, 1))}
    assert laid["Security sign-off"].offset_days == -33 + 3
    assert laid["Security sign-off"].due == add_business_days(date(2027, 3, 1), -30)


# --- templates in the database ---------------------------------------------------------


def _valid_card(db: Database) -> list[dict[str, object]]:
    with db.read() as s:
        plan = active_plan(s, "T_SELLER", "C1")
        assert plan is not None
        blocks = render_card(plan_view(s, plan, "buyer"), TODAY).blocks
    assert len(blocks) <= 50
    for b in blocks:
        parsed = Block.parse(b)
        assert parsed is not None
        parsed.validate_json()
    return blocks


@pytest.mark.parametrize("name", ["enterprise", "onboarding", "quick-smb", "security-heavy"])
def test_every_builtin_template_lays_out_a_valid_card(db: Database, name: str) -> None:
    with db.write() as s:
        laid = template_store.create_from_template(
            s, SELLER, "C1", f"Deal on {name}", name, date(2027, 6, 1), "America/New_York", TODAY
        )
        assert laid.past == []
    text = json.dumps(_valid_card(db))
    t = builtin(name)
    assert t is not None
    internal = [x.title for m in t.milestones for x in m.tasks if x.internal]
    assert not any(title in text for title in internal)


def test_a_date_in_the_past_is_flagged_not_moved(db: Database) -> None:
    with db.write() as s:
        laid = template_store.create_from_template(
            s, SELLER, "C1", "Late deal", "enterprise", TODAY + timedelta(days=20), "UTC", TODAY
        )
    assert laid.past, "an enterprise plan 20 days out has tasks due before today"
    with db.read() as s:
        for number, _title, due in laid.past:
            row = s.scalar(select(Task.due_date).where(Task.number == number))
            assert row == due < TODAY


def _structure(db: Database, channel: str) -> list[tuple[str, str, str, bool, date | None]]:
    with db.read() as s:
        plan = active_plan(s, "T_SELLER", channel)
        assert plan is not None
        view = plan_view(s, plan, "seller")
    return [
        (m.title, t.title, t.owner_side, t.internal, t.due_date)
        for m in view.milestones
        for t in m.tasks
    ]


def test_save_export_import_round_trips_a_plans_structure(db: Database) -> None:
    golive = date(2027, 6, 1)
    with db.write() as s:
        template_store.create_from_template(
            s, SELLER, "C1", "Original", "enterprise", golive, "UTC", TODAY
        )
        plan = active_plan(s, "T_SELLER", "C1")
        assert plan is not None
        # A task with a hand-set date and a new one without: both survive the trip.
        services.add_task(
            s, SELLER, plan, "Exec sponsor dinner", owner_side="mutual", due=date(2027, 5, 12)
        )
        services.add_task(s, SELLER, plan, "No date yet", internal=True)
    ours = Actor("U_SELLER", "seller", "T_SELLER")
    cmd = parse("template save ours", TODAY)
    assert isinstance(cmd, c.TemplateCommand)
    from commands.template_commands import run_template

    with db.write() as s:
        plan = active_plan(s, "T_SELLER", "C1")
        run_template(s, ours, plan, cmd, TODAY)
    # Export as a person sees it (fenced sections), and paste it all back in.
    from commands.handlers import Request, handle

    shown = handle(db, Request(actor=ours, channel_id="C1", text="template export ours")).message
    pasted = "\n".join(b["text"]["text"] for b in shown.blocks[1:])
    pasted = pasted.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    imported = parse(f"template import copy\n{pasted}", TODAY)
    assert isinstance(imported, c.TemplateCommand) and imported.yaml_text
    with db.write() as s:
        run_template(s, ours, None, imported, TODAY)
        template_store.create_from_template(s, SELLER, "C2", "Copy", "copy", golive, "UTC", TODAY)
    assert _structure(db, "C2") == _structure(db, "C1")


def test_bad_import_creates_nothing(db: Database) -> None:
    cmd = parse(
        "template import broken\nname: broken\nmilestones:\n  - title: A\n    tasks: 7\n", TODAY
    )
    assert isinstance(cmd, c.TemplateCommand)
    from commands.template_commands import run_template

    with pytest.raises(services.Invalid, match="line 4: tasks should be a list"), db.write() as s:
        run_template(s, SELLER, None, cmd, TODAY)
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(TeamTemplate)) == 0


def test_extend_carries_on_into_onboarding(db: Database) -> None:
    with db.write() as s:
        template_store.create_from_template(
            s, SELLER, "C1", "Deal", "quick-smb", date(2027, 6, 1), "UTC", TODAY
        )
        plan = active_plan(s, "T_SELLER", "C1")
        assert plan is not None
        before = len(plan_view(s, plan, "seller").milestones)
        template_store.apply_template(
            s, SELLER, plan, template_store.find_template(s, "T_SELLER", "onboarding"), TODAY
        )
        after = [m.title for m in plan_view(s, plan, "seller").milestones]
    assert len(after) == before + 4 and after[-1] == "Launch"


# --- end to end over HTTP --------------------------------------------------------------


def test_create_from_template_then_move_go_live_with_a_preview(h: Harness, db: Database) -> None:
    resp = h.command("create Monsters rollout from enterprise go-live 2027-06-01")
    assert "Laid out *22* tasks" in resp.body
    h.settle()
    assert "Discovery" in h.card_text()
    # Pin one date by hand: it must stay put.
    h.command("due #1 2027-03-01")
    with db.read() as s:
        dues = dict(s.execute(select(Task.number, Task.due_date)).all())
    resp = h.command("golive 2027-07-01")
    body = resp.json()
    assert "moves *21* tasks" in json.dumps(body)
    assert dues == dict(_dues(db)), "a preview changes nothing"
    apply = next(
        e
        for b in body["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == ids.GOLIVE_APPLY
    )
    # A buyer can't apply it; the seller can.
    h.click(ids.GOLIVE_APPLY, apply["value"], user="W0MIKE", user_team="T0MONSTERS")
    assert dues == dict(_dues(db))
    h.click(ids.GOLIVE_APPLY, apply["value"], user="U0LEX", user_team=SELLER_TEAM)
    after = dict(_dues(db))
    assert after[1] == date(2027, 3, 1), "the date set by hand stayed put"
    assert after[2] == add_business_days(dues[2], 22), "June→July: 22 business days later"
    h.settle()  # the announcement is an outbox row, sent after the click's ack
    (announcement,) = [m for m in h.local.messages(CHANNEL) if "moved the target go-live" in m.text]
    assert "Jul 1, 2027" in announcement.text
    assert "MEDDICC" not in announcement.text, "internal tasks stay out of the channel"


def _dues(db: Database) -> list[tuple[int, date | None]]:
    with db.read() as s:
        return [(n, d) for n, d in s.execute(select(Task.number, Task.due_date))]


def test_create_form_with_template_picker(h: Harness, db: Database) -> None:
    from bot.local_slack import payloads

    assert h.command("create", channel="C0NEW").status == 200
    (opened,) = h.local.calls_to("views.open")
    view = opened.result["view"]
    picker = next(b for b in view["blocks"] if b["block_id"] == ids.CREATE_TEMPLATE)
    assert {o["value"] for o in picker["element"]["options"]} >= {"-", "enterprise", "onboarding"}

    def submit(values: dict[str, object]) -> dict[str, object]:
        body = payloads.view_submission_body(
            user_id="U0LEX", user_team_id=SELLER_TEAM, team_id=SELLER_TEAM, view=view, values=values
        )
        resp = h.signed(body)
        assert resp.status == 200
        return resp.json() or {}

    empty = submit(
        {ids.CREATE_TITLE: {ids.CREATE_TITLE: {"type": "plain_text_input", "value": ""}}}
    )
    assert empty["response_action"] == "errors" and ids.CREATE_TITLE in empty["errors"]  # type: ignore[operator]
    with db.read() as s:
        assert active_plan(s, SELLER_TEAM, "C0NEW") is None
    option = next(o for o in picker["element"]["options"] if o["value"] == "quick-smb")
    done = submit(
        {
            ids.CREATE_TITLE: {ids.CREATE_TITLE: {"type": "plain_text_input", "value": "Globex"}},
            ids.CREATE_TEMPLATE: {
                ids.CREATE_TEMPLATE: {"type": "static_select", "selected_option": option}
            },
            ids.CREATE_GOLIVE: {
                ids.CREATE_GOLIVE: {"type": "datepicker", "selected_date": "2027-05-03"}
            },
        }
    )
    assert done == {}
    h.settle()
    with db.read() as s:
        plan = active_plan(s, SELLER_TEAM, "C0NEW")
        assert plan is not None and plan.target_date == date(2027, 5, 3)
        assert len(plan_view(s, plan, "seller").tasks) == 7
    assert "Globex" in h.card_text("C0NEW")
