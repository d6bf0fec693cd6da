"""The plan in Slack, end to end: signed HTTP requests into the real Bolt app,
Slack's Web API stood in on loopback, both databases."""

from __future__ import annotations

import json
import time
from pathlib import Path

import yaml
from sqlalchemy import func, select

from bot import ids
from storage.db import Database
from storage.models import Activity, Task
from tests.harness import CHANNEL, SELLER_TEAM, Harness

ROOT = Path(__file__).resolve().parent.parent

# Which bot scope each Web API method we call needs (docs.slack.dev method pages).
METHOD_SCOPES = {
    "auth.test": None,
    "chat.postMessage": "chat:write",
    "chat.update": "chat:write",
    "chat.delete": "chat:write",
    "chat.postEphemeral": "chat:write",
    "chat.getPermalink": None,
    "users.info": "users:read",
    "views.open": None,
    "views.update": None,
    "views.publish": None,
    "oauth.v2.access": None,  # bolt's OAuth flow: client id and secret, no token
    "conversations.members": "channels:read",
    "conversations.open": "im:write",
    "conversations.history": "channels:history",
    "files.getUploadURLExternal": "files:write",
    "files.completeUploadExternal": "files:write",
}


def _reply_text(resp_body: str) -> str:
    return json.dumps(json.loads(resp_body), ensure_ascii=False)


def _statuses(db: Database) -> dict[int, str]:
    with db.read() as s:
        return dict(s.execute(select(Task.number, Task.status)).all())  # type: ignore[arg-type]


def _setup_plan(h: Harness) -> None:
    assert h.command("create Scare Floor rollout go-live 2027-03-01").status == 200
    assert h.command("milestone add Security review").status == 200
    assert h.command("add Fill security questionnaire owner buyer <@W0MIKE|mike>").status == 200
    assert h.command("add Send SOC 2 report owner seller").status == 200
    assert h.command("add Discount approval internal").status == 200
    h.settle()


def test_healthz(h: Harness) -> None:
    resp = h.get("/healthz")
    assert (resp.status, resp.json()["database"]) == (200, "ok")
    assert h.get("/nope").status == 404


def test_create_add_buyer_completes_card_updates(h: Harness, db: Database) -> None:
    _setup_plan(h)
    card = h.card_text()
    assert "Scare Floor rollout" in card
    assert "Fill security questionnaire" in card and "Send SOC 2 report" in card
    assert "Discount approval" not in card, "internal tasks never reach the channel"
    updates_before = len(h.local.calls_to("chat.update"))

    value = h.button_value(ids.TASK_COMPLETE, 1)
    resp = h.click(ids.TASK_COMPLETE, value, user="W0MIKE", user_team="T0MONSTERS")
    assert resp.status == 200
    h.settle()
    assert _statuses(db)[1] == "completed"
    assert len(h.local.calls_to("chat.update")) > updates_before
    assert "~Fill security questionnaire~" in h.card_text()  # struck through: completed
    with db.read() as s:
        row = s.scalars(select(Activity).where(Activity.action == "task.status")).one()
    assert (row.actor_id, row.actor_side, row.before, row.after) == (
        "W0MIKE",
        "buyer",
        "not_started",
        "completed",
    )


def test_buyer_refused_on_seller_task(h: Harness, db: Database) -> None:
    _setup_plan(h)
    value = h.button_value(ids.TASK_COMPLETE, 2)
    before = _statuses(db)
    assert h.click(ids.TASK_COMPLETE, value, user="W0MIKE", user_team="T0MONSTERS").status == 200
    assert _statuses(db) == before
    (ephemeral,) = h.local.calls_to("chat.postEphemeral")
    assert ephemeral.params["user"] == "W0MIKE"
    assert "seller task" in ephemeral.params["text"]


def test_guest_of_the_seller_team_is_a_buyer(h: Harness, db: Database) -> None:
    _setup_plan(h)
    value = h.button_value(ids.TASK_COMPLETE, 2)
    h.click(ids.TASK_COMPLETE, value, user="U0GUEST", user_team=SELLER_TEAM)
    assert _statuses(db)[2] == "not_started"
    resp = h.command("golive 2027-04-01", user="U0GUEST")
    assert "Only the seller team" in _reply_text(resp.body)


def test_seller_completes_seller_task_and_reopens(h: Harness, db: Database) -> None:
    _setup_plan(h)
    h.click(
        ids.TASK_COMPLETE, h.button_value(ids.TASK_COMPLETE, 2), user="U0LEX", user_team=SELLER_TEAM
    )
    assert _statuses(db)[2] == "completed"
    h.settle()
    h.click(
        ids.TASK_REOPEN, h.button_value(ids.TASK_REOPEN, 2), user="U0LEX", user_team=SELLER_TEAM
    )
    assert _statuses(db)[2] == "not_started"


def test_forged_signature_and_stale_timestamp_are_refused(h: Harness, db: Database) -> None:
    from bot.local_slack import payloads

    body = payloads.slash_command_body(
        text="create Hacked", user_id="U0LEX", team_id=SELLER_TEAM, channel_id=CHANNEL
    )
    forged = payloads.signed_headers(body, "not-the-secret")
    assert h.post(body, forged).status == 401
    stale = payloads.signed_headers(
        body, "test-signing-secret", timestamp=int(time.time()) - 6 * 60
    )
    assert h.post(body, stale).status == 401
    unsigned = {"Content-Type": "application/x-www-form-urlencoded"}
    assert h.post(body, unsigned).status == 401
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(Activity)) == 0


def test_button_naming_another_channels_task_changes_nothing(h: Harness, db: Database) -> None:
    _setup_plan(h)
    h.local.add_channel("C0OTHER", "other-deal", shared=True)
    assert h.command("create Other deal", channel="C0OTHER").status == 200
    assert h.command("add Other buyer task owner buyer", channel="C0OTHER").status == 200
    h.settle()
    other_value = h.button_value(ids.TASK_COMPLETE, 1, channel="C0OTHER")
    before = _statuses(db)
    # Clicked in our deal channel, but the value names the other plan's task.
    h.click(ids.TASK_COMPLETE, other_value, user="U0LEX", user_team=SELLER_TEAM, channel=CHANNEL)
    # Same plan id as ours, with the other plan's task id: still refused.
    ours = h.button_value(ids.TASK_COMPLETE, 1)
    crafted = f"{ours.split(':')[0]}:{other_value.split(':')[1]}"
    h.click(ids.TASK_COMPLETE, crafted, user="U0LEX", user_team=SELLER_TEAM, channel=CHANNEL)
    h.click(ids.TASK_COMPLETE, "garbage", user="U0LEX", user_team=SELLER_TEAM)
    assert _statuses(db) == before
    refusals = [c.params["text"] for c in h.local.calls_to("chat.postEphemeral")]
    assert len(refusals) == 3 and all("no_entry" in t for t in refusals)


def test_internal_task_id_cannot_be_clicked_by_a_buyer(h: Harness, db: Database) -> None:
    _setup_plan(h)
    with db.read() as s:
        internal_id = s.scalar(select(Task.id).where(Task.internal.is_(True)))
    plan_id = h.button_value(ids.TASK_COMPLETE, 1).split(":")[0]
    h.click(ids.TASK_COMPLETE, f"{plan_id}:{internal_id}", user="W0MIKE", user_team="T0MONSTERS")
    assert _statuses(db)[3] == "not_started"


def test_channel_mention_in_a_title_is_escaped(h: Harness) -> None:
    _setup_plan(h)
    assert h.command("add <!channel> please read owner buyer").status == 200
    h.settle()
    card = h.card_text()
    assert "&lt;!channel&gt; please read" in card
    assert "<!channel>" not in card


def test_bad_input_gets_usage_and_changes_nothing(h: Harness, db: Database) -> None:
    _setup_plan(h)
    before = _statuses(db)
    for text in (
        "due #1 soonish",
        "frobnicate",
        "assign",
        "start #99",
        "milestone add",
        "golive yesterday-ish",
    ):
        resp = h.command(text)
        assert resp.status == 200, text
        body = resp.json()
        assert body["response_type"] == "ephemeral"
        assert "Usage" in _reply_text(resp.body) or "/map" in _reply_text(resp.body), text
    assert _statuses(db) == before


def test_no_plan_yet_says_how_to_start(h: Harness) -> None:
    resp = h.command("status")
    assert "create" in _reply_text(resp.body)
    assert h.local.calls_to("chat.postMessage") == []


def test_status_brings_the_card_to_the_bottom(h: Harness) -> None:
    _setup_plan(h)
    first = h.card()
    assert first is not None
    assert h.command("status").status == 200
    h.settle()
    second = h.card()
    assert second is not None and second["ts"] != first["ts"]
    assert [c.params["ts"] for c in h.local.calls_to("chat.delete")] == [first["ts"]]
    assert h.local.messages(CHANNEL)[-1].ts == second["ts"]


def test_mine_lists_my_tasks_with_buttons(h: Harness) -> None:
    _setup_plan(h)
    h.command("assign #2 <@U0LEX|lex>")
    body = _reply_text(h.command("mine").body)
    assert "Send SOC 2 report" in body and "task.complete" in body
    assert "Fill security questionnaire" not in body


def test_remove_asks_then_removes(h: Harness, db: Database) -> None:
    _setup_plan(h)
    resp = h.command("remove #2").json()
    assert "Remove" in json.dumps(resp) and 2 in _statuses(db)
    confirm = next(
        e
        for b in resp["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == ids.REMOVE_CONFIRM
    )
    h.click(ids.REMOVE_CONFIRM, confirm["value"], user="W0MIKE", user_team="T0MONSTERS")
    assert 2 in _statuses(db), "a buyer cannot remove tasks"
    h.click(ids.REMOVE_CONFIRM, confirm["value"], user="U0LEX", user_team=SELLER_TEAM)
    assert 2 not in _statuses(db)


def test_manifest_asks_for_every_scope_we_use(h: Harness) -> None:
    _setup_plan(h)
    h.click(
        ids.TASK_COMPLETE,
        h.button_value(ids.TASK_COMPLETE, 2),
        user="W0MIKE",
        user_team="T0MONSTERS",
    )
    h.command("status")
    h.settle()
    scopes = set(
        yaml.safe_load((ROOT / "manifest.yml").read_text())["oauth_config"]["scopes"]["bot"]
    )
    used = {c.method for c in h.local.calls}
    assert used <= set(METHOD_SCOPES), (
        f"add the new methods to METHOD_SCOPES: {used - set(METHOD_SCOPES)}"
    )
    needed = {METHOD_SCOPES[m] for m in used} - {None}
    assert needed <= scopes
