"""MAP's Workflow Builder steps, end to end: `function_executed` events as Slack
sends them (with the execution's own `xwfp-` token), signed, into the real app;
each step ends with `functions.completeSuccess` (outputs checked against the
manifest by the stand-in) or `functions.completeError` with a clear error — and
refuses what the same person's click would be refused."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from bot import ids
from bot.local_slack.api import DEFAULT_TOKEN
from bot.local_slack.functions import Execution
from storage.db import Database
from storage.models import Plan, Task
from tests.harness import BUYER_TEAM, CHANNEL, SELLER_TEAM, Harness, running_app

LEX = "U0LEX"
MIKE = "W0MIKE"
OTHER = "C0OTHER"  # a channel of the seller team alone: no buyer is in it


@pytest.fixture
def w(db: Database) -> Iterator[Harness]:
    with running_app(db, settings={"public_url": "https://mapbot.example.com"}) as h:
        h.local.add_channel(OTHER, "internal-deal", members=["U0LEX", "U0MERCY"])
        yield h
        assert h.local.violations == []


def run(h: Harness, callback_id: str, **inputs: Any) -> Execution:
    """Workflow Builder reaching our step; the execution as it ended."""
    body = h.local.functions.executed_body(callback_id, inputs, SELLER_TEAM)
    assert h.signed(body, json_body=True).status == 200
    execution = h.local.functions.executions[json.loads(body)["event"]["function_execution_id"]]
    assert execution.state != "running", "the step neither completed nor failed"
    return execution


def ok(execution: Execution) -> dict[str, Any]:
    assert execution.state == "completed", execution.error
    return execution.outputs


def refused(execution: Execution, words: str) -> None:
    assert execution.state == "failed"
    assert words in execution.error, execution.error
    assert "&lt;" not in execution.error and "`" not in execution.error  # plain text


def plan(h: Harness, channel: str = CHANNEL) -> dict[str, Any]:
    return ok(run(h, ids.FN_CREATE_PLAN, user_id=LEX, channel_id=channel, title="Monsters rollout"))


def test_create_plan_from_a_template_gives_its_link(w: Harness, db: Database) -> None:
    out = ok(
        run(
            w,
            ids.FN_CREATE_PLAN,
            user_id=LEX,
            channel_id=CHANNEL,
            title="Monsters rollout",
            template="quick-smb",
            golive="2027-03-01",
        )
    )
    assert out["plan_url"] == f"https://mapbot.example.com/p/{out['plan_id']}"
    with db.read() as s:
        p = s.get(Plan, out["plan_id"])
        assert p is not None and p.title == "Monsters rollout" and p.channel_id == CHANNEL
        assert s.scalars(select(Task).where(Task.plan_id == p.id)).first() is not None
    w.settle()
    assert w.card() is not None  # the plan card is in the channel


def test_create_plan_is_refused_to_buyers_and_twice(w: Harness, db: Database) -> None:
    refused(
        run(w, ids.FN_CREATE_PLAN, user_id=MIKE, channel_id=CHANNEL, title="Mine"),
        "Only the seller team",
    )
    plan(w)
    refused(
        run(w, ids.FN_CREATE_PLAN, user_id=LEX, channel_id=CHANNEL, title="Again"),
        "already has a plan",
    )
    refused(
        run(w, ids.FN_CREATE_PLAN, user_id=LEX, channel_id=OTHER, title="T", template="nope"),
        "nope",
    )
    with db.read() as s:
        assert len(list(s.scalars(select(Plan)))) == 1


def test_add_task_as_a_click_would(w: Harness, db: Database) -> None:
    plan(w)
    out = ok(
        run(
            w,
            ids.FN_ADD_TASK,
            user_id=LEX,
            channel_id=CHANNEL,
            title="Send the <!channel> order form",
            side="seller",
            assignee="U0MERCY",
            due="2026-12-18",
        )
    )
    with db.read() as s:
        task = s.scalars(select(Task).where(Task.number == out["task_number"])).one()
        assert (task.title, task.owner_side, task.assignee_id, str(task.due_date)) == (
            "Send the <!channel> order form",
            "seller",
            "U0MERCY",
            "2026-12-18",
        )
    refused(
        run(w, ids.FN_ADD_TASK, user_id=MIKE, channel_id=CHANNEL, title="Buyer's own idea"),
        "seller",
    )
    refused(
        run(w, ids.FN_ADD_TASK, user_id=LEX, channel_id=CHANNEL, title="X", side="boss"), "side"
    )
    refused(run(w, ids.FN_ADD_TASK, user_id=LEX, channel_id=CHANNEL, title="X", due="soon"), "date")
    refused(run(w, ids.FN_ADD_TASK, user_id=LEX, channel_id=OTHER, title="X"), "no action plan")


def _tasks(h: Harness) -> dict[str, int]:
    assert h.command("add Fill security questionnaire owner buyer").status == 200
    assert h.command("add Send SOC 2 report owner seller").status == 200
    assert h.command("add Discount approval internal").status == 200
    return {"buyer": 1, "seller": 2, "internal": 3}


def test_complete_task_follows_the_sides(w: Harness, db: Database) -> None:
    plan(w)
    n = _tasks(w)
    refused(
        run(w, ids.FN_COMPLETE_TASK, user_id=MIKE, channel_id=CHANNEL, task_number=n["seller"]),
        "seller",
    )
    refused(  # an internal task does not exist for a buyer
        run(w, ids.FN_COMPLETE_TASK, user_id=MIKE, channel_id=CHANNEL, task_number=n["internal"]),
        "#3",
    )
    out = ok(run(w, ids.FN_COMPLETE_TASK, user_id=MIKE, channel_id=CHANNEL, task_number=n["buyer"]))
    assert out == {"task_title": "Fill security questionnaire"}
    ok(run(w, ids.FN_COMPLETE_TASK, user_id=LEX, channel_id=CHANNEL, task_number="2"))
    with db.read() as s:
        done = {t.number for t in s.scalars(select(Task).where(Task.status == "completed"))}
    assert done == {1, 2}
    for bad in ("x", 0, -1, 2**40, None):
        refused(
            run(w, ids.FN_COMPLETE_TASK, user_id=LEX, channel_id=CHANNEL, task_number=bad),
            "task number",
        )


def test_a_buyer_outside_the_channel_reaches_nothing(w: Harness, db: Database) -> None:
    plan(w, OTHER)
    ok(run(w, ids.FN_ADD_TASK, user_id=LEX, channel_id=OTHER, title="Ask for a PO", side="buyer"))
    refused(
        run(w, ids.FN_COMPLETE_TASK, user_id=MIKE, channel_id=OTHER, task_number=1),
        "no action plan",
    )
    refused(run(w, ids.FN_PLAN_STATUS, user_id=MIKE, channel_id=OTHER), "no action plan")


def test_plan_status_counts_only_what_the_asker_may_see(w: Harness, db: Database) -> None:
    plan(w)
    _tasks(w)
    assert w.command("golive 2027-03-01").status == 200
    assert w.command("done #3").status == 200  # the internal one
    seller = ok(run(w, ids.FN_PLAN_STATUS, user_id=LEX, channel_id=CHANNEL))
    buyer = ok(run(w, ids.FN_PLAN_STATUS, user_id=MIKE, channel_id=CHANNEL))
    assert seller["progress"] == 33 and buyer["progress"] == 0  # 1 of 3; 0 of the 2 it sees
    assert seller["target"] == buyer["target"] == "2027-03-01"
    assert buyer["next_step"].startswith("#1") and "Discount" not in json.dumps(buyer)
    assert seller["health"].split(":")[0] in ("On track", "At risk", "Stalled")  # in words


def test_malformed_inputs_fail_politely(w: Harness, db: Database) -> None:
    plan(w)
    refused(run(w, ids.FN_PLAN_STATUS, channel_id=CHANNEL), "user_id")
    refused(run(w, ids.FN_PLAN_STATUS, user_id="lex", channel_id=CHANNEL), "not a Slack user")
    refused(run(w, ids.FN_PLAN_STATUS, user_id=LEX, channel_id="#deal"), "channel")
    refused(run(w, ids.FN_PLAN_STATUS, user_id=LEX, channel_id=["C0DEAL"]), "text")
    refused(run(w, ids.FN_CREATE_PLAN, user_id=LEX, channel_id=OTHER, title="x" * 400), "longer")


def test_the_stand_in_checks_completions_as_slack_does(w: Harness) -> None:
    f = w.local.functions
    body = json.loads(f.executed_body(ids.FN_PLAN_STATUS, {}, SELLER_TEAM))
    execution = f.executions[body["event"]["function_execution_id"]]
    token = execution.token
    bad = w.local.call(
        "functions.completeSuccess",
        {"function_execution_id": execution.id, "outputs": json.dumps({"progress": "ten"})},
        token,
    )
    assert bad.result["error"] == "parameter_validation_failed"
    good = {"progress": 10, "next_step": "", "target": "", "health": ""}
    params = {"function_execution_id": execution.id, "outputs": json.dumps(good)}
    assert w.local.call("functions.completeSuccess", params, token).ok
    again = w.local.call("functions.completeSuccess", params, token)
    assert again.result["error"] in ("execution_not_in_running_state", "invalid_auth")
    assert not w.local.call("functions.completeError", {"function_execution_id": "Fx0"}, token).ok
    unknown = w.local.call(
        "functions.completeError", {"function_execution_id": "Fx404", "error": "x"}, DEFAULT_TOKEN
    )
    assert unknown.result["error"] == "function_execution_not_found"
    assert BUYER_TEAM  # (the buyer's team is never the host in these payloads)
