"""What a newcomer types on day one, through the real app over signed HTTP: `to
@person` assigns, each verb answers with its own usage, past and day-first dates
are read as meant and said, and a mentioned stranger is looked up before anyone
gives them a side."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from bot.render.blocks import SIDE_LABEL
from commands.usage import USAGE
from storage.db import Database
from storage.models import Milestone, Person, Task
from tests.conftest import FixedClock
from tests.harness import SELLER_TEAM, Harness

MONDAY = date(2026, 11, 23)  # the fixed clock's day, in the plan's zone too


def reply(h: Harness, text: str) -> str:
    resp = h.command(text)
    assert resp.status == 200, resp.body
    return json.dumps(resp.json(), ensure_ascii=False)


def task(db: Database, number: int) -> Task:
    with db.read() as s:
        found = s.scalar(select(Task).where(Task.number == number))
        assert found is not None, f"no task #{number}"
        s.expunge(found)
        return found


def start_plan(h: Harness) -> None:
    assert "Created" in reply(h, "create Scare Floor rollout go-live 2027-03-01")
    assert "Added" in reply(h, "milestone add Security review")


# --- `to @person` -----------------------------------------------------------------


@pytest.mark.parametrize("mention", ["<@W0MIKE|mike>", "<@W0MIKE>"])
def test_to_a_mention_assigns_as_the_readme_says(
    h: Harness, db: Database, fixed_clock: FixedClock, mention: str
) -> None:
    start_plan(h)
    said = reply(h, f"add Send pricing to {mention} owner seller due next friday")
    assert ":warning:" not in said and "Added #1 *Send pricing*, for <@W0MIKE>" in said
    added = task(db, 1)
    assert (added.title, added.assignee_id, added.owner_side) == (
        "Send pricing",
        "W0MIKE",
        "seller",
    )
    assert added.due_date == date(2026, 11, 27), "next friday from Monday the 23rd"
    # `to <milestone>` still names a milestone; a mention is never one.
    reply(h, "milestone add Legal review")
    reply(h, "add Pen test report to Legal review")
    with db.read() as s:
        where = dict(
            s.execute(
                select(Task.number, Milestone.title).join(
                    Milestone, Milestone.id == Task.milestone_id
                )
            ).all()
        )
    assert where == {1: "Security review", 2: "Legal review"}


# --- usage ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("verb", "topic"),
    [("start", "start"), ("done", "done"), ("complete", "done"), ("reopen", "reopen")],
)
def test_a_refused_status_change_shows_that_verbs_usage(h: Harness, verb: str, topic: str) -> None:
    start_plan(h)
    said = json.loads(h.command(f"{verb} #999").body)["text"]
    assert "no task #999" in said
    assert USAGE[topic] in said
    others = {"start", "done", "reopen"} - {topic}
    assert not any(USAGE[other] in said for other in others), "only its own usage"


# --- dates in the past ------------------------------------------------------------


def test_a_past_due_date_is_taken_with_a_warning(
    h: Harness, db: Database, fixed_clock: FixedClock
) -> None:
    start_plan(h)
    said = reply(h, "add Catch up on notes due 2026-11-02")
    assert task(db, 1).due_date == date(2026, 11, 2)
    assert "Nov 2 is in the past" in said
    said = reply(h, "due #1 yesterday")
    assert task(db, 1).due_date == date(2026, 11, 22) and "Nov 22 is in the past" in said
    said = reply(h, "milestone add Kickoff due 2026-10-01")
    assert "Oct 1 is in the past" in said
    for fine in ("due #1 today", "due #1 friday"):  # today and later: no warning
        assert "in the past" not in reply(h, fine)


# --- day first, month first -------------------------------------------------------


def test_dates_read_as_the_plans_country_writes_them(
    h: Harness, db: Database, fixed_clock: FixedClock
) -> None:
    start_plan(h)
    reply(h, "add Sign the order form")
    # No country: month first, and a day-first date is refused with what to say instead.
    said = reply(h, "due #1 31/12/2026")
    assert "isn't a real date read month first" in said and "/map country GB" in said
    assert task(db, 1).due_date is None
    said = reply(h, "due #1 03/04/2027")
    assert task(db, 1).due_date == date(2027, 3, 4)
    assert "read month first: 4 March 2027" in said and "`2027-03-04`" in said

    reply(h, "country GB")
    said = reply(h, "due #1 31/12/2026")
    assert task(db, 1).due_date == date(2026, 12, 31)
    assert "read" not in said.split("Dec 31")[-1], "31/12 can only be one day: nothing to say"
    said = reply(h, "due #1 03/04/2027")
    assert task(db, 1).due_date == date(2027, 4, 3)
    assert "read day first: 3 April 2027" in said
    said = reply(h, "add Kickoff call due 05/06/2027")
    assert task(db, 2).due_date == date(2027, 6, 5) and "read day first" in said
    reply(h, "due #1 2027-01-02")  # ISO is read the same everywhere
    assert task(db, 1).due_date == date(2027, 1, 2)

    reply(h, "country US")
    said = reply(h, "due #1 03/04/2027")
    assert task(db, 1).due_date == date(2027, 3, 4) and "read month first" in said


# --- a mentioned stranger ---------------------------------------------------------


def people_lines(h: Harness) -> list[str]:
    """The `/map people` modal's lines, one per person."""
    reply(h, "people")
    calls = h.local.calls_to("views.open")
    assert calls and calls[-1].ok
    view: dict[str, Any] = calls[-1].result["view"]
    h.local.wait_for_calls("views.update", 1)  # contact details, looked up after the ack
    return [
        line
        for block in view["blocks"]
        for line in json.dumps(block, ensure_ascii=False).split("\\n")
        if "<@" in line
    ]


def line_of(lines: list[str], user_id: str) -> str:
    (line,) = [x for x in lines if f"<@{user_id}>" in x]
    return line


def test_a_mentioned_stranger_is_looked_up_before_getting_a_side(h: Harness, db: Database) -> None:
    h.local.add_user("U0NEWREP", team_id=SELLER_TEAM, name="newrep")  # a colleague, not seen yet
    start_plan(h)
    looked_up = len(h.local.calls_to("users.info"))
    reply(h, "add Pricing approval owner buyer <@U0NEWREP>")
    asked = [c.params.get("user") for c in h.local.calls_to("users.info")[looked_up:]]
    assert "U0NEWREP" in asked, "users.info before the command's change"
    with db.read() as s:
        person = s.scalar(select(Person).where(Person.user_id == "U0NEWREP"))
        assert person is not None and person.home_team_id == SELLER_TEAM
    # Someone Slack doesn't know (users.info fails): buyer side, never seller.
    reply(h, "add Legal sign-off owner buyer")
    reply(h, "assign #2 <@W0GHOST>")
    assert "W0GHOST" in [c.params.get("user") for c in h.local.calls_to("users.info")]
    lines = people_lines(h)
    assert SIDE_LABEL["seller"] in line_of(lines, "U0NEWREP")
    ghost = line_of(lines, "W0GHOST")
    assert SIDE_LABEL["buyer"] in ghost and SIDE_LABEL["seller"] not in ghost


def test_a_failed_lookup_leaves_a_mention_on_the_buyer_side(h: Harness, db: Database) -> None:
    h.local.add_user("U0NEWREP", team_id=SELLER_TEAM, name="newrep")
    start_plan(h)
    h.local.fail_next("users.info", status=500, times=3)  # the call and both its retries
    said = reply(h, "add Pricing approval owner buyer <@U0NEWREP>")
    assert "Added #1" in said, "the change still goes through"
    assert SIDE_LABEL["seller"] not in line_of(people_lines(h), "U0NEWREP")
