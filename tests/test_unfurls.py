"""Plan links that unfurl, end to end: a person posts `PUBLIC_URL/p/<plan>[/t/<n>]`,
Slack sends `link_shared` (signed, into the real app), the outbox worker calls
`chat.unfurl` (checked by the stand-in: scope, shared URLs, valid blocks, Work
Object metadata) — only where everyone in the conversation may read what it
shows — and the unfurl's Complete button is checked like any click."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode

import pytest
from sqlalchemy import select

from bot import ids
from bot.local_slack import payloads
from storage.db import Database
from storage.models import Outbox, Task
from tests.harness import BUYER_TEAM, CHANNEL, SELLER_TEAM, Harness, running_app

BASE = "https://mapbot.example.com"
SELLERS_ONLY = "C0SELLERS"  # the seller team's own channel
OTHER_SHARED = "C0OTHERDEAL"  # shared with Monsters too, but not this plan's channel


@pytest.fixture
def u(db: Database) -> Iterator[Harness]:
    with running_app(db, settings={"public_url": BASE}) as h:
        h.local.add_channel(SELLERS_ONLY, "lexcorp-deals", members=["U0LEX", "U0MERCY"])
        h.local.add_channel(OTHER_SHARED, "other-deal", shared=True)
        assert h.command("create Monsters rollout go-live 2027-03-01").status == 200
        assert h.command("add Fill security questionnaire owner buyer <@W0MIKE|mike>").status == 200
        assert (
            h.command("add Send SOC 2 report owner seller <@U0LEX|lex> due 2027-01-15").status
            == 200
        )
        assert h.command("add Discount approval internal").status == 200
        h.settle()
        yield h
        assert h.local.violations == []


def plan_id(db: Database) -> int:
    with db.read() as s:
        return int(s.scalars(select(Task.plan_id)).first() or 0)


def share(
    h: Harness, text: str, *, user: str = "U0LEX", channel: str = CHANNEL, composer: bool = False
) -> dict[str, Any]:
    """Post `text`; what each of its links unfurled to (url → its blocks)."""
    body = h.local.unfurls.share(channel, user, text, SELLER_TEAM, composer=composer)
    assert h.signed(body, json_body=True).status == 200
    h.settle()
    ts = json.loads(body)["event"]["message_ts"]
    return h.local.unfurls.shared[(channel, ts)].unfurls


def _why_empty(h: Harness, db: Database) -> str:
    """What happened instead of an unfurl: the calls Slack saw and the outbox rows."""
    with db.read() as s:
        rows = [(o.kind, o.state, o.attempts, o.error) for o in s.scalars(select(Outbox))]
    calls = [(c.method, c.status, c.result.get("error")) for c in h.local.calls]
    return f"outbox {rows}; calls {calls}"


def test_a_task_link_unfurls_with_status_assignee_due_and_a_button(
    u: Harness, db: Database
) -> None:
    url = f"{BASE}/p/{plan_id(db)}/t/2"
    shown = share(u, f"where are we on <{url}>?")
    assert url in shown, _why_empty(u, db)
    text = json.dumps(shown[url]["blocks"])
    assert "Send SOC 2 report" in text and "Seller" in text and "Jan 15" in text
    assert "lex" in text or "U0LEX" in text
    assert ids.UNFURL_COMPLETE in text
    (call,) = u.local.calls_to("chat.unfurl")
    (entity,) = (
        call.params["metadata"]["entities"]
        if isinstance(call.params["metadata"], dict)
        else json.loads(call.params["metadata"])["entities"]
    )
    assert entity["entity_type"] == "slack#/entities/task"
    assert entity["app_unfurl_url"] == url
    fields = entity["entity_payload"]["fields"]
    assert fields["status"]["value"] == "Not started"
    assert fields["assignee"]["user"]["user_id"] == "U0LEX"
    assert fields["due_date"]["value"] == "2027-01-15"


def test_a_plan_link_shows_progress_without_internal_tasks(u: Harness, db: Database) -> None:
    url = f"{BASE}/p/{plan_id(db)}"
    shown = share(u, f"<{url}>")
    assert url in shown, _why_empty(u, db)
    text = json.dumps(shown[url]["blocks"])
    assert "Monsters rollout" in text and "0 of 2 tasks" in text  # the internal one not counted
    assert "Discount" not in text


def test_nothing_internal_unfurls_where_a_buyer_can_read_it(u: Harness, db: Database) -> None:
    url = f"{BASE}/p/{plan_id(db)}/t/3"
    assert share(u, f"<{url}>") == {}  # the deal channel: buyers are in it
    assert share(u, f"<{url}>", channel=OTHER_SHARED) == {}
    seller_only = share(u, f"<{url}>", channel=SELLERS_ONLY)
    assert "Discount approval" in json.dumps(seller_only[url]["blocks"])


def test_a_channel_with_anyone_outside_the_seller_team_gets_nothing(
    u: Harness, db: Database
) -> None:
    url = f"{BASE}/p/{plan_id(db)}/t/1"
    assert share(u, f"<{url}>", channel=OTHER_SHARED) == {}  # other organisations are in it
    u.local.add_channel("C0WITHGUEST", "with-guest", members=["U0LEX", "U0GUEST"])
    assert share(u, f"<{url}>", channel="C0WITHGUEST") == {}  # a guest is buyer side
    assert not u.local.calls_to("chat.unfurl")


def test_buyers_unfurl_only_what_they_may_reach(u: Harness, db: Database) -> None:
    url = f"{BASE}/p/{plan_id(db)}/t/1"
    mine = share(u, f"<{url}>", user="W0MIKE")  # in the deal channel: the buyer view
    assert url in mine, _why_empty(u, db)
    assert "Fill security questionnaire" in json.dumps(mine[url]["blocks"])
    u.local.add_channel("C0SULLEY", "sulley-dm-ish", members=["W0SULLEY", "U0LEX", "U0MERCY"])
    # Sulley posting where the link would reach nobody new still needs to reach the plan:
    # here the audience has a buyer, so nothing unfurls either way.
    assert share(u, f"<{url}>", user="W0SULLEY", channel="C0SULLEY") == {}


def test_links_not_ours_queue_nothing(u: Harness, db: Database) -> None:
    for text in (
        "<https://evil.example.com/p/1>",
        f"<{BASE}/q/1>",
        f"<{BASE}/p/abc>",
        f"<http://mapbot.example.com/p/{plan_id(db)}>",  # another scheme
    ):
        assert share(u, text) == {}
    with db.read() as s:
        assert "refresh.unfurl" not in set(s.scalars(select(Outbox.kind)))
    assert share(u, f"<{BASE}/p/99999/t/1>") == {}  # ours, but no such plan: queued, not sent
    assert not u.local.calls_to("chat.unfurl")


def test_a_composer_unfurl_uses_its_unfurl_id(u: Harness, db: Database) -> None:
    url = f"{BASE}/p/{plan_id(db)}/t/1"
    assert share(u, f"<{url}>", composer=True), _why_empty(u, db)
    (call,) = u.local.calls_to("chat.unfurl")
    assert call.params["source"] == "composer" and call.params["unfurl_id"]
    assert "ts" not in call.params or not call.params["ts"]


def unfurl_click_body(h: Harness, who: tuple[str, str], value: str, ts: str) -> str:
    """A click on the Complete button of the unfurl of the message `ts`."""
    action = {"action_id": ids.UNFURL_COMPLETE, "block_id": "b", "value": value, "type": "button"}
    raw = payloads.block_actions_body(
        user_id=who[0],
        user_team_id=who[1],
        team_id=SELLER_TEAM,
        channel_id=CHANNEL,
        action=action,
        message_ts=ts,
        response_url=h.local.response_url(CHANNEL, who[0]),
    )
    payload = json.loads(parse_qs(raw)["payload"][0])
    payload["container"] = {
        "type": "message_attachment",
        "message_ts": ts,
        "channel_id": CHANNEL,
        "is_ephemeral": False,
        "is_app_unfurl": True,
    }
    return urlencode({"payload": json.dumps(payload)})


def click_unfurl(h: Harness, who: tuple[str, str], value: str, ts: str) -> None:
    assert h.signed(unfurl_click_body(h, who, value, ts)).status == 200
    h.settle()


def test_the_unfurls_complete_button_is_checked_like_any_click(u: Harness, db: Database) -> None:
    pid = plan_id(db)
    url = f"{BASE}/p/{pid}/t/1"
    body = u.local.unfurls.share(CHANNEL, "W0MIKE", f"<{url}>", SELLER_TEAM)
    assert u.signed(body, json_body=True).status == 200
    u.settle()
    ts = json.loads(body)["event"]["message_ts"]
    with db.read() as s:
        tid = {t.number: t.id for t in s.scalars(select(Task))}
    buyer = ("W0MIKE", BUYER_TEAM)
    click_unfurl(u, buyer, ids.task_value(pid, tid[2]), ts)  # a seller task: refused
    click_unfurl(u, buyer, ids.task_value(pid, tid[3]), ts)  # internal: does not exist for them
    click_unfurl(u, buyer, ids.task_value(pid + 1, tid[1]), ts)  # crafted plan id
    click_unfurl(u, buyer, "garbage", ts)
    with db.read() as s:
        assert not list(s.scalars(select(Task).where(Task.status == "completed")))
    click_unfurl(u, buyer, ids.task_value(pid, tid[1]), ts)
    with db.read() as s:
        assert s.get_one(Task, tid[1]).status == "completed"
    # The unfurl shows it: completed, no button.
    shown = u.local.unfurls.shared[(CHANNEL, ts)].unfurls[url]
    text = json.dumps(shown["blocks"])
    assert "Completed" in text and ids.UNFURL_COMPLETE not in text


def test_a_plan_link_opened_in_a_browser_shows_nothing_of_the_plan(
    u: Harness, db: Database
) -> None:
    page = u.get(f"/p/{plan_id(db)}/t/1")
    assert page.status == 200 and "MAP bot" in page.body
    assert "Monsters" not in page.body and "questionnaire" not in page.body
    assert u.get("/p/abc").status == 404
    assert u.get("/p/1/t/").status == 404
