"""Internal means seller-only, on every surface: a plan full of internal tasks
(titles marked SECRET), a Slack Connect buyer and a guest working it over HTTP,
and every Web API call the stand-in recorded that a buyer can read checked for
the marker — the card, the Full plan modal and its pages, task menus, the comment
modal, App Home, slash replies to a guest, template commands, channel nudges and
digests, DMs, the go-live announcement, the Summary button's modal and the summary
shared in the channel.

Sellers' surfaces must show the marker (the test would pass vacuously otherwise).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update

from bot import ids
from reminders import delivery
from reminders.tick import tick
from storage.db import Database
from storage.models import Plan, Task
from tests.conftest import FixedClock
from tests.harness import BUYER_TEAM, SELLER_TEAM, Harness, Response
from tests.test_home_events import open_home
from tests.test_modals import button, click, crafted_menu, last_view

MARK = "SECRET"
SELLER = ("U0LEX", SELLER_TEAM)
BUYER = ("W0MIKE", BUYER_TEAM)
GUEST = ("U0GUEST", SELLER_TEAM)  # a guest of the seller team: can run slash commands
BUYERS = {"W0MIKE", "W0SULLEY", "U0GUEST"}
PLAYBOOK = """name: playbook
milestones:
  - title: Commercials
    tasks:
      - title: SECRET approve the discount
        owner: seller
        due: 10 business days before go-live
        internal: true
      - title: Confirm the order form
        owner: buyer
        due: 5 business days before go-live
"""


class Reader:
    """Which recorded calls, replies and response_url posts a buyer can read."""

    def __init__(self, h: Harness) -> None:
        self.h = h
        self.buyer_calls: set[int] = set()  # views opened for a buyer, by call index
        self.buyer_posts: set[int] = set()  # response_url posts for a buyer
        self.buyer_replies: list[str] = []

    def as_buyer(self, act: Any) -> Response:
        """Run `act()` as a buyer: every view and response it produced is theirs."""
        calls, posts = len(self.h.local.calls), len(self.h.local.response_posts)
        resp: Response = act()
        self.h.settle()
        self.buyer_calls |= set(range(calls, len(self.h.local.calls)))
        self.buyer_posts |= set(range(posts, len(self.h.local.response_posts)))
        self.buyer_replies.append(resp.body)
        return resp

    def surfaces(self) -> dict[str, list[str]]:
        """Everything a buyer can read, by surface; and, under "seller", the rest."""
        out: dict[str, list[str]] = {}
        for i, call in enumerate(self.h.local.calls):
            p = call.params
            text = json.dumps(p, ensure_ascii=False)
            channel = str(p.get("channel", ""))
            if call.method in ("chat.postMessage", "chat.update"):
                if channel.startswith("C"):  # the deal channel, shared with the buyer
                    key = "channel"
                elif channel.removeprefix("D") in BUYERS:
                    key = "buyer DM"
                else:
                    key = "seller"
            elif call.method == "chat.postEphemeral":
                key = "buyer ephemeral" if p.get("user") in BUYERS else "seller"
            elif call.method == "views.publish":
                key = "buyer home" if p.get("user_id") in BUYERS else "seller"
            elif call.method.startswith("views."):
                key = "buyer view" if i in self.buyer_calls else "seller"
            else:
                continue
            out.setdefault(key, []).append(text)
        for i, post in enumerate(self.h.local.response_posts):
            key = "buyer response_url" if i in self.buyer_posts else "seller"
            out.setdefault(key, []).append(json.dumps(post.params, ensure_ascii=False))
        out["buyer reply"] = self.buyer_replies
        return out


def _cmd(h: Harness, text: str, who: tuple[str, str] = SELLER) -> Response:
    resp = h.command(text, user=who[0], team=who[1])
    assert resp.status == 200, resp.body
    return resp


def _menu_options(h: Harness) -> list[dict[str, Any]]:
    """Every overflow option of every task on the card, as selections."""
    card = h.card()
    assert card is not None
    return [
        {
            "action_id": ids.TASK_MENU,
            "block_id": b["block_id"],
            "type": "overflow",
            "selected_option": option,
        }
        for b in card["blocks"]
        if b["type"] == "section" and b.get("accessory", {}).get("action_id") == ids.TASK_MENU
        for option in b["accessory"]["options"]
    ]


def _setup(h: Harness, db: Database) -> tuple[int, list[int]]:
    """A deal with internal work everywhere; returns the plan id and internal task ids."""
    _cmd(h, "help", ("U0MERCY", SELLER_TEAM))  # Mercy is known to be a seller
    _cmd(h, f"template import playbook\n{PLAYBOOK}")
    _cmd(h, "create Monsters rollout go-live 2027-06-01")
    _cmd(h, "milestone add Security review")
    _cmd(h, "add Fill security questionnaire owner buyer <@W0MIKE|mike> due 2027-03-15")
    _cmd(h, "add Send the signed NDA owner seller <@W0MIKE|mike> due 2027-03-15")
    _cmd(h, "add Agree the kickoff agenda due 2027-03-15")  # mutual, unassigned
    _cmd(h, "add SECRET margin floor internal owner seller <@U0MERCY|mercy> due 2027-03-15")
    _cmd(h, "add SECRET legacy buyer-held internal owner buyer due 2027-03-15")
    _cmd(h, "add SECRET mutual internal due 2027-03-15")
    _cmd(h, "add SECRET mine internal owner seller <@U0LEX|lex> due 2027-03-15")
    assert "Laid out *2* tasks" in _cmd(h, "extend playbook").body
    with db.write() as s:
        plan_id = s.scalars(select(Plan.id)).one()
        # Legacy data from before the rule: an internal task held by a buyer.
        s.execute(update(Task).where(Task.title.like("%buyer-held%")).values(assignee_id="W0MIKE"))
        internal = list(s.scalars(select(Task.id).where(Task.internal.is_(True))))
    h.settle()
    return plan_id, internal


def test_no_buyer_readable_call_mentions_an_internal_task(
    h: Harness, db: Database, fixed_clock: FixedClock
) -> None:
    fixed_clock.set(datetime(2027, 3, 15, 13, 0, tzinfo=UTC))  # Monday, before 09:00 anywhere
    plan_id, internal = _setup(h, db)
    r = Reader(h)

    # The card, then everything a buyer can open from it.
    r.as_buyer(lambda: click(h, button(ids.PLAN_FULL, str(plan_id)), BUYER))
    page = last_view(h)
    while True:
        nav = [b for b in page["blocks"] if b.get("block_id") == "plan.nav"]
        nexts = [e for b in nav for e in b["elements"] if e["text"]["text"].startswith("Next")]
        if not nexts:
            break
        r.as_buyer(
            lambda v=nexts[0]["value"], p=page: click(
                h, button(ids.PLAN_PAGE, v), BUYER, container_view=p
            )
        )
        page = last_view(h, "views.update")
    options = _menu_options(h)
    assert len(options) >= 10, "every visible task's menu"
    for option in options:
        r.as_buyer(lambda o=option: click(h, o, BUYER))
    for task_id in internal:  # crafted: the menu of a task the card never showed
        for verb in ids.TASK_MENU_VERBS:
            r.as_buyer(lambda v=verb, t=task_id: click(h, crafted_menu(v, plan_id, t), BUYER))
    r.as_buyer(lambda: click(h, button(ids.PLAN_FULL, str(plan_id)), GUEST))
    for who in (BUYER, GUEST):  # the card's Summary button: the clicker's side's summary
        r.as_buyer(lambda w=who: click(h, button(ids.PLAN_SUMMARY, str(plan_id)), w))
    for number in (2, 1):  # a seller task (refused), then their own
        value = h.button_value(ids.TASK_COMPLETE, number)
        r.as_buyer(lambda v=value: h.click(ids.TASK_COMPLETE, v, user=BUYER[0], user_team=BUYER[1]))

    # App Home; slash commands as a guest (templates included).
    for who in ("W0MIKE", "U0GUEST"):
        r.as_buyer(lambda w=who: Response(200, json.dumps(open_home(h, w))))
    for text in (
        "status",
        "mine",
        "template list",
        "template show playbook",
        "template export playbook",
        "template show enterprise",
        "template save leak",
        "extend playbook",
        "golive 2027-07-01",
    ):
        r.as_buyer(lambda t=text: _cmd(h, t, GUEST))
    refused = [json.loads(b) for b in r.buyer_replies[-9:-3]]
    assert all("seller team's playbooks" in json.dumps(b) for b in refused[2:]), refused
    for text in ("summary", "summary share", "health", "health stall 3"):
        r.as_buyer(lambda t=text: _cmd(h, t, GUEST))
    assert "Only the seller team" in r.buyer_replies[-3] + r.buyer_replies[-1]

    # The seller shares the summary: the buyer-safe version goes through the outbox.
    assert "Posting the summary" in _cmd(h, "summary share").body
    assert "SECRET" in _cmd(h, "summary").body, "the seller's own summary is complete"
    shared = delivery.deliver(db, h.bot.deps.workspaces.client_for, "test", pace=0)
    assert shared.sent == 1

    # Go-live moves (the seller applies it): the channel hears which dates moved.
    preview = _cmd(h, "golive 2027-07-01").json()
    apply = next(
        e
        for b in preview["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == ids.GOLIVE_APPLY
    )
    assert MARK in json.dumps(preview), "the seller's preview lists internal moves"
    h.click(ids.GOLIVE_APPLY, apply["value"], user="U0LEX", user_team=SELLER_TEAM)
    h.settle()

    # 18:00 UTC Monday: 09:00 has passed in every zone; nudges, the weekly digest
    # and the rep's digest go out.
    at = datetime(2027, 3, 15, 18, 0, tzinfo=UTC)
    fixed_clock.set(at)
    result = tick(db, at, h.bot.deps.workspaces.client_for)  # Slack's pace: ~1/s a channel
    assert result.delivery.sent == result.due > 0

    click(h, button(ids.PLAN_FULL, str(plan_id)), SELLER)
    seen = r.surfaces()
    for surface, texts in seen.items():
        if surface != "seller":
            leaks = [t for t in texts if MARK in t]
            assert not leaks, f"{surface}: {leaks[0][:300]}"
    for surface in (
        "channel",
        "buyer DM",
        "buyer view",
        "buyer home",
        "buyer reply",
    ):
        assert seen.get(surface), f"{surface} was never exercised"
    assert seen.get("buyer response_url") or seen.get("buyer ephemeral"), "a refusal"
    channel = "\n".join(seen["channel"])
    assert "moved the target go-live" in channel and "Confirm the order form" in channel
    assert "Fill security questionnaire" in channel and "digest" in channel.lower()
    assert "Summary: Monsters rollout" in channel and "Who owns what" in channel
    assert any("Send the signed NDA" in t for t in seen["buyer DM"]), "a buyer's own DM nudge"
    # The marker does reach the seller: their DMs, digest, full plan and previews.
    seller = "\n".join(seen["seller"])
    for title in ("SECRET margin floor", "SECRET mine", "SECRET legacy", "SECRET approve"):
        assert title in seller, title
