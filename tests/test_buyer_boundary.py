"""The buyer boundary holds on every path (issue 8): sides fail closed, and a
buyer-side person reaches a plan only while they are in its channel.

Signed HTTP requests into the real app, Slack stood in on loopback, both
databases. Two deals of one seller workspace: "Scare Floor rollout" in
C0DEAL (buyer W0MIKE of Monsters Inc) and another in C0OTHER (buyer W0OTTO of
another organisation). Every action_id and callback_id we listen for is sent
crafted: by W0OTTO naming the first deal's ids, and by a first-time guest whose
users.info fails. Nothing changes, nothing of the other deal is shown, and the
answer is a polite refusal.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from sqlalchemy import delete, select

from bot import ids
from bot.local_slack import payloads
from reminders.delivery import refreshes
from storage import collab_services, lookup, membership, services
from storage.access import NOT_FOUND, plan_for
from storage.db import Database
from storage.models import (
    Activity,
    ChannelMember,
    Comment,
    Milestone,
    Outbox,
    Person,
    Plan,
    Snooze,
    Stakeholder,
    Task,
    TaskLink,
    TeamTemplate,
)
from storage.rules import Actor, can_set_task_status
from tests.harness import BUYER_TEAM, CHANNEL, SELLER_TEAM, Harness, Response
from tests.test_modals import (
    button,
    crafted_menu,
    last_view,
    plan_id,
    setup_plan,
    state_of,
    submit,
    task_id,
)

OTHER = "C0OTHER"
OTHER_TEAM = "T0OTHERCO"
OTTO = ("W0OTTO", OTHER_TEAM)  # a buyer of the other deal
GUEST = ("U0NEWGUEST", SELLER_TEAM)  # a guest of the seller team, never looked up
SELLER = ("U0LEX", SELLER_TEAM)
MIKE = ("W0MIKE", BUYER_TEAM)
NEW_CHANNEL = "C0NEWDEAL"

# What only the first deal's people may read.
DEAL_SECRETS = ("Scare Floor", "security questionnaire", "SOC 2", "W0MIKE", "t0monsters.example")
INTERNAL = "Discount approval"
DOMAIN_TABLES = (Plan, Milestone, Task, Activity, Comment, TaskLink, Stakeholder, Snooze)
ALSO = (TeamTemplate, Outbox)


# --- the two deals ------------------------------------------------------------------


def two_deals(h: Harness, db: Database) -> None:
    local = h.local
    local.add_user("W0OTTO", team_id=OTHER_TEAM, name="otto")
    local.add_user("U0NEWGUEST", team_id=SELLER_TEAM, name="newguest", is_restricted=True)
    deal = ["U0LEX", "U0MERCY", "W0MIKE", "W0SULLEY", "U0GUEST", "U0NEWGUEST"]
    local.add_channel(CHANNEL, "monsters-deal", shared=True, members=deal)
    local.add_channel(OTHER, "otherco-deal", shared=True, members=["U0LEX", "W0OTTO"])
    local.add_channel(NEW_CHANNEL, "new-deal", shared=True, members=["U0LEX", "W0OTTO"])
    setup_plan(h)
    assert h.command("create Otherco pilot go-live 2027-04-01", channel=OTHER).status == 200
    assert h.command("add Sign the pilot owner buyer", channel=OTHER).status == 200
    h.settle()


def members_now(h: Harness, db: Database, channel: str, members: list[str]) -> None:
    """Who is in `channel` from now on, and we know nothing of it yet."""
    h.local.add_channel(channel, channel.lower(), shared=True, members=members)
    with db.write() as s:
        membership.forget(s, SELLER_TEAM, channel)


@dataclass(frozen=True)
class Deal:
    plan: int
    buyer_task: int
    seller_task: int
    internal_task: int
    milestone: int


def deal(db: Database) -> Deal:
    with db.read() as s:
        m = s.scalar(select(Milestone.id).where(Milestone.title == "Security review"))
    assert m is not None
    return Deal(plan_id(db), task_id(db, 1), task_id(db, 2), task_id(db, 3), m)


def snapshot(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table a change could touch."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    with db.read() as s:
        for model in DOMAIN_TABLES + ALSO:
            cols = list(model.__table__.columns)
            query = select(*cols)
            if model is Outbox:  # refreshes re-render what is stored (the clicker's Home)
                query = query.where(Outbox.kind.not_in(refreshes.KINDS))
            rows = s.execute(query).all()
            out[model.__tablename__] = sorted(tuple(map(repr, r)) for r in rows)
        persons = s.execute(  # people looked up come and go; a side set by hand is a change
            select(Person.user_id, Person.side_override).where(Person.side_override.is_not(None))
        ).all()
        out["person.side"] = sorted(tuple(map(repr, r)) for r in persons)
    return out


# --- sending crafted payloads, reading what came back --------------------------------


def _payload(raw: str) -> dict[str, Any]:
    from urllib.parse import parse_qs

    return dict(json.loads(parse_qs(raw)["payload"][0]))


def _encode(payload: dict[str, Any]) -> str:
    from urllib.parse import urlencode

    return urlencode({"payload": json.dumps(payload)})


def action_body(h: Harness, who: tuple[str, str], action: dict[str, Any], where: str) -> str:
    """A block_actions payload from `where`: "card" (the deal channel), "other"
    (the clicker's own deal channel), "dm" (the app's DM) or "home" (a view)."""
    channel = {"card": CHANNEL, "other": OTHER, "dm": "D" + who[0], "home": ""}[where]
    if where == "home":
        view = {"id": "V0HOME", "type": "home", "blocks": [], "private_metadata": ""}
        return payloads.view_block_actions_body(
            user_id=who[0], user_team_id=who[1], team_id=SELLER_TEAM, view=view, action=action
        )
    return payloads.block_actions_body(
        user_id=who[0],
        user_team_id=who[1],
        team_id=SELLER_TEAM,
        channel_id=channel,
        action=action,
        message={"type": "message", "ts": "1.000001", "text": "x", "blocks": []},
        message_ts="1.000001",
        response_url=h.local.response_url(channel, who[0]),
    )


class Watch:
    """What one person was shown from a point on: views opened, pushed, updated
    or published for them, their ephemerals, response-URL answers, HTTP bodies."""

    def __init__(self, h: Harness, user: str) -> None:
        self.h, self.user = h, user
        self.calls = len(h.local.calls)
        self.posts = len(h.local.response_posts)
        self.bodies: list[str] = []

    def seen(self) -> list[str]:
        calls = self.h.local.calls[self.calls :]
        out = [json.dumps(c.params) for c in calls if c.method.startswith("views.")]
        out += [
            json.dumps(c.params)
            for c in calls
            if c.method == "chat.postEphemeral" and c.params.get("user") == self.user
        ]
        out += [json.dumps(p.params) for p in self.h.local.response_posts[self.posts :]]
        return out + self.bodies

    def refused(self) -> bool:
        return any(":no_entry:" in t or '"response_action": "errors"' in t for t in self.seen())

    def wait_refused(self) -> bool:
        return self.h.local.wait_for(self.refused, timeout=5) or self.refused()

    def views_text(self) -> str:
        calls = self.h.local.calls[self.calls :]
        return " ".join(json.dumps(c.params) for c in calls if c.method.startswith("views."))


def send(h: Harness, watch: Watch, raw: str) -> Response:
    resp = h.signed(raw)
    assert resp.status == 200, (resp.status, resp.body)  # never a 500
    watch.bodies.append(resp.body)
    return resp


# --- the payloads: every action_id and callback_id ---------------------------------------

Craft = Callable[[Harness, tuple[str, str], Deal], str]


def _click(action_id: str, value: Callable[[Deal], str], where: str) -> Craft:
    return lambda h, who, d: action_body(h, who, button(action_id, value(d)), where)


def _menu(verb: str, task: Callable[[Deal], int], where: str) -> Craft:
    return lambda h, who, d: action_body(h, who, crafted_menu(verb, d.plan, task(d)), where)


def _buyer_task(d: Deal) -> int:
    return d.buyer_task


def clicks(task: Callable[[Deal], int], where: str) -> dict[str, Craft]:
    """Every button and menu id, naming the first deal's `task`, sent from `where`."""
    out: dict[str, Craft] = {}
    for action_id in ids.TASK_ACTIONS:
        out[action_id] = _click(action_id, lambda d: ids.task_value(d.plan, task(d)), where)
    out[ids.REMOVE_CONFIRM + ":task"] = _click(
        ids.REMOVE_CONFIRM, lambda d: f"{d.plan}:task:{task(d)}", where
    )
    out[ids.REMOVE_CONFIRM + ":milestone"] = _click(
        ids.REMOVE_CONFIRM, lambda d: f"{d.plan}:milestone:{d.milestone}", where
    )
    out[ids.PLAN_ADD_TASK] = _click(ids.PLAN_ADD_TASK, lambda d: str(d.plan), where)
    out[ids.PLAN_ADD_MILESTONE] = _click(ids.PLAN_ADD_MILESTONE, lambda d: str(d.plan), where)
    out[ids.MILESTONE_EDIT] = _click(ids.MILESTONE_EDIT, lambda d: f"{d.plan}:{d.milestone}", where)
    for verb in ids.TASK_MENU_VERBS:
        out[f"{ids.TASK_MENU}:{verb}"] = _menu(verb, task, where)
    out[ids.GOLIVE_APPLY] = _click(ids.GOLIVE_APPLY, lambda d: f"{d.plan}:2027-06-01", where)
    out[ids.NUDGE_DONE] = _click(ids.NUDGE_DONE, lambda d: ids.task_value(d.plan, task(d)), where)
    out[ids.NUDGE_SNOOZE] = _click(ids.NUDGE_SNOOZE, lambda d: f"{task(d)}:3", where)
    return out


READS = (ids.PLAN_FULL, ids.PLAN_PAGE)  # opening the plan: refused to outsiders only
CANCELS = (ids.REMOVE_CANCEL, ids.GOLIVE_CANCEL)  # drop the clicker's own question


@dataclass(frozen=True)
class Forms:
    """Modals a seller of the first deal really opened: a crafted submission is
    one of these with someone else's name on it."""

    task: dict[str, Any]
    milestone: dict[str, Any]
    comment: dict[str, Any]
    overview: dict[str, Any]
    people: dict[str, Any]
    create: dict[str, Any]


def seller_forms(h: Harness, d: Deal, task: int, comment_on: int | None = None) -> Forms:
    def opened(raw: str | None = None, command: str | None = None, **kw: str) -> dict[str, Any]:
        n = len(h.local.calls_to("views.open"))
        if raw is not None:
            h.signed(raw)
        else:
            assert command is not None
            h.command(command, **kw)
        h.local.wait_for_calls("views.open", n + 1)
        return last_view(h)

    def menu(verb: str, on: int = task) -> str:
        return action_body(h, SELLER, crafted_menu(verb, d.plan, on), "card")

    ms = action_body(h, SELLER, button(ids.MILESTONE_EDIT, f"{d.plan}:{d.milestone}"), "card")
    forms = Forms(
        task=opened(menu("edit")),
        milestone=opened(ms),
        comment=opened(menu("comment", comment_on or task)),
        overview=opened(command="overview"),
        people=opened(command="people"),
        create=opened(command="create", channel=NEW_CHANNEL),
    )
    h.local.wait_for_calls("views.update", 1)  # the people modal's contacts are in
    h.settle()
    return forms


def submissions(forms: Forms, who: str) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """Every callback id we answer, with values that would change something."""
    return {
        ids.VIEW_TASK: (forms.task, state_of(forms.task, f_title="Hacked title", f_owner="buyer")),
        ids.VIEW_MILESTONE: (forms.milestone, state_of(forms.milestone, f_ms_title="Hacked")),
        ids.VIEW_COMMENT: (forms.comment, state_of(forms.comment, f_comment="hacked comment")),
        ids.VIEW_OVERVIEW: (forms.overview, state_of(forms.overview, f_why="hacked why")),
        ids.VIEW_PEOPLE: (
            forms.people,
            state_of(forms.people, f_person=who, f_role="Champion", f_side="seller"),
        ),
        ids.CREATE_VIEW: (forms.create, state_of(forms.create, create_title="Hacked deal")),
    }


def shortcut_body(h: Harness, who: tuple[str, str]) -> str:
    return payloads.message_shortcut_body(
        response_url=h.local.response_url(CHANNEL, who[0]),
        user_id=who[0],
        user_team_id=who[1],
        team_id=SELLER_TEAM,
        channel_id=CHANNEL,
        message={"type": "message", "ts": "1.000002", "text": "Send the DPA", "user": "U0LEX"},
        callback_id=ids.SHORTCUT_ADD_FROM_MESSAGE,
    )


def attack(
    h: Harness,
    db: Database,
    who: tuple[str, str],
    d: Deal,
    forms: Forms,
    crafts: dict[str, Craft],
    *,
    secrets: tuple[str, ...],
) -> None:
    """Send every crafted payload; each must change nothing, show none of
    `secrets` and be refused."""
    before = snapshot(db)
    for name, craft in crafts.items():
        watch = Watch(h, who[0])
        assert h.signed(craft(h, who, d)).status == 200, name
        assert watch.wait_refused(), f"{name}: no refusal in {watch.seen()}"
        h.settle()
        leaked = [x for x in secrets if x in watch.views_text()]
        assert not leaked, f"{name}: a view showed {leaked}"
        assert snapshot(db) == before, f"{name} changed the database"
    for callback_id, (view, values) in submissions(forms, who[0]).items():
        watch = Watch(h, who[0])
        resp = submit(h, view, values, who)
        assert resp.status == 200, resp.body
        watch.bodies.append(resp.body)
        assert watch.refused(), f"{callback_id}: not refused: {resp.body}"
        h.settle()
        assert snapshot(db) == before, f"{callback_id} changed the database"
    watch = Watch(h, who[0])
    send(h, watch, shortcut_body(h, who))
    assert watch.wait_refused(), f"shortcut: no refusal in {watch.seen()}"
    assert not [x for x in secrets if x in watch.views_text()]
    for action_id in CANCELS:  # they only drop the clicker's own question
        send(h, Watch(h, who[0]), action_body(h, who, button(action_id, "1"), "other"))
    for callback_id in (ids.VIEW_FULL_PLAN, ids.VIEW_NOTICE):  # nothing listens: not a 500
        view = {**forms.overview, "callback_id": callback_id}
        assert submit(h, view, {}, who).status != 500
    h.settle()
    assert snapshot(db) == before


def allow_buyers_to_edit(db: Database) -> None:
    """The most a buyer of the deal could do: then only membership stops an outsider."""
    with db.write() as s:
        plan = s.scalar(select(Plan).where(Plan.channel_id == CHANNEL))
        assert plan is not None
        plan.buyers_can_edit = True


# --- (a) a buyer of another deal -------------------------------------------------------


@pytest.mark.parametrize("where", ["other", "home", "dm"])
def test_a_buyer_of_another_deal_reaches_nothing_of_this_one(
    h: Harness, db: Database, where: str
) -> None:
    two_deals(h, db)
    allow_buyers_to_edit(db)
    d = deal(db)
    forms = seller_forms(h, d, d.buyer_task)
    crafts = clicks(_buyer_task, where)
    for action_id in READS:
        crafts[action_id] = _click(action_id, lambda d: f"{d.plan}:0", where)
    attack(h, db, OTTO, d, forms, crafts, secrets=DEAL_SECRETS)
    # The same clicks by the deal's own buyer do work (the guard is membership).
    watch = Watch(h, MIKE[0])
    send(h, watch, action_body(h, MIKE, button(ids.PLAN_FULL, str(d.plan)), "home"))
    assert h.local.wait_for(lambda: "Scare Floor" in watch.views_text())
    complete = button(ids.TASK_COMPLETE, ids.task_value(d.plan, d.buyer_task))
    send(h, watch, action_body(h, MIKE, complete, "home" if where == "home" else "card"))
    assert h.local.wait_for(lambda: _status(db, d.buyer_task) == "completed")


def _snoozed(db: Database, task: int, user: str) -> bool:
    with db.read() as s:
        row = s.scalar(select(Snooze).where(Snooze.task_id == task, Snooze.user_id == user))
        return row is not None


def _status(db: Database, task: int) -> str:
    with db.read() as s:
        return str(s.get(Task, task).status)  # type: ignore[union-attr]


def test_another_deals_buyer_gets_no_home_and_no_slash_plan(h: Harness, db: Database) -> None:
    two_deals(h, db)
    d = deal(db)
    with db.write() as s:  # assigned a task of the first deal, but not in its channel
        s.get(Task, d.buyer_task).assignee_id = "W0OTTO"  # type: ignore[union-attr]
    home_opened = event(h, "app_home_opened", user="W0OTTO", tab="home")
    assert h.signed(home_opened, json_body=True).status == 200
    h.local.wait_for_calls("views.publish", 1)
    h.settle()
    home = json.dumps(h.local.home_view("W0OTTO"))
    assert "Scare Floor" not in home and "security questionnaire" not in home
    assert "Otherco" not in home  # nothing of theirs is assigned to them either
    # A guest who is not in the channel: the slash command sees no plan there.
    members_now(h, db, CHANNEL, ["U0LEX"])
    resp = h.command("status", user="U0NEWGUEST")
    assert "no action plan" in resp.body and "Scare Floor" not in resp.body
    members_now(h, db, CHANNEL, ["U0LEX", "U0NEWGUEST"])
    assert "no action plan" not in h.command("status", user="U0NEWGUEST").body


# --- (b) a first-time guest whose users.info fails ---------------------------------------


def never_seen(db: Database, user_id: str) -> None:
    """Forget what the people modal's lookups learnt: a first-time visitor."""
    from bot.identity import forget_everyone

    with db.write() as s:
        s.execute(delete(Person).where(Person.user_id == user_id))
    forget_everyone()


def _seller_only(d: Deal) -> int:
    return d.seller_task


def guest_crafts() -> dict[str, Craft]:
    """What a seller could do and a buyer-side member may not: seller and internal
    tasks, and the plan's structure (buyers may not edit it)."""
    crafts = {
        f"{k}@card": v
        for k, v in clicks(_seller_only, "card").items()
        # a buyer may comment on a seller task they see, and snooze their own nudges of it
        if k not in (f"{ids.TASK_MENU}:comment", ids.NUDGE_SNOOZE)
    }
    internal = clicks(lambda d: d.internal_task, "home")
    for key in (*ids.TASK_ACTIONS, ids.NUDGE_DONE, ids.NUDGE_SNOOZE, f"{ids.TASK_MENU}:comment"):
        crafts[f"{key}@internal"] = internal[key]
    return crafts


@pytest.mark.parametrize(
    "fault",
    [
        {"status": 500},
        {"status": 429, "retry_after": 0},
        {"error": "user_not_found"},
    ],
    ids=["500", "429", "user_not_found"],
)
def test_a_guest_whose_lookup_fails_is_a_buyer(
    h: Harness, db: Database, fault: dict[str, Any]
) -> None:
    two_deals(h, db)
    d = deal(db)
    forms = seller_forms(h, d, d.seller_task, comment_on=d.internal_task)
    never_seen(db, GUEST[0])
    h.local.fail_next("users.info", times=10_000, **fault)
    attack(h, db, GUEST, d, forms, guest_crafts(), secrets=(INTERNAL,))
    # The Full plan opens for them (they are in the channel), without internal titles.
    watch = Watch(h, GUEST[0])
    send(h, watch, action_body(h, GUEST, button(ids.PLAN_FULL, str(d.plan)), "card"))
    assert h.local.wait_for(lambda: "Scare Floor" in watch.views_text())
    assert INTERNAL not in watch.views_text()
    with db.read() as s:  # never recorded as known: looked up again next time
        person = s.scalar(select(Person).where(Person.user_id == GUEST[0]))
    assert person is None or person.refreshed_at is None
    # Once Slack answers, the guest is known — still a buyer, now for the right reason.
    h.local.reset()
    send(h, Watch(h, GUEST[0]), action_body(h, GUEST, button(ids.PLAN_FULL, str(d.plan)), "card"))
    assert h.local.wait_for(lambda: bool(h.local.calls_to("users.info")))
    h.settle()
    with db.read() as s:
        person = s.scalar(select(Person).where(Person.user_id == GUEST[0]))
    assert person is not None and person.is_guest and person.refreshed_at is not None


def test_an_unknown_user_with_no_team_id_is_a_buyer(h: Harness, db: Database) -> None:
    """Not in users.info at all (user_not_found) and an empty `user.team_id`."""
    two_deals(h, db)
    d = deal(db)
    members_now(h, db, CHANNEL, ["U0LEX", "U0NOBODY"])
    nobody = ("U0NOBODY", "")
    value = ids.task_value(d.plan, d.seller_task)
    # An empty team id is no Slack id: the request guard refuses it outright.
    empty = h.signed(action_body(h, nobody, button(ids.TASK_COMPLETE, value), "card"))
    assert empty.status == 400 and _status(db, d.seller_task) == "not_started"
    # No team id at all: let through, and the side fails closed (buyer).
    from urllib.parse import parse_qs, urlencode

    raw = action_body(h, nobody, button(ids.TASK_COMPLETE, value), "card")
    payload = json.loads(parse_qs(raw)["payload"][0])
    del payload["user"]["team_id"]
    watch = Watch(h, nobody[0])
    send(h, watch, urlencode({"payload": json.dumps(payload)}))
    assert watch.wait_refused()
    assert "seller task" in " ".join(watch.seen())
    assert _status(db, d.seller_task) == "not_started"


def test_a_lookup_that_times_out_leaves_a_buyer(h: Harness, db: Database) -> None:
    """A member of the seller team, never seen, whose users.info is too slow."""
    from bot import identity

    two_deals(h, db)
    d = deal(db)
    h.local.add_user("U0NEWBIE", team_id=SELLER_TEAM, name="newbie")
    members_now(h, db, CHANNEL, ["U0LEX", "U0NEWBIE"])
    newbie = ("U0NEWBIE", SELLER_TEAM)
    h.local.delay_next("users.info", identity.LOOKUP_TIMEOUT + 1)
    watch = Watch(h, newbie[0])
    value = ids.task_value(d.plan, d.seller_task)
    send(h, watch, action_body(h, newbie, button(ids.TASK_COMPLETE, value), "card"))
    assert h.local.wait_for(watch.refused, timeout=identity.LOOKUP_TIMEOUT + 5)
    assert _status(db, d.seller_task) == "not_started"
    # Looked up again on the next click; now it answers: a seller after all.
    send(h, Watch(h, newbie[0]), action_body(h, newbie, button(ids.TASK_COMPLETE, value), "card"))
    assert h.local.wait_for(lambda: _status(db, d.seller_task) == "completed")


def test_a_side_set_by_a_seller_still_wins(h: Harness, db: Database) -> None:
    two_deals(h, db)
    d = deal(db)
    with db.write() as s:
        plan = s.get(Plan, d.plan)
        assert plan is not None
        seller = Actor(user_id="U0LEX", side="seller", team_id=SELLER_TEAM)
        collab_services.set_person(s, seller, plan, GUEST[0], role="", side="seller")
    h.local.fail_next("users.info", times=10_000, status=500)
    value = ids.task_value(d.plan, d.seller_task)
    h.signed(action_body(h, GUEST, button(ids.TASK_COMPLETE, value), "card"))
    assert h.local.wait_for(lambda: _status(db, d.seller_task) == "completed")


# --- joining and leaving ---------------------------------------------------------------


def event(h: Harness, kind: str, **fields: Any) -> str:
    return payloads.event_body(team_id=SELLER_TEAM, event={"type": kind, **fields})


def test_a_buyer_who_left_reaches_nothing_and_one_who_joins_does(h: Harness, db: Database) -> None:
    two_deals(h, db)
    d = deal(db)
    value = ids.task_value(d.plan, d.buyer_task)
    start = action_body(h, MIKE, button(ids.TASK_START, value), "home")
    assert h.signed(start).status == 200
    assert h.local.wait_for(lambda: _status(db, d.buyer_task) == "in_progress")

    left = event(h, "member_left_channel", user="W0MIKE", channel=CHANNEL, team=BUYER_TEAM)
    assert h.signed(left, json_body=True).status == 200
    h.settle()
    for where, action in (
        ("home", button(ids.TASK_COMPLETE, value)),
        ("dm", button(ids.NUDGE_DONE, value)),
        ("dm", button(ids.NUDGE_SNOOZE, f"{d.buyer_task}:1")),
        ("home", button(ids.PLAN_FULL, str(d.plan))),
        ("home", crafted_menu("comment", d.plan, d.buyer_task)),
    ):
        watch = Watch(h, MIKE[0])
        send(h, watch, action_body(h, MIKE, action, where))
        assert watch.wait_refused(), action
        assert "Scare Floor" not in watch.views_text()
    h.settle()
    assert _status(db, d.buyer_task) == "in_progress"
    home = json.dumps(h.local.home_view("W0MIKE"))
    assert "Scare Floor" not in home  # their Home dropped the deal

    joined = event(h, "member_joined_channel", user="W0MIKE", channel=CHANNEL, team=BUYER_TEAM)
    assert h.signed(joined, json_body=True).status == 200
    h.settle()
    snooze = action_body(h, MIKE, button(ids.NUDGE_SNOOZE, f"{d.buyer_task}:1"), "dm")
    send(h, Watch(h, MIKE[0]), snooze)
    assert h.local.wait_for(lambda: _snoozed(db, d.buyer_task, MIKE[0]))
    send(h, Watch(h, MIKE[0]), action_body(h, MIKE, button(ids.NUDGE_DONE, value), "dm"))
    assert h.local.wait_for(lambda: _status(db, d.buyer_task) == "completed")
    # No second conversations.members: the events kept the list current.
    assert (
        len(
            [
                c
                for c in h.local.calls_to("conversations.members")
                if c.params.get("channel") == CHANNEL
            ]
        )
        == 1
    )


def test_members_are_fetched_once_every_page_and_fail_closed(h: Harness, db: Database) -> None:
    two_deals(h, db)
    d = deal(db)
    crowd = [f"U0CROWD{i:03d}" for i in range(450)]
    members_now(h, db, CHANNEL, [*crowd, "W0MIKE"])
    value = ids.task_value(d.plan, d.buyer_task)
    h.local.fail_next("conversations.members", status=500, times=10)
    watch = Watch(h, MIKE[0])
    send(h, watch, action_body(h, MIKE, button(ids.TASK_START, value), "home"))
    assert watch.wait_refused()  # Slack couldn't say: refused, not guessed
    assert NOT_FOUND in " ".join(watch.seen())  # the words of "not found"
    assert _status(db, d.buyer_task) == "not_started"
    h.local.reset()
    send(h, Watch(h, MIKE[0]), action_body(h, MIKE, button(ids.TASK_START, value), "home"))
    assert h.local.wait_for(lambda: _status(db, d.buyer_task) == "in_progress")
    pages = h.local.calls_to("conversations.members")
    assert len(pages) == 3 and [p.result["ok"] for p in pages] == [True] * 3  # 200 a page
    with db.read() as s:
        assert membership.is_member(s, SELLER_TEAM, CHANNEL, "W0MIKE") is True
        assert (
            len(s.scalars(select(ChannelMember).where(ChannelMember.channel_id == CHANNEL)).all())
            == 452
        )


def test_sharing_changes_make_the_members_unknown_again(h: Harness, db: Database) -> None:
    two_deals(h, db)
    with db.write() as s:
        membership.record_members(s, SELLER_TEAM, CHANNEL, ["W0MIKE"])
    unshared = event(
        h, "channel_unshared", channel=CHANNEL, previously_connected_team_id=BUYER_TEAM
    )
    assert h.signed(unshared, json_body=True).status == 200
    h.settle()
    with db.read() as s:
        assert membership.is_member(s, SELLER_TEAM, CHANNEL, "W0MIKE") is None


# --- crafted ids across plans and workspaces -------------------------------------------------


def foreign_workspace_plan(db: Database) -> tuple[int, int, int]:
    """A plan of another seller workspace in the same database: (plan, milestone, task)."""
    them = Actor(user_id="U0THEM", side="seller", team_id="T0THEMSELLER")
    with db.write() as s:
        plan = services.create_plan(s, them, "C0THEIRS", "Their deal", target_date=None, tz="UTC")
        m = services.add_milestone(s, them, plan, "Their milestone")
        t = services.add_task(s, them, plan, "Their task", milestone=m, owner_side="buyer")
        return plan.id, m.id, t.id


def test_remove_confirm_with_foreign_ids_deletes_nothing(h: Harness, db: Database) -> None:
    two_deals(h, db)
    d = deal(db)
    _theirs, their_m, their_t = foreign_workspace_plan(db)
    with db.read() as s:
        other_plan = s.scalar(select(Plan.id).where(Plan.channel_id == OTHER))
        other_task = s.scalar(select(Task.id).where(Task.plan_id == other_plan))
        other_m = s.scalar(select(Milestone.id).where(Milestone.plan_id == other_plan))
    before = snapshot(db)
    for value in (
        f"{d.plan}:milestone:{their_m}",
        f"{d.plan}:task:{their_t}",
        f"{d.plan}:milestone:{other_m}",
        f"{d.plan}:task:{other_task}",
        f"{other_plan}:task:{other_task}",  # the other deal's own ids, from this channel
    ):
        watch = Watch(h, SELLER[0])
        send(h, watch, action_body(h, SELLER, button(ids.REMOVE_CONFIRM, value), "card"))
        assert watch.wait_refused(), value
        assert snapshot(db) == before, value


def _seller(team: str = SELLER_TEAM) -> Actor:
    return Actor(user_id="U0LEX", side="seller", team_id=team)


# Every service that takes a plan and one of its milestones or tasks, with a foreign one.
MILESTONE_CHANGES: dict[str, Callable[[Any, Plan, Milestone], object]] = {
    "find_milestone_by_id": lambda s, p, m: lookup.find_milestone_by_id(s, p, m.id),
    "rename_milestone": lambda s, p, m: services.rename_milestone(s, _seller(), p, m, "X"),
    "move_milestone": lambda s, p, m: services.move_milestone(s, _seller(), p, m, 1),
    "remove_milestone": lambda s, p, m: services.remove_milestone(s, _seller(), p, m),
    "set_milestone_status": lambda s, p, m: services.set_milestone_status(
        s, _seller(), p, m, "completed"
    ),
    "add_task": lambda s, p, m: services.add_task(s, _seller(), p, "X", milestone=m),
    "save_milestone": lambda s, p, m: collab_services.save_milestone(
        s, _seller(), p, m, "X", None, None
    ),
    "save_milestone_due": lambda s, p, m: collab_services.save_milestone(  # title as it was
        s, _seller(), p, m, m.title, date(2027, 1, 4), None
    ),
}
TASK_CHANGES: dict[str, Callable[[Any, Plan, Task], object]] = {
    "find_task_by_id": lambda s, p, t: lookup.find_task_by_id(s, p, t.id, "seller"),
    "rename_task": lambda s, p, t: services.rename_task(s, _seller(), p, t, "X"),
    "remove_task": lambda s, p, t: services.remove_task(s, _seller(), p, t),
    "assign_task": lambda s, p, t: services.assign_task(s, _seller(), p, t, "U0LEX"),
    "set_task_status": lambda s, p, t: services.set_task_status(s, _seller(), p, t, "completed"),
    "set_task_due": lambda s, p, t: services.set_task_due(s, _seller(), p, t, None),
    "move_task": lambda s, p, t: services.move_task(
        s, _seller(), p, t, services.default_milestone(s, _seller(), p)
    ),
    "save_task": lambda s, p, t: collab_services.save_task(
        s, _seller(), p, t, collab_services.TaskForm(fields=frozenset({"title"}), title="X")
    ),
    "add_comment": lambda s, p, t: collab_services.add_comment(s, _seller(), p, t, "hi", None),
}


def _our_plan(db: Database) -> int:
    with db.write() as s:
        plan = services.create_plan(s, _seller(), CHANNEL, "Ours", target_date=None, tz="UTC")
        services.add_task(s, _seller(), plan, "Our task")
        return plan.id


@pytest.mark.parametrize("name", sorted(MILESTONE_CHANGES))
def test_a_milestone_of_another_plan_is_refused(db: Database, name: str) -> None:
    ours = _our_plan(db)
    _p, their_m, _t = foreign_workspace_plan(db)
    before = snapshot(db)
    with db.write() as s:
        plan, milestone = s.get(Plan, ours), s.get(Milestone, their_m)
        assert plan is not None and milestone is not None
        with pytest.raises(services.NotFound):
            MILESTONE_CHANGES[name](s, plan, milestone)
    assert snapshot(db) == before


@pytest.mark.parametrize("name", sorted(TASK_CHANGES))
def test_a_task_of_another_plan_is_refused(db: Database, name: str) -> None:
    ours = _our_plan(db)
    _p, _m, their_t = foreign_workspace_plan(db)
    before = snapshot(db)
    with db.write() as s:
        plan, task = s.get(Plan, ours), s.get(Task, their_t)
        assert plan is not None and task is not None
        with pytest.raises(services.NotFound):
            TASK_CHANGES[name](s, plan, task)
    assert snapshot(db) == before


def test_move_task_to_a_milestone_of_another_plan_is_refused(db: Database) -> None:
    ours = _our_plan(db)
    _p, their_m, _t = foreign_workspace_plan(db)
    with db.write() as s:
        plan, milestone = s.get(Plan, ours), s.get(Milestone, their_m)
        assert plan is not None and milestone is not None
        task = s.scalar(select(Task).where(Task.plan_id == ours))
        assert task is not None
        with pytest.raises(services.NotFound):
            services.move_task(s, _seller(), plan, task, milestone)
        form = collab_services.TaskForm(fields=frozenset({"milestone"}), milestone_id=milestone.id)
        with pytest.raises(services.NotFound):
            collab_services.save_task(s, _seller(), plan, task, form)


# --- the rules and the one access check, directly ------------------------------------


def test_buyers_may_not_change_internal_or_seller_tasks() -> None:
    assert can_set_task_status("buyer", "buyer", True) == "That task isn't part of this plan."
    assert can_set_task_status("buyer", "mutual", True) == "That task isn't part of this plan."
    assert "seller task" in (can_set_task_status("buyer", "seller", False) or "")
    assert can_set_task_status("buyer", "buyer", False) is None
    assert can_set_task_status("buyer", "mutual", False) is None
    assert can_set_task_status("seller", "seller", True) is None


def test_a_buyer_completing_an_internal_task_id_is_refused_as_not_found(
    h: Harness, db: Database
) -> None:
    """Through the service itself (the listener's lookup refuses first): the rule's
    internal branch says "not found", so the task's existence doesn't leak."""
    two_deals(h, db)
    d = deal(db)
    buyer = Actor(user_id="W0MIKE", side="buyer", team_id=SELLER_TEAM)
    with db.write() as s:
        plan, task = s.get(Plan, d.plan), s.get(Task, d.internal_task)
        assert plan is not None and task is not None
        with pytest.raises(services.DomainError, match="^That task isn't part of this plan.$"):
            services.set_task_status(s, buyer, plan, task, "completed")
        seller_task = s.get(Task, d.seller_task)
        assert seller_task is not None
        with pytest.raises(services.Forbidden, match="seller task"):
            services.set_task_status(s, buyer, plan, seller_task, "completed")
    # And over HTTP, from the card and from Home.
    for task, where in ((d.internal_task, "card"), (d.seller_task, "home")):
        watch = Watch(h, MIKE[0])
        send(
            h,
            watch,
            action_body(h, MIKE, button(ids.TASK_COMPLETE, ids.task_value(d.plan, task)), where),
        )
        assert watch.wait_refused()
        assert INTERNAL not in " ".join(watch.seen())
    assert _status(db, d.internal_task) == "not_started"
    assert _status(db, d.seller_task) == "not_started"


def test_plan_for_answers_outsiders_as_not_found(db: Database) -> None:
    ours = _our_plan(db)
    buyer = Actor(user_id="W0MIKE", side="buyer", team_id=SELLER_TEAM)
    with db.write() as s:
        membership.record_members(s, SELLER_TEAM, CHANNEL, ["W0MIKE"])
        membership.record_members(s, SELLER_TEAM, OTHER, ["W0OTTO"])
    otto = Actor(user_id="W0OTTO", side="buyer", team_id=SELLER_TEAM)
    with db.read() as s:
        assert plan_for(s, buyer, ours).id == ours
        assert plan_for(s, buyer, ours, CHANNEL).id == ours
        assert plan_for(s, _seller(), ours).id == ours  # sellers: the team is enough
        for who, plan, channel in (
            (otto, ours, ""),  # not in its channel
            (buyer, ours, OTHER),  # named from another channel
            (_seller("T0THEMSELLER"), ours, ""),  # another workspace
            (buyer, ours + 999, ""),  # no such plan
            (buyer, None, ""),
        ):
            with pytest.raises(services.NotFound) as refused:
                plan_for(s, who, plan, channel)
            assert refused.value.message == NOT_FOUND
