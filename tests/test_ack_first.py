"""Nothing before the ack: every request is answered before the app waits on Slack.

- Frozen Slack: the stand-in holds every Web API (and response URL) answer; every
  slash verb, block action, shortcut and view submission the app registers is
  still answered over HTTP, and once Slack answers again the work is done. A
  listener that called Slack before its ack would hang here until the thaw.
- users.info answering after 5 s: someone new is answered at once, and a guest
  of the seller team whose lookup is slow is buyer side (fail closed).
- A workspace that never installed the app (OAuth): a short message, never a
  500, and nothing sent anywhere; its events are acknowledged and ignored.
"""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Iterator
from datetime import date
from typing import Any
from urllib.parse import parse_qs, urlencode

import pytest
from slack_bolt import BoltRequest, BoltResponse
from sqlalchemy import select

from bot import identity, ids
from bot.installed import NOT_INSTALLED
from bot.local_slack import payloads
from reminders.delivery.outgoing import ANNOUNCEMENT, COMMENT, WELCOME
from storage.db import Database
from storage.models import Comment, Milestone, Outbox, Plan, Task
from tests.harness import BUYER_TEAM, CHANNEL, SECRET, SELLER_TEAM, Harness, Response
from tests.test_modals import button, last_view, menu, setup_plan, state_of
from tests.test_oauth_isolation import TEAM_A, TEAM_B, install, multi_workspace_app

SELLER = ("U0LEX", SELLER_TEAM)
BUYER = ("W0MIKE", BUYER_TEAM)
EMPTY = "C0EMPTY"
ANSWER_WITHIN = 5.0  # seconds: a request held by a frozen Slack never answers at all


def send(h: Harness, body: str, *, json_body: bool = False) -> tuple[Response, float]:
    """Signed and posted as Slack would; the answer and its round trip in seconds.
    Unlike `h.signed` nothing waits for the work after the ack."""
    headers = payloads.signed_headers(body, SECRET, json_body=json_body)
    conn = http.client.HTTPConnection("127.0.0.1", h.port, timeout=ANSWER_WITHIN)
    started = time.monotonic()
    try:
        conn.request("POST", "/slack/events", body=body.encode(), headers=headers)
        resp = conn.getresponse()
        answer = Response(resp.status, resp.read().decode())
    finally:
        conn.close()
    return answer, time.monotonic() - started


def command_body(
    h: Harness, text: str, who: tuple[str, str] = SELLER, channel: str = CHANNEL
) -> str:
    return payloads.slash_command_body(
        text=text,
        user_id=who[0],
        team_id=SELLER_TEAM,
        channel_id=channel,
        response_url=h.local.response_url(channel, who[0]),
    )


def submission_body(view: dict[str, Any], values: dict[str, Any], who: tuple[str, str]) -> str:
    return payloads.view_submission_body(
        user_id=who[0],
        user_team_id=who[1],
        team_id=who[1],
        view={k: v for k, v in view.items() if k not in ("state", "app_installed_team_id")},
        values=values,
        app_installed_team_id=SELLER_TEAM,
    )


def in_view(raw: str, view: dict[str, Any]) -> str:
    payload = json.loads(parse_qs(raw)["payload"][0])
    payload["container"] = {"type": "view", "view_id": view["id"]}
    payload["view"] = view
    for key in ("channel", "message"):
        payload.pop(key, None)
    return urlencode({"payload": json.dumps(payload)})


def ids_of(db: Database) -> tuple[int, dict[int, int]]:
    with db.read() as s:
        plan = s.scalar(select(Plan).where(Plan.channel_id == CHANNEL, Plan.archived.is_(False)))
        assert plan is not None
        tasks = {t.number: t.id for t in s.scalars(select(Task).where(Task.plan_id == plan.id))}
        return plan.id, tasks


def statuses(db: Database) -> dict[int, str]:
    with db.read() as s:
        return {t.number: t.status for t in s.scalars(select(Task))}


def sent_rows(db: Database, kind: str) -> list[Outbox]:
    with db.read() as s:
        return list(s.scalars(select(Outbox).where(Outbox.kind == kind, Outbox.state == "sent")))


# --- frozen Slack ---------------------------------------------------------------------


def _views_to_submit(h: Harness, db: Database) -> dict[str, dict[str, Any]]:
    """Every kind of modal, opened the ordinary way before Slack freezes."""
    plan_id, tasks = ids_of(db)
    opened: dict[str, dict[str, Any]] = {}
    h.signed(h.card_click_body(menu(h, "edit", 1), SELLER))
    opened["task"] = last_view(h)
    h.signed(h.card_click_body(menu(h, "comment", 1), BUYER))
    opened["comment"] = last_view(h)
    h.signed(h.card_click_body(button(ids.PLAN_ADD_MILESTONE, str(plan_id)), SELLER))
    opened["milestone"] = last_view(h)
    h.command("overview")
    opened["overview"] = last_view(h)
    h.command("people")
    opened["people"] = last_view(h)
    h.command("create", channel=EMPTY)
    opened["create"] = last_view(h)
    assert len(tasks) >= 3
    return opened


def _every_request(h: Harness, db: Database, views: dict[str, dict[str, Any]]) -> list[str]:
    """(body) for every slash verb, block action, shortcut and submission."""
    plan_id, tasks = ids_of(db)
    bodies: list[str] = []
    verbs = {
        "help": "help",
        "create": "create Second plan go-live 2027-04-01",  # refused: the channel has one
        "status": "status",
        "mine": "mine",
        "milestone": "milestone add Legal review",
        "add": "add Countersign the order form owner buyer",
        "assign": "assign #2 <@U0NEWREP|newrep>",  # someone never looked up: after the ack
        "start": "start #2",
        "done": "done #1",
        "reopen": "reopen #1",
        "due": "due #2 2027-01-15",
        "golive": "golive 2027-03-08",
        "template": "template list",
        "extend": "extend nonexistent",
        "remind": "remind",
        "mute": "mute digests",
        "unmute": "unmute digests",
        "country": "country US",
        "move": "move #2 to Security review",
        "rename": "rename #2 to Send the SOC 2 Type II report",
        "remove": "remove #3",
        "overview": "overview",
        "people": "people",
    }
    from commands.usage import usage_for

    for verb, text in verbs.items():
        assert usage_for(verb), verb
        bodies.append(command_body(h, text))
    bodies.append(command_body(h, "create", channel=EMPTY))  # the create form
    bodies.append(command_body(h, "status", who=("U0NEWBIE", SELLER_TEAM)))  # never seen
    task = ids.task_value(plan_id, tasks[1])
    for action_id in ids.TASK_ACTIONS:
        bodies.append(h.card_click_body(button(action_id, task), BUYER))
    bodies.append(h.card_click_body(button(ids.TASK_START, task), ("W0NEWBUYER", BUYER_TEAM)))
    golive = ids.golive_value(plan_id, date(2027, 3, 15))
    bodies.append(h.card_click_body(button(ids.GOLIVE_APPLY, golive), SELLER))
    bodies.append(h.card_click_body(button(ids.GOLIVE_CANCEL, golive), SELLER))
    remove = f"{plan_id}:task:{tasks[3]}"
    bodies.append(h.card_click_body(button(ids.REMOVE_CONFIRM, remove), SELLER))
    bodies.append(h.card_click_body(button(ids.REMOVE_CANCEL, remove), SELLER))
    for action_id, value in (
        (ids.PLAN_ADD_TASK, str(plan_id)),
        (ids.PLAN_FULL, str(plan_id)),
        (ids.PLAN_ADD_MILESTONE, str(plan_id)),
    ):
        bodies.append(h.card_click_body(button(action_id, value), SELLER))
    full = views["task"]  # any open modal: paging happens inside one
    page = h.card_click_body(button(ids.PLAN_PAGE, f"{plan_id}:1"), SELLER)
    bodies.append(in_view(page, full))
    with db.read() as s:
        milestone = s.scalars(select(Milestone).where(Milestone.plan_id == plan_id)).first()
        assert milestone is not None
    edit = button(ids.MILESTONE_EDIT, f"{plan_id}:{milestone.id}")
    bodies.append(h.card_click_body(edit, SELLER))
    bodies.append(h.card_click_body(menu(h, "due", 2), SELLER))
    bodies.append(h.card_click_body(button(ids.NUDGE_DONE, task), BUYER))
    snooze = button(ids.NUDGE_SNOOZE, f"{tasks[2]}:1")
    bodies.append(h.card_click_body(snooze, SELLER))
    card = h.card()
    assert card is not None
    bodies.append(
        payloads.message_shortcut_body(
            callback_id=ids.SHORTCUT_ADD_FROM_MESSAGE,
            user_id=SELLER[0],
            user_team_id=SELLER_TEAM,
            team_id=SELLER_TEAM,
            channel_id=CHANNEL,
            message={"ts": card["ts"], "text": "Please send the DPA by Friday"},
            response_url=h.local.response_url(CHANNEL, SELLER[0]),
        )
    )
    submissions = {
        "task": (state_of(views["task"], f_title="Fill the questionnaire"), SELLER),
        "comment": (state_of(views["comment"], f_comment="Sent it this morning"), BUYER),
        "milestone": (state_of(views["milestone"], f_ms_title="Procurement"), SELLER),
        "overview": (state_of(views["overview"], f_target="2027-03-22"), SELLER),
        "people": (state_of(views["people"], f_person="W0SULLEY", f_role="Champion"), SELLER),
        "create": (
            state_of(views["create"], create_title="Empty room deal", create_golive="2027-05-03"),
            SELLER,
        ),
    }
    for kind, (values, who) in submissions.items():
        bodies.append(submission_body(views[kind], values, who))
    return bodies + _feature_requests(h, plan_id, tasks[1])


def _feature_requests(h: Harness, plan_id: int, task_id: int) -> list[str]:
    """Drafting (notes form, review, its fields, the shortcut), a plan link's
    Complete button and the pipeline's CSV button."""
    from tests.test_fuzz_payloads import drafting_bases

    bodies = []
    for base in drafting_bases(h, plan_id, task_id):
        if base.name == ids.VIEW_DRAFT_WORKING:  # no submit button: nothing listens
            continue
        bodies.append(urlencode({"payload": json.dumps(base.payload)}))
    bodies.append(h.card_click_body(button(ids.DRAFT_KEEP, "0"), SELLER))
    bodies.append(h.card_click_body(button(ids.PIPELINE_CSV, "all"), SELLER))
    return bodies


def _step_events(h: Harness) -> list[str]:
    """A Workflow Builder run of each of our steps (`function_executed`, JSON)."""
    inputs = {"user_id": SELLER[0], "channel_id": CHANNEL}
    return [
        h.local.functions.executed_body(callback_id, {**inputs, **extra}, SELLER_TEAM)
        for callback_id, extra in (
            (ids.FN_CREATE_PLAN, {"title": "Another plan"}),
            (ids.FN_ADD_TASK, {"title": "Book the kickoff", "side": "seller"}),
            (ids.FN_COMPLETE_TASK, {"task_number": 1}),
            (ids.FN_PLAN_STATUS, {}),
        )
    ]


def _matched(h: Harness, bodies: list[str]) -> set[int]:
    """Which of the app's listeners these requests reach (by Bolt's own matchers)."""
    reached: set[int] = set()
    for body in bodies:
        kind = "application/json" if body.startswith("{") else "application/x-www-form-urlencoded"
        req = BoltRequest(body=body, headers={"content-type": [kind]})
        for n, listener in enumerate(h.bot.app._listeners):
            if listener.matches(req=req, resp=BoltResponse(status=200)):
                reached.add(n)
    return reached


def test_every_request_is_answered_while_slack_is_frozen(h: Harness, db: Database) -> None:
    setup_plan(h)
    h.local.add_channel(EMPTY, "empty", shared=True)
    views = _views_to_submit(h, db)
    h.settle()
    # People the app has never heard of (the people modal looked up everyone before).
    h.local.add_user("U0NEWBIE", team_id=SELLER_TEAM, name="newbie")
    h.local.add_user("U0NEWREP", team_id=SELLER_TEAM, name="newrep")
    h.local.add_user("W0NEWBUYER", team_id=BUYER_TEAM, name="newbuyer")
    bodies = _every_request(h, db, views)
    steps = _step_events(h)
    # Every command, action, shortcut, view and step listener the app registers is reached.
    interactive = {
        n
        for n, listener in enumerate(h.bot.app._listeners)
        if not any("event" in repr(m.func) for m in listener.matchers)
    }
    assert interactive <= _matched(h, bodies + steps), "a registered listener is not exercised"
    events = [
        {"type": "member_joined_channel", "user": "W0SULLEY", "channel": CHANNEL},
        {"type": "app_home_opened", "user": "U0LEX", "tab": "home"},
        {"type": "member_left_channel", "user": "W0SULLEY", "channel": EMPTY},
    ]
    _plan_id, tasks = ids_of(db)
    before_calls = len(h.local.calls)
    before_posts = len(h.local.response_posts)
    h.local.freeze()
    try:
        for body in bodies:
            answer, _took = send(h, body)  # raises (timeout) if held by a Slack call
            assert answer.status == 200, (answer, body[:200])
        for event in events:
            raw = payloads.event_body(team_id=SELLER_TEAM, event=event)
            answer, _took = send(h, raw, json_body=True)
            assert answer.status == 200, answer
        for raw in steps:
            answer, _took = send(h, raw, json_body=True)
            assert answer.status == 200, answer
        # The slash command's own answers came in the HTTP responses; Slack saw nothing.
        assert len(h.local.calls) == before_calls
        assert len(h.local.response_posts) == before_posts
    finally:
        h.local.thaw()
    assert h.local.frozen_calls > 0, "the work after the ack waited for Slack"
    h.settle()
    assert h.bot.deps.settle(20)
    # ... and then it happened: the clicks, the deferred commands, the submissions.
    assert statuses(db)[2] == "in_progress"  # `/map start #2`
    with db.read() as s:
        assert s.scalar(select(Task.title).where(Task.id == tasks[1])) == "Fill the questionnaire"
        assert s.scalar(select(Comment.body).where(Comment.task_id == tasks[1]))
        assert s.scalar(select(Milestone.id).where(Milestone.title == "Procurement"))
        assert s.scalar(select(Plan.id).where(Plan.channel_id == EMPTY))
        assert tasks[3] not in {t.id for t in s.scalars(select(Task))}  # removed
    new = h.local.calls[before_calls:]
    opened = [c for c in new if c.method in ("views.open", "views.push", "views.update")]
    assert len(opened) >= 8 and all(c.ok for c in opened), [c.result for c in opened]
    looked_up = [c.params.get("user") for c in new if c.method == "users.info"]
    assert "U0NEWREP" in looked_up and "U0NEWBIE" in looked_up, looked_up
    replies = [p.params.get("text") or "" for p in h.local.response_posts[before_posts:]]
    assert any("newrep" in t or "U0NEWREP" in t for t in replies), replies  # the deferred assign
    assert sent_rows(db, COMMENT) and sent_rows(db, ANNOUNCEMENT) and sent_rows(db, WELCOME)
    running = [e.id for e in h.local.functions.executions.values() if e.state == "running"]
    assert not running, "a step was neither completed nor failed after the thaw"
    replies = [m for m in h.local.messages(CHANNEL) if m.thread_ts]  # in the card's thread
    assert any("Sent it this morning" in json.dumps(m.blocks) for m in replies)


# --- users.info answering after 5 s and more --------------------------------------------------


@pytest.fixture
def slow_lookups(h: Harness) -> Iterator[Harness]:
    setup_plan(h)
    h.local.add_user("U0NEWBIE", team_id=SELLER_TEAM, name="newbie")
    h.local.add_user("W0NEWBUYER", team_id=BUYER_TEAM, name="newbuyer")
    h.local.add_user("U0GUEST2", team_id=SELLER_TEAM, name="guest2", is_restricted=True)
    for user in ("W0NEWBUYER", "U0GUEST2"):  # they join the deal channel
        event = {"type": "member_joined_channel", "user": user, "channel": CHANNEL}
        h.signed(payloads.event_body(team_id=SELLER_TEAM, event=event), json_body=True)
    # Past the lookup's own timeout: Slack never tells us in time.
    h.local.delay_next("users.info", identity.LOOKUP_TIMEOUT + 1, times=1_000)
    yield h
    h.local.thaw()


def test_a_first_time_user_is_answered_at_once_and_then_gets_the_reply(
    slow_lookups: Harness,
) -> None:
    h = slow_lookups
    url = h.local.response_url(CHANNEL, "U0NEWBIE")
    body = payloads.slash_command_body(
        text="status", user_id="U0NEWBIE", team_id=SELLER_TEAM, channel_id=CHANNEL, response_url=url
    )
    answer, took = send(h, body)
    assert answer.status == 200 and took < 1.0, took
    assert answer.body == ""  # Slack must tell us who this is first: the reply follows
    assert h.bot.deps.settle(20)
    (reply,) = h.local.posts_to(url)
    assert reply["response_type"] == "ephemeral" and "plan" in reply["text"]


def test_a_first_time_buyer_click_is_answered_at_once_and_applied(
    slow_lookups: Harness, db: Database
) -> None:
    h = slow_lookups
    value = h.button_value(ids.TASK_COMPLETE, 1)  # a buyer task
    action = button(ids.TASK_COMPLETE, value)
    answer, took = send(h, h.card_click_body(action, ("W0NEWBUYER", BUYER_TEAM)))
    assert answer.status == 200 and took < 1.0, took
    assert h.bot.deps.settle(20)
    assert statuses(db)[1] == "completed"  # the side came from the payload: no wait


def test_a_first_time_guest_with_a_slow_lookup_cannot_change_a_seller_task(
    slow_lookups: Harness, db: Database
) -> None:
    h = slow_lookups
    before = statuses(db)
    guest = ("U0GUEST2", SELLER_TEAM)  # a guest of the seller team: same team id
    value = h.button_value(ids.TASK_COMPLETE, 2)  # a seller task
    answer, took = send(h, h.card_click_body(button(ids.TASK_COMPLETE, value), guest))
    assert answer.status == 200 and took < 1.0, took
    url = h.local.response_url(CHANNEL, guest[0])
    body = payloads.slash_command_body(
        text="done #2", user_id=guest[0], team_id=SELLER_TEAM, channel_id=CHANNEL, response_url=url
    )
    answer, took = send(h, body)
    assert answer.status == 200 and took < 1.0, took
    assert h.bot.deps.settle(30)
    assert statuses(db) == before
    (reply,) = h.local.posts_to(url)
    assert reply["text"].startswith(identity.CHECKING_WHO) and "seller task" in reply["text"]
    clicked = [e for e in h.local.ephemerals(CHANNEL, guest[0]) if e.source == "api"]
    (refusal,) = [e.text for e in clicked if "seller task" in e.text]
    assert refusal.startswith(identity.CHECKING_WHO)


def test_an_unknown_seller_submitting_a_seller_only_form_is_refused_politely(
    h: Harness, db: Database
) -> None:
    """A submission answers in its ack, from the cache: someone never looked up is
    buyer side for it (fail closed), and told why."""
    setup_plan(h)
    plan_id, _tasks = ids_of(db)
    h.signed(h.card_click_body(button(ids.PLAN_ADD_MILESTONE, str(plan_id)), SELLER))
    view = last_view(h)
    h.local.add_user("U0NEWBIE", team_id=SELLER_TEAM, name="newbie")
    event = {"type": "member_joined_channel", "user": "U0NEWBIE", "channel": CHANNEL}
    h.signed(payloads.event_body(team_id=SELLER_TEAM, event=event), json_body=True)
    h.local.delay_next("users.info", 5.0, times=1_000)
    values = state_of(view, f_ms_title="Legal review")
    answer, took = send(h, submission_body(view, values, ("U0NEWBIE", SELLER_TEAM)))
    assert answer.status == 200 and took < 1.0, took
    body = answer.json()
    assert body["response_action"] == "errors"
    assert any(identity.CHECKING_WHO in e for e in body["errors"].values()), body
    with db.read() as s:
        assert s.scalar(select(Milestone.id).where(Milestone.title == "Legal review")) is None
    assert h.bot.deps.settle(20)


# --- a workspace with no installation -----------------------------------------------


@pytest.fixture
def oauth_h(db: Database) -> Iterator[Harness]:
    with multi_workspace_app(db) as harness:
        install(harness, TEAM_A)
        yield harness


def test_a_workspace_without_installation_is_told_so_and_nothing_is_sent(
    oauth_h: Harness,
) -> None:
    h = oauth_h
    calls, posts = len(h.local.calls), len(h.local.response_posts)
    url = h.local.response_url("C0BETADEAL", "U0BEA")
    slash = payloads.slash_command_body(
        text="status", user_id="U0BEA", team_id=TEAM_B, channel_id="C0BETADEAL", response_url=url
    )
    click = payloads.block_actions_body(
        user_id="U0BEA",
        user_team_id=TEAM_B,
        team_id=TEAM_B,
        channel_id="C0BETADEAL",
        action=button(ids.TASK_COMPLETE, "1:1"),
        response_url=url,
    )
    for body in (slash, click):
        answer, _took = send(h, body)
        assert (answer.status, answer.body) == (200, NOT_INSTALLED)
    event = payloads.event_body(
        team_id=TEAM_B,
        event={"type": "member_joined_channel", "user": "U0BEA", "channel": "C0BETADEAL"},
    )
    answer, _took = send(h, event, json_body=True)
    assert (answer.status, answer.body) == (200, "")
    assert h.bot.deps.settle(10)
    # Nothing went to Slack: no Web API call, no POST to the response URL.
    assert h.local.calls[calls:] == [] and h.local.response_posts[posts:] == []
    # The installed workspace is served as before (someone new: through response_url).
    url = h.local.response_url("C0ACMEDEAL", "U0ANNA")
    ok = payloads.slash_command_body(
        text="help", user_id="U0ANNA", team_id=TEAM_A, channel_id="C0ACMEDEAL", response_url=url
    )
    answer, _took = send(h, ok)
    assert answer.status == 200 and NOT_INSTALLED not in answer.body
    assert h.bot.deps.settle(10)
    (reply,) = h.local.posts_to(url)
    assert "/map" in reply["text"] and NOT_INSTALLED not in reply["text"]
