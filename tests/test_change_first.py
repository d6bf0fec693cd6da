"""A click's change is in the database when its HTTP answer arrives (bot.change_first).

Without a SIGKILL (tests/test_serve_faults.py has that one): the app's after-ack
pool is held busy by work queued ahead, so nothing handed to it can run; a click
by someone we know is answered and its change is already saved — the task
status from a channel and from App Home, the nudge's Done, the go-live and
remove confirmations, the unfurl's Complete — while its reply to the clicker
waits for the pool. Refusals stay refusals on that path. Someone we can't place
yet (a guest never looked up) and a buyer in a channel whose members we don't
know are still answered with Slack frozen, and changed only after Slack says.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date

import pytest
from sqlalchemy import select

from bot import ids
from bot.local_slack import payloads
from storage import membership
from storage.db import Database
from storage.models import Plan, Task
from tests.harness import BUYER_TEAM, CHANNEL, SELLER_TEAM, Harness, running_app
from tests.test_ack_first import send
from tests.test_modals import button, plan_id, setup_plan, task_id
from tests.test_unfurls import unfurl_click_body

BASE = "https://mapbot.example.com"
SELLER = ("U0LEX", SELLER_TEAM)
MIKE = ("W0MIKE", BUYER_TEAM)
HOLDERS = 32  # more than the pool has workers: every one of them is held


@pytest.fixture
def h(db: Database) -> Iterator[Harness]:
    with running_app(db, settings={"public_url": BASE}) as harness:
        harness.local.add_user(
            "U0NEWGUEST", team_id=SELLER_TEAM, name="newguest", is_restricted=True
        )
        setup_plan(harness)
        yield harness
        assert harness.local.violations == []


@contextmanager
def after_ack_held(h: Harness) -> Iterator[None]:
    """The after-ack pool busy with work queued ahead until the block ends: what a
    request hands it runs only after that (its queue is first in, first out)."""
    release = threading.Event()

    def hold() -> None:
        release.wait(30)

    for _ in range(HOLDERS):
        h.bot.deps.later(hold)
    try:
        yield
    finally:
        release.set()
    assert h.bot.deps.after.settle(20)


def status(db: Database, number: int) -> str:
    with db.read() as s:
        found = s.scalar(select(Task.status).where(Task.number == number))
        assert found is not None
        return found


def known_buyer(h: Harness, db: Database) -> None:
    """Mike has clicked before: his side comes from the payload and the deal
    channel's members are known (fetched after that first click's answer)."""
    start = h.card_click_body(button(ids.TASK_START, h.button_value(ids.TASK_START, 1)), MIKE)
    assert h.signed(start).status == 200
    h.settle()
    assert status(db, 1) == "in_progress"
    with db.read() as s:
        assert membership.is_member(s, SELLER_TEAM, CHANNEL, MIKE[0]) is True


def home_body(who: tuple[str, str], action: dict[str, object]) -> str:
    view = {"id": "V0HOME", "type": "home", "blocks": [], "private_metadata": ""}
    return payloads.view_block_actions_body(
        user_id=who[0], user_team_id=who[1], team_id=SELLER_TEAM, view=view, action=action
    )


def unfurl_body(h: Harness, who: tuple[str, str], value: str) -> str:
    """The Complete button of a plan link's unfurl (shared by Mike, unfurled)."""
    url = f"{BASE}/p/{plan_id(h.bot.deps.db)}/t/1"
    shared = h.local.unfurls.share(CHANNEL, who[0], f"<{url}>", SELLER_TEAM)
    assert h.signed(shared, json_body=True).status == 200
    h.settle()
    ts = json.loads(shared)["event"]["message_ts"]
    return unfurl_click_body(h, who, value, ts)


@dataclass(frozen=True)
class Case:
    body: Callable[[Harness, Database], str]
    saved: Callable[[Database], bool]  # the change is in the database
    # What the clicker or the channel was sent after (a count, to see it grow).
    replies: Callable[[Harness], int]
    # The reply goes through the after-ack pool itself (respond()); a refresh is
    # sent by the outbox worker, which may find the change's row on its own.
    pooled: bool


def _target(db: Database) -> date | None:
    with db.read() as s:
        return s.scalar(select(Plan.target_date))


def _posted(text: str) -> Callable[[Harness], int]:
    return lambda h: sum(text in str(p.params.get("text") or "") for p in h.local.response_posts)


def _calls(method: str) -> Callable[[Harness], int]:
    return lambda h: len(h.local.calls_to(method))


def _home_publishes(h: Harness) -> int:
    calls = h.local.calls_to("views.publish")
    return sum(c.params.get("user_id") == MIKE[0] for c in calls)


def _task_button(action_id: str, number: int) -> Callable[[Harness, Database], dict[str, str]]:
    return lambda h, db: button(action_id, ids.task_value(plan_id(db), task_id(db, number)))


CASES = {
    "card complete": Case(
        lambda h, db: h.card_click_body(_task_button(ids.TASK_COMPLETE, 1)(h, db), MIKE),
        lambda db: status(db, 1) == "completed",
        _calls("chat.update"),
        pooled=False,
    ),
    "home complete": Case(
        lambda h, db: home_body(MIKE, _task_button(ids.TASK_COMPLETE, 1)(h, db)),
        lambda db: status(db, 1) == "completed",
        _home_publishes,
        pooled=False,
    ),
    "nudge done": Case(
        lambda h, db: h.card_click_body(_task_button(ids.NUDGE_DONE, 1)(h, db), MIKE),
        lambda db: status(db, 1) == "completed",
        _posted("is done"),
        pooled=True,
    ),
    "unfurl complete": Case(
        lambda h, db: unfurl_body(h, MIKE, ids.task_value(plan_id(db), task_id(db, 1))),
        lambda db: status(db, 1) == "completed",
        _calls("chat.unfurl"),
        pooled=False,
    ),
    "go-live apply": Case(
        lambda h, db: h.card_click_body(
            button(ids.GOLIVE_APPLY, ids.golive_value(plan_id(db), date(2027, 3, 15))), SELLER
        ),
        lambda db: _target(db) == date(2027, 3, 15),
        _posted("Go-live is now"),
        pooled=True,
    ),
    "remove confirm": Case(
        lambda h, db: h.card_click_body(
            button(ids.REMOVE_CONFIRM, f"{plan_id(db)}:task:{task_id(db, 2)}"), SELLER
        ),
        lambda db: 2 not in _numbers(db),
        _posted("Removed task"),
        pooled=True,
    ),
}


def _numbers(db: Database) -> set[int]:
    with db.read() as s:
        return set(s.scalars(select(Task.number)))


@pytest.mark.parametrize("name", CASES)
def test_a_known_clickers_change_is_saved_when_the_answer_arrives(
    h: Harness, db: Database, name: str
) -> None:
    case = CASES[name]
    known_buyer(h, db)
    body = case.body(h, db)
    assert not case.saved(db)
    before = case.replies(h)
    with after_ack_held(h):
        answer = h.signed(body, settle=False)
        assert answer.status == 200
        assert case.saved(db), "the answer came before the change was saved"
        if case.pooled:  # the reply to the clicker is Slack work: after the answer
            assert case.replies(h) == before
    h.settle()
    assert h.local.wait_for(lambda: case.replies(h) > before), "no reply after the answer"


def test_a_known_clickers_card_click_leaves_no_work_for_after_the_answer(
    h: Harness, db: Database
) -> None:
    """Saved, its card's refresh queued with it and its sender woken in the
    listener (no Slack call): nothing is handed to the after-ack pool, whose jobs
    cost a thread's wake-up each, and the card follows with the pool still held."""
    known_buyer(h, db)
    body = CASES["card complete"].body(h, db)
    updates = len(h.local.calls_to("chat.update"))
    with after_ack_held(h):
        queued = h.bot.deps.after.pending
        assert h.signed(body, settle=False).status == 200
        assert status(db, 1) == "completed"
        assert h.bot.deps.after.pending == queued, "the click handed the pool a job"
        assert h.local.wait_for(lambda: len(h.local.calls_to("chat.update")) > updates)


def test_a_known_buyers_forbidden_click_is_refused_and_saves_nothing(
    h: Harness, db: Database
) -> None:
    known_buyer(h, db)
    seller_task = h.card_click_body(
        button(ids.TASK_COMPLETE, ids.task_value(plan_id(db), task_id(db, 2))), MIKE
    )
    with after_ack_held(h):
        assert h.signed(seller_task, settle=False).status == 200
        assert status(db, 2) == "not_started"
    h.settle()
    assert status(db, 2) == "not_started"
    refusals = [e.text for e in h.local.ephemerals(CHANNEL, MIKE[0]) if ":no_entry:" in e.text]
    assert refusals and "seller task" in refusals[-1]


def test_a_first_time_guest_is_answered_with_slack_frozen_then_placed_and_changed(
    h: Harness, db: Database
) -> None:
    """Someone whose guest status we don't know: nothing is decided before the
    answer (the channel's members are known, so only users.info is waited for);
    afterwards the buyer task is theirs to complete (a guest is buyer side)."""
    known_buyer(h, db)
    guest = ("U0NEWGUEST", SELLER_TEAM)
    body = h.card_click_body(button(ids.TASK_COMPLETE, h.button_value(ids.TASK_COMPLETE, 1)), guest)
    h.local.freeze()
    try:
        answer, _took = send(h, body)  # a Slack call before the answer would hang here
        assert answer.status == 200
        assert status(db, 1) == "in_progress"  # waiting for Slack to say who this is
    finally:
        h.local.thaw()
    h.settle()
    assert status(db, 1) == "completed"
    looked_up = [c.params.get("user") for c in h.local.calls_to("users.info")]
    assert looked_up.count(guest[0]) == 1, looked_up  # asked once, not once per path


def test_a_first_time_seller_is_looked_up_before_the_change_not_refused(
    h: Harness, db: Database
) -> None:
    """A member of the seller team never looked up is buyer side until Slack
    says otherwise: deciding before the answer would refuse a seller their own
    task. Their click waits for users.info and then goes through."""
    h.local.add_user("U0NEWBIE", team_id=SELLER_TEAM, name="newbie")
    newbie = ("U0NEWBIE", SELLER_TEAM)
    body = h.card_click_body(button(ids.TASK_START, h.button_value(ids.TASK_START, 2)), newbie)
    h.local.freeze()
    try:
        answer, _took = send(h, body)
        assert answer.status == 200
    finally:
        h.local.thaw()
    h.settle()
    assert status(db, 2) == "in_progress"  # a seller task: theirs once Slack said so
    assert not [e for e in h.local.ephemerals(CHANNEL, newbie[0]) if ":no_entry:" in e.text]


def test_a_known_buyer_in_a_channel_of_unknown_members_is_changed_after_the_fetch(
    h: Harness, db: Database
) -> None:
    """MembersUnknown is a NotFound: taken for a refusal before the answer, the
    click would be refused without Slack ever being asked who is in the channel."""
    known_buyer(h, db)
    with db.write() as s:
        membership.forget(s, SELLER_TEAM, CHANNEL)  # shared anew: members unknown
    fetched = len(h.local.calls_to("conversations.members"))
    body = h.card_click_body(button(ids.TASK_COMPLETE, h.button_value(ids.TASK_COMPLETE, 1)), MIKE)
    h.local.freeze()
    try:
        answer, _took = send(h, body)
        assert answer.status == 200
        assert status(db, 1) == "in_progress"
    finally:
        h.local.thaw()
    h.settle()
    assert status(db, 1) == "completed"
    assert len(h.local.calls_to("conversations.members")) == fetched + 1
    assert not [e for e in h.local.ephemerals(CHANNEL, MIKE[0]) if ":no_entry:" in e.text]
