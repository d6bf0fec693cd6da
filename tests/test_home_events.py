"""App Home, and the workspace events (member joined, channel shared, user change,
uninstall), end to end: signed requests into the real app, the loopback Slack
stand-in, both databases."""

from __future__ import annotations

import copy
import json
import secrets
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import yaml
from sqlalchemy import event as sa_event
from sqlalchemy import select

from bot import ids
from bot.local_slack import payloads
from bot.render.blocks import VIEW_MAX_BLOCKS
from bot.render.home import render_home
from storage import services
from storage.collab_read import links_by_task
from storage.db import Database
from storage.home_readmodel import home_view
from storage.models import Activity, Person, Plan, Task
from storage.readmodel import active_plan
from storage.rules import Actor
from tests.conftest import FixedClock
from tests.fixtures import SLACK_PAYLOADS as SAMPLES
from tests.harness import BUYER_TEAM, CHANNEL, SELLER_TEAM, Harness, Response, running_app

ROOT = Path(__file__).resolve().parent.parent
OTHER = "C0OTHERDEAL"
LEX = Actor("U0LEX", "seller", SELLER_TEAM)


@pytest.fixture
def h(db: Database, fixed_clock: FixedClock) -> Iterator[Harness]:
    with running_app(db) as harness:
        harness.local.add_channel(OTHER, "other-deal", shared=True)
        yield harness
        assert harness.local.violations == [], "Slack would have refused something we sent"


# --- helpers -----------------------------------------------------------------


def send_event(h: Harness, event: dict[str, Any], *, team: str = SELLER_TEAM) -> Response:
    body = payloads.event_body(team_id=team, event=event, authorizations_team_id=SELLER_TEAM)
    resp = h.signed(body, json_body=True)
    assert resp.status == 200
    return resp


def open_home(h: Harness, user: str) -> dict[str, Any]:
    send_event(h, {"type": "app_home_opened", "user": user, "channel": "D0HOME", "tab": "home"})
    assert h.bot.deps.settle(10)
    view = h.local.home_view(user)
    assert view is not None, f"no Home published for {user}"
    return view


def home_click_body(
    h: Harness, view: dict[str, Any], action_id: str, value: str, *, user: str, user_team: str
) -> str:
    """A click on a button in the App Home tab: the container is the view, no channel."""
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": user_team},
        "api_app_id": payloads.API_APP_ID,
        "token": payloads.VERIFICATION_TOKEN,
        "container": {"type": "view", "view_id": view["id"]},
        "trigger_id": payloads.new_trigger_id(),
        "team": {"id": SELLER_TEAM, "domain": SELLER_TEAM.lower()},
        "view": view,
        "actions": [
            {"action_id": action_id, "block_id": "b", "value": value, "type": "button"},
        ],
    }
    return urlencode({"payload": json.dumps(payload)})


def buttons(view: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]]


def texts(view: dict[str, Any]) -> str:
    return json.dumps(view["blocks"], ensure_ascii=False)


def task_id(db: Database, channel: str, number: int) -> tuple[int, int]:
    with db.read() as s:
        plan = active_plan(s, SELLER_TEAM, channel)
        assert plan is not None
        tid = s.scalar(select(Task.id).where(Task.plan_id == plan.id, Task.number == number))
        assert tid is not None
        return plan.id, tid


def status_of(db: Database, tid: int) -> str:
    with db.read() as s:
        task = s.get(Task, tid)
        assert task is not None
        return task.status


def two_deals(h: Harness) -> None:
    """Monsters (C0DEAL) and Other (C0OTHERDEAL), with tasks for lex and mike."""
    for text in (
        "create Scare Floor rollout go-live 2027-03-01",
        "add Fill security questionnaire owner buyer <@W0MIKE|mike> due 2026-12-10",  # 1
        "add Send SOC 2 report owner seller <@U0LEX|lex> due 2026-12-01",  # 2
        "add Discount approval internal <@U0LEX|lex>",  # 3
        "add Order pizza owner seller <@U0MERCY|mercy>",  # 4
        "add Sign the NDA owner buyer <@W0MIKE|mike> due 2026-11-30",  # 5
    ):
        assert h.command(text).status == 200, text
    for text in (
        "create Other deal",
        "add Late security review owner seller <@U0LEX|lex> due 2026-11-20",  # 1: overdue
        "add Kickoff deck owner seller <@U0LEX|lex>",  # 2
        "add Other buyer thing owner buyer",  # 3
    ):
        assert h.command(text, channel=OTHER).status == 200, text
    h.settle()


# --- App Home ----------------------------------------------------------------


def test_seller_home_lists_open_tasks_overdue_first_grouped_by_deal(h: Harness) -> None:
    two_deals(h)
    view = open_home(h, "U0LEX")
    assert view["type"] == "home" and len(view["blocks"]) <= VIEW_MAX_BLOCKS
    body = texts(view)
    # The deal with an overdue task comes first, its overdue task first in it.
    deals = [
        b.get("block_id") for b in view["blocks"] if b.get("block_id", "").startswith("home.deal.")
    ]
    assert len(deals) == 2
    other_at, monsters_at = body.index("Other deal"), body.index("Scare Floor rollout")
    assert other_at < monsters_at
    assert body.index("Late security review") < body.index("Kickoff deck")
    assert "*overdue* since Nov 20" in body
    # Sellers see their internal tasks; not other people's, nor anyone's in other teams.
    assert "Discount approval" in body and "🔒 internal" in body
    assert "Order pizza" not in body and "Fill security questionnaire" not in body
    # The card's buttons, with the card's values.
    plan_id, soc2 = task_id(h.bot.deps.db, CHANNEL, 2)
    values = {(b["action_id"], b["value"]) for b in buttons(view)}
    assert (ids.TASK_COMPLETE, ids.task_value(plan_id, soc2)) in values
    # My plans, with progress.
    plans = [b for b in view["blocks"] if b.get("block_id", "").startswith(ids.BLOCK_HOME_PLANS)]
    plan_text = json.dumps(plans, ensure_ascii=False)
    assert "Scare Floor rollout" in plan_text and "Other deal" in plan_text
    assert "1 overdue" in plan_text
    # The same count as the card in the channel (which never shows internal tasks),
    # and the internal one counted apart, so the two agree and say why.
    assert "0 of 4 tasks done" in h.card_text()
    assert "0/4 done · + 1 internal (0 done)" in plan_text
    assert f"<#{CHANNEL}>" in plan_text, "Slack shows the channel's name, never its id"


def test_buyer_home_shows_only_what_is_theirs(h: Harness, db: Database) -> None:
    two_deals(h)
    # A crafted state: an internal task assigned to the buyer must still not show.
    with db.write() as s:
        plan = active_plan(s, SELLER_TEAM, CHANNEL)
        assert plan is not None
        services.add_task(s, LEX, plan, "Margin for Monsters Inc", internal=True)
        secret = s.scalars(select(Task).where(Task.internal.is_(True))).all()
        for t in secret:
            t.assignee_id = "W0MIKE"
        seller_task = s.scalar(select(Task).where(Task.plan_id == plan.id, Task.number == 2))
        assert seller_task is not None
        seller_task.assignee_id = "W0MIKE"
    view = open_home(h, "W0MIKE")
    body = texts(view)
    assert "Fill security questionnaire" in body and "Sign the NDA" in body
    assert "Margin for Monsters" not in body and "Discount approval" not in body
    assert "internal" not in body
    assert "Other deal" not in body, "a deal with nothing of theirs is not listed"
    # Buyer tasks carry buttons; the seller task assigned to them shows without any.
    _, soc2 = task_id(db, CHANNEL, 2)
    assert "Send SOC 2 report" in body
    assert all(not b["value"].endswith(f":{soc2}") for b in buttons(view))
    plans = json.dumps(
        [b for b in view["blocks"] if b.get("block_id", "").startswith("home.plans")]
    )
    assert "0/4 done" in plans, "progress counts only what the buyer may see (no internal)"


def test_complete_from_home_changes_task_card_and_homes(h: Harness, db: Database) -> None:
    two_deals(h)
    view = open_home(h, "W0MIKE")
    plan_id, nda = task_id(db, CHANNEL, 5)
    updates = len(h.local.calls_to("chat.update"))
    body = home_click_body(
        h,
        view,
        ids.TASK_COMPLETE,
        ids.task_value(plan_id, nda),
        user="W0MIKE",
        user_team=BUYER_TEAM,
    )
    assert h.signed(body).status == 200
    h.settle()
    assert h.bot.deps.settle(10)
    assert status_of(db, nda) == "completed"
    assert len(h.local.calls_to("chat.update")) > updates
    assert "~Sign the NDA~" in h.card_text()
    after = h.local.home_view("W0MIKE")
    assert after is not None and "Sign the NDA" not in texts(after)
    assert "Fill security questionnaire" in texts(after)


def test_card_click_refreshes_the_assignee_and_the_clicker(h: Harness, db: Database) -> None:
    two_deals(h)
    assert h.bot.deps.settle(10)
    before = len(h.local.calls_to("views.publish"))
    value = h.button_value(ids.TASK_COMPLETE, 1)  # mike's task, completed by lex
    h.click(ids.TASK_COMPLETE, value, user="U0LEX", user_team=SELLER_TEAM)
    h.settle()
    assert h.bot.deps.settle(10)
    published = {c.params["user_id"] for c in h.local.calls_to("views.publish")[before:]}
    assert {"W0MIKE", "U0LEX"} <= published
    mike = h.local.home_view("W0MIKE")
    assert mike is not None and "Fill security questionnaire" not in texts(mike)


def test_refused_home_clicks_change_nothing_and_say_why(h: Harness, db: Database) -> None:
    two_deals(h)
    view = open_home(h, "W0MIKE")
    plan_id, internal = task_id(db, CHANNEL, 3)
    other_plan, other_task = task_id(db, OTHER, 3)
    for value in (
        ids.task_value(plan_id, internal),  # internal: buyers never reach it
        f"{plan_id}:{other_task}",  # another plan's task under this plan's id
        ids.task_value(other_plan, other_task) + "x",  # garbage
    ):
        body = home_click_body(
            h, view, ids.TASK_COMPLETE, value, user="W0MIKE", user_team=BUYER_TEAM
        )
        assert h.signed(body).status == 200
    assert h.bot.deps.settle(10)
    assert status_of(db, internal) == "not_started"
    assert status_of(db, other_task) == "not_started"
    notice = h.local.home_view("W0MIKE")
    assert notice is not None and ":no_entry:" in texts(notice)
    assert "Discount approval" not in texts(notice)


def test_home_stays_within_100_blocks(db: Database, fixed_clock: FixedClock) -> None:
    with db.write() as s:
        for p in range(70):
            plan = services.create_plan(s, LEX, f"C{p:04d}", f"Deal {p} <!channel>")
            for n in range(5):
                services.add_task(
                    s, LEX, plan, f"Task {n}", assignee_id="U0LEX", due=date(2026, 11, 1 + n)
                )
    with db.read() as s:
        home = home_view(s, SELLER_TEAM, "U0LEX", "seller", date(2026, 11, 23))
    assert home.open_count == 350 and len(home.plans) == 70
    view = render_home(home, notice=":no_entry: something")
    assert len(view["blocks"]) <= VIEW_MAX_BLOCKS
    body = texts(view)
    shown = sum(1 for b in buttons(view) if b["action_id"] == ids.TASK_COMPLETE)
    assert f"+ {350 - shown} more open tasks" in body
    assert "+ 10 more plans" in body
    assert "<!channel>" not in body and "&lt;!channel&gt;" in body


def test_home_read_model_costs_a_fixed_number_of_queries(
    db: Database, fixed_clock: FixedClock
) -> None:
    def queries_for_home() -> int:
        count = 0

        def counter(*_: Any) -> None:
            nonlocal count
            count += 1

        sa_event.listen(db.engine, "before_cursor_execute", counter)
        try:
            with db.read() as s:
                home_view(s, SELLER_TEAM, "U0LEX", "seller", date(2026, 11, 23))
        finally:
            sa_event.remove(db.engine, "before_cursor_execute", counter)
        return count

    with db.write() as s:
        plan = services.create_plan(s, LEX, "C0001", "First")
        services.add_task(s, LEX, plan, "One", assignee_id="U0LEX")
    small = queries_for_home()
    with db.write() as s:
        for p in range(2, 30):
            plan = services.create_plan(s, LEX, f"C{p:04d}", f"Deal {p}")
            for n in range(5):
                services.add_task(s, LEX, plan, f"Task {n}", assignee_id="U0LEX")
    assert queries_for_home() == small <= 4


# --- events ------------------------------------------------------------------


def _connect_sample(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SAMPLES / name).read_text())
    return data


def test_newcomer_gets_a_welcome_with_the_card_link(h: Harness) -> None:
    two_deals(h)
    card = h.card()
    assert card is not None
    # Slack's own Slack Connect sample, with our ids: the joiner's team is the source.
    sample = copy.deepcopy(_connect_sample("connect-join_event-member_joined_channel.json"))
    sample["team_id"] = BUYER_TEAM
    sample["authorizations"][0].update(team_id=SELLER_TEAM, enterprise_id=None)
    sample["enterprise_id"] = None
    sample["event"].update(user="W0SULLEY", channel=CHANNEL, team=SELLER_TEAM, inviter="U0LEX")
    sample["event_id"] = f"Ev{secrets.token_hex(4)}"
    body = json.dumps({k: v for k, v in sample.items() if v is not None})
    assert h.signed(body, json_body=True).status == 200
    assert h.local.wait_for(lambda: bool(h.local.ephemerals(CHANNEL, "W0SULLEY")))
    (welcome,) = h.local.ephemerals(CHANNEL, "W0SULLEY")
    permalink = f"https://{SELLER_TEAM.lower()}.slack.com/archives/{CHANNEL}/p"
    assert permalink + card["ts"].replace(".", "") in welcome.text
    assert "Scare Floor rollout" in welcome.text


def test_no_welcome_for_the_bot_nor_in_a_channel_without_plan(h: Harness) -> None:
    two_deals(h)
    h.local.add_channel("C0EMPTY", "empty", shared=True)
    send_event(h, {"type": "member_joined_channel", "user": "U0MAPBOT", "channel": CHANNEL})
    send_event(h, {"type": "member_joined_channel", "user": "W0SULLEY", "channel": "C0EMPTY"})
    # A later welcome proves the first two were handled (lazy listeners run in order of arrival).
    send_event(h, {"type": "member_joined_channel", "user": "U0MERCY", "channel": OTHER})
    assert h.local.wait_for(lambda: bool(h.local.ephemerals(OTHER, "U0MERCY")))
    assert h.local.ephemerals(CHANNEL) == [] and h.local.ephemerals("C0EMPTY") == []


def test_channel_shared_and_unshared_are_recorded_on_the_plan(h: Harness, db: Database) -> None:
    two_deals(h)
    shared = {"type": "channel_shared", "connected_team_id": BUYER_TEAM, "channel": CHANNEL}
    send_event(h, shared)
    send_event(h, shared)  # Slack may deliver twice
    with db.read() as s:
        plan = active_plan(s, SELLER_TEAM, CHANNEL)
        assert plan is not None and plan.connected_teams == BUYER_TEAM
    unshared = {
        "type": "channel_unshared",
        "previously_connected_team_id": BUYER_TEAM,
        "channel": CHANNEL,
        "is_ext_shared": False,
    }
    send_event(h, unshared)
    send_event(h, {**shared, "channel": "C0NOPLAN"})
    with db.read() as s:
        plan = active_plan(s, SELLER_TEAM, CHANNEL)
        assert plan is not None and plan.connected_teams == ""
        rows = s.execute(
            select(Activity.action, Activity.actor_id, Activity.before, Activity.after)
            .where(Activity.action.in_(("plan.shared", "plan.unshared")))
            .order_by(Activity.id)
        ).all()
    assert [tuple(r) for r in rows] == [
        ("plan.shared", services.SLACK_SYSTEM_USER, None, BUYER_TEAM),
        ("plan.unshared", services.SLACK_SYSTEM_USER, BUYER_TEAM, None),
    ]


def test_user_change_keeps_time_zones_current(h: Harness, db: Database) -> None:
    two_deals(h)
    # Let background Home refreshes (which may look lex up in users.info) finish first.
    assert h.bot.deps.settle(10)
    with db.write() as s:  # lex is someone we know
        services.upsert_person(
            s, SELLER_TEAM, "U0LEX", home_team_id=SELLER_TEAM, name="lex", tz=None, is_guest=False
        )
    user = {
        "id": "U0LEX",
        "team_id": SELLER_TEAM,
        "name": "lex",
        "real_name": "Lex",
        "tz": "Europe/Lisbon",
        "profile": {"display_name": "lex"},
    }
    send_event(h, {"type": "user_change", "user": user})
    stranger = {**user, "id": "U0STRANGER", "name": "stranger"}
    send_event(h, {"type": "user_change", "user": stranger})
    with db.read() as s:
        tz = dict(s.execute(select(Person.user_id, Person.tz)).all())
    assert tz["U0LEX"] == "Europe/Lisbon"
    assert "U0STRANGER" not in tz, "people we have never seen are not stored"


@pytest.mark.parametrize("sample", ["app_uninstalled", "tokens_revoked"])
def test_uninstall_stops_sending_and_keeps_the_data(h: Harness, db: Database, sample: str) -> None:
    two_deals(h)
    assert h.bot.deps.settle(10)
    body = _connect_sample(f"connect-{sample}-{sample}.json")
    body.update(team_id=SELLER_TEAM, enterprise_id=None)
    body["authorizations"][0].update(team_id=SELLER_TEAM, enterprise_id=None)
    assert h.signed(json.dumps(body), json_body=True).status == 200
    assert h.bot.deps.workspaces.client_for(SELLER_TEAM) is None
    calls = len(h.local.calls)
    with db.read() as s:
        plan = active_plan(s, SELLER_TEAM, CHANNEL)
        assert plan is not None
    h.bot.deps.publisher.refresh(SELLER_TEAM, plan.id)
    h.bot.deps.home.refresh_user(SELLER_TEAM, "U0LEX")
    h.settle()
    assert h.bot.deps.settle(10)
    assert len(h.local.calls) == calls, "nothing more is sent to that workspace"
    with db.read() as s:
        assert s.scalar(select(Plan.id).where(Plan.team_id == SELLER_TEAM)) is not None
        assert len(s.scalars(select(Task)).all()) == 8
    assert h.card() is not None, "the card already in the channel stays"


# --- manifest ------------------------------------------------------------------


def test_manifest_subscribes_to_our_events_and_shortcut() -> None:
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text())
    events = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    assert {
        "app_home_opened",
        "member_joined_channel",
        "channel_shared",
        "channel_unshared",
        "user_change",
        "app_uninstalled",
        "tokens_revoked",
    } <= events
    assert manifest["settings"]["event_subscriptions"]["request_url"].endswith("/slack/events")
    (shortcut,) = manifest["features"]["shortcuts"]
    assert (shortcut["type"], shortcut["callback_id"]) == (
        "message",
        ids.SHORTCUT_ADD_FROM_MESSAGE,
    )
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True


# --- message shortcut ----------------------------------------------------------


def shortcut(h: Harness, message: dict[str, Any], *, user: str, channel: str = CHANNEL) -> None:
    body = payloads.message_shortcut_body(
        user_id=user,
        user_team_id=SELLER_TEAM if user.startswith("U") else BUYER_TEAM,
        team_id=SELLER_TEAM,
        channel_id=channel,
        message=message,
        callback_id=ids.SHORTCUT_ADD_FROM_MESSAGE,
        response_url=h.local.response_url(channel, user),
    )
    assert h.signed(body).status == 200


def someone_says(h: Harness, text: str, channel: str = CHANNEL) -> dict[str, Any]:
    """A message in the channel, as the stand-in holds it (Slack would have it too)."""
    call = h.local.call("chat.postMessage", {"channel": channel, "text": text}, "xoxb-someone")
    message: dict[str, Any] = call.result["message"]
    return message


def submitted_as_shown(view: dict[str, Any]) -> dict[str, Any]:
    """`state.values` of a modal submitted with its prefilled values unchanged."""
    values: dict[str, Any] = {}
    for block in view["blocks"]:
        element = block.get("element") or {}
        if block["type"] != "input":
            continue
        kind, action = element["type"], element["action_id"]
        if kind == "plain_text_input":
            state = {"type": kind, "value": element.get("initial_value")}
        elif kind == "static_select":
            state = {"type": kind, "selected_option": element.get("initial_option")}
        elif kind == "checkboxes":
            state = {"type": kind, "selected_options": element.get("initial_options") or []}
        elif kind == "datepicker":
            state = {"type": kind, "selected_date": element.get("initial_date")}
        elif kind == "users_select":
            state = {"type": kind, "selected_user": element.get("initial_user")}
        else:
            state = {"type": kind, "value": element.get("initial_value")}
        values[block["block_id"]] = {action: state}
    return values


def test_title_from_message_reads_slack_markup() -> None:
    from bot.listeners.shortcuts import title_from_message

    text = (
        "\n  <@U0LEX|lex> can you send <https://x.example/soc2|the SOC 2> to <#C0DEAL|deal>"
        " &amp; <!here> by Friday?\nsecond line"
    )
    assert title_from_message(text) == ("@lex can you send the SOC 2 to #deal & @here by Friday?")
    assert title_from_message("") == ""
    assert len(title_from_message("word " * 200)) <= 150


def test_shortcut_opens_a_prefilled_task_modal_that_adds_the_task(h: Harness, db: Database) -> None:
    two_deals(h)
    message = someone_says(h, "Please send the <https://x.example/msa|MSA> redlines\nthanks")
    shortcut(h, message, user="U0LEX")
    (opened,) = h.local.calls_to("views.open")
    view = opened.result["view"]
    assert view["callback_id"] == ids.VIEW_TASK
    values = submitted_as_shown(view)
    assert values[ids.F_TITLE][ids.F_TITLE]["value"] == "Please send the MSA redlines"
    permalink = f"https://{SELLER_TEAM.lower()}.slack.com/archives/{CHANNEL}/p"
    links = values[ids.F_LINKS][ids.F_LINKS]["value"]
    assert links.startswith(permalink + message["ts"].replace(".", ""))
    # Submitting the prefilled form adds the task, with its link back to the message.
    body = payloads.view_submission_body(
        user_id="U0LEX", user_team_id=SELLER_TEAM, team_id=SELLER_TEAM, view=view, values=values
    )
    resp = h.signed(body)
    assert resp.status == 200 and "errors" not in resp.body
    h.settle()
    with db.read() as s:
        task = s.scalar(select(Task).where(Task.title == "Please send the MSA redlines"))
        assert task is not None
        (link,) = links_by_task(s, task.plan_id, [task.id])[task.id]
    assert link[0].startswith(permalink)


def test_shortcut_refuses_politely_without_a_plan_or_for_buyers(h: Harness) -> None:
    two_deals(h)
    h.local.add_channel("C0EMPTY", "empty", shared=True)
    shortcut(h, someone_says(h, "no plan here", "C0EMPTY"), user="U0LEX", channel="C0EMPTY")
    shortcut(h, someone_says(h, "a guest tries"), user="U0GUEST")
    assert h.local.calls_to("views.open") == []
    (no_plan,) = h.local.ephemerals("C0EMPTY", "U0LEX")
    assert "no action plan" in no_plan.text
    (guest,) = h.local.ephemerals(CHANNEL, "U0GUEST")
    assert "Only the seller team" in guest.text
    assert [m.text for m in h.local.messages("C0EMPTY")] == ["no plan here"], "nothing public"


def test_a_private_channel_shared_gets_a_new_id_and_keeps_its_plan(
    h: Harness, db: Database
) -> None:
    """Sharing a private channel through Slack Connect changes its id for good
    (`channel_id_changed`): the plan, its card and what is queued for the channel
    move to the new id; the card is still updated where it now is."""
    from reminders.delivery import refreshes
    from storage.models import Outbox

    assert h.command("create Rollout go-live 2027-03-01").status == 200
    h.settle()
    new = "C0NEWID"
    h.local.add_channel(new, "monsters-deal", shared=True)
    # Slack moves the channel's messages with it.
    h.local._messages[new] = h.local._messages.pop(CHANNEL)
    event = {"type": "channel_id_changed", "old_channel_id": CHANNEL, "new_channel_id": new}
    send_event(h, event)
    send_event(h, event)  # Slack may deliver an event twice
    with db.read() as s:
        plan = active_plan(s, SELLER_TEAM, new)
        assert plan is not None and active_plan(s, SELLER_TEAM, CHANNEL) is None
        assert plan.card_channel == new
        moved = s.scalars(
            select(Activity.after).where(Activity.action == "plan.channel_moved")
        ).all()
        stale = s.scalars(
            select(Outbox.id).where(
                Outbox.recipient == CHANNEL, Outbox.kind.not_in(refreshes.KINDS)
            )
        ).all()
    assert moved == [new] and stale == []
    reply = h.command("status", channel=new)
    assert reply.status == 200 and "no_entry" not in reply.body
    h.settle()
    assert h.card(new) is not None, "the card is found under the new id"
