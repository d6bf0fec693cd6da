"""Webhooks end to end: `/map webhook …` through the real app over signed HTTP,
changes made through the app, events delivered by the outbox worker to a
loopback receiver that verifies every signature with `standardwebhooks` and
counts what it got; payloads checked against the published JSON Schema."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from sqlalchemy import select

from reminders import delivery
from storage import clock
from storage.db import Database
from storage.models import Outbox, WebhookEndpoint
from tests.harness import Harness
from tests.test_modals import BUYER, click, last_view, menu, ok, state_of, submit
from tests.webhook_receiver import Receiver, receiving

SCHEMA = json.loads(
    (Path(__file__).parent.parent / "docs/webhooks/event.v1.schema.json").read_text()
)
KEY = "test-only passphrase long enough to stretch into a key"


@pytest.fixture
def hooks_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAPBOT_SECRET_KEY", KEY)
    monkeypatch.setenv("MAPBOT_WEBHOOK_ALLOW_PRIVATE", "1")  # the receiver is on loopback
    monkeypatch.setenv("MAPBOT_WEBHOOK_TIMEOUT", "0.5")


@pytest.fixture
def rx(hooks_env: None) -> Iterator[Receiver]:
    with receiving() as receiver:
        yield receiver


def say(h: Harness, text: str, user: str = "U0LEX") -> str:
    resp = h.command(text, user=user)
    assert resp.status == 200, resp.body
    return json.dumps(resp.json(), ensure_ascii=False)


def add_hook(h: Harness, rx: Receiver, path: str, *, internal: bool = False) -> int:
    said = say(h, f"webhook add <{rx.url(path)}>{' internal' if internal else ''}")
    m = re.search(r"Added webhook (\d+).*?`(whsec_[A-Za-z0-9+/=]+)`", said)
    assert m, said
    rx.secrets[path] = m.group(2)
    return int(m.group(1))


def pump(h: Harness, db: Database, at: datetime | None = None) -> delivery.DeliveryResult:
    """One run of the outbox worker (what `mapbot worker` and every tick do)."""
    when = at or clock.now()
    return delivery.deliver(
        db, h.bot.deps.workspaces.client_for, "test-worker", pace=0, now=lambda: when
    )


def types(bodies: list[dict[str, Any]]) -> list[str]:
    return [b["type"] for b in bodies]


def valid(bodies: list[dict[str, Any]]) -> None:
    for b in bodies:
        jsonschema.validate(b, SCHEMA, format_checker=jsonschema.FormatChecker())


def test_every_event_once_signed_and_internal_only_to_internal(
    h: Harness, db: Database, rx: Receiver
) -> None:
    add_hook(h, rx, "/buyer-safe")
    add_hook(h, rx, "/internal", internal=True)
    say(h, "create Scare Floor rollout go-live 2027-03-01")
    say(h, "milestone add Security review")
    say(h, "add Fill security questionnaire to Security review owner buyer due 2026-12-10")
    say(h, "add Discount approval to Security review internal")
    say(h, "assign #1 <@W0MIKE|mike>")
    say(h, "due #1 2026-12-12")
    say(h, "start #1")
    h.settle()
    click(h, menu(h, "comment", 1), BUYER)  # the buyer comments from the card
    view = last_view(h)
    ok(submit(h, view, state_of(view, f_comment="Sent <!here>"), BUYER))
    say(h, "done #1")  # the buyers' Security review is complete; the sellers' is not
    say(h, "golive 2027-04-01")
    say(h, "done #2")  # now the sellers' is too
    pump(h, db)

    public, internal = rx.delivered("/buyer-safe"), rx.delivered("/internal")
    valid(public + internal)
    assert types(public) == [
        "plan.created",
        "task.created",
        "task.assigned",
        "task.due_changed",
        "task.status_changed",
        "comment.added",
        "task.status_changed",
        "task.completed",
        "milestone.completed",
        "plan.target_moved",
    ]
    assert types(internal) == [
        "plan.created",
        "task.created",
        "task.created",  # the internal task
        "task.assigned",
        "task.due_changed",
        "task.status_changed",
        "comment.added",
        "task.status_changed",
        "task.completed",
        "plan.target_moved",
        "task.status_changed",
        "task.completed",
        "milestone.completed",  # when the sellers' view of it completes
    ]
    # Nothing internal, no seller-only field, ever reaches the other endpoint.
    raw = json.dumps(public)
    assert "Discount approval" not in raw and "seller_only" not in raw
    assert all("seller_only" in b["data"]["task"] for b in internal if "task" in b["data"])
    # Each event once per endpoint, its webhook-id the event id.
    for path in ("/buyer-safe", "/internal"):
        got = rx.tried(path)
        assert all(a.verified and a.webhook_id for a in got)
        assert [a.webhook_id for a in got] == [b["id"] for b in rx.delivered(path)]
        assert max(Counter(a.webhook_id for a in got).values()) == 1
    comment = next(b for b in public if b["type"] == "comment.added")["data"]
    assert comment["comment"]["body"] == "Sent <!here>" and comment["task"]["number"] == 1
    moved = next(b for b in public if b["type"] == "plan.target_moved")["data"]["change"]
    assert moved == {"before": "2027-03-01", "after": "2027-04-01"}
    assert pump(h, db).sent == 0, "nothing is sent twice"


def test_a_retry_after_500_and_after_a_timeout_carries_the_same_id(
    h: Harness, db: Database, rx: Receiver
) -> None:
    add_hook(h, rx, "/flaky")
    rx.plan["/flaky"] = ["500", "slow"]
    say(h, "create Scare Floor rollout")
    at = clock.now()
    first = pump(h, db, at)
    assert (first.sent, first.retried) == (0, 1)
    assert pump(h, db, at + timedelta(seconds=1)).sent == 0, "waits for its backoff"
    second = pump(h, db, at + timedelta(seconds=31))  # first retry within 15–30 s
    assert (second.sent, second.retried) == (0, 1), "timed out"
    third = pump(h, db, at + timedelta(seconds=120))
    assert third.sent == 1
    tried = rx.tried("/flaky")
    assert [a.status for a in tried] == [500, 0, 204]
    assert len({a.webhook_id for a in tried}) == 1, "one event id on every attempt"
    # Each attempt signed afresh (its own timestamp header) and verified.
    assert all(a.verified for a in tried)
    assert [b["type"] for b in rx.delivered("/flaky")] == ["plan.created"]


def test_429_waits_for_retry_after(h: Harness, db: Database, rx: Receiver) -> None:
    add_hook(h, rx, "/busy")
    rx.plan["/busy"] = ["429:600"]
    say(h, "create Scare Floor rollout")
    at = clock.now()
    pump(h, db, at)
    assert pump(h, db, at + timedelta(seconds=590)).sent == 0
    assert pump(h, db, at + timedelta(seconds=601)).sent == 1
    with db.read() as s:
        assert s.scalars(select(WebhookEndpoint.failures)).one() == 0


def test_repeated_failures_disable_the_endpoint_with_a_dm(
    h: Harness, db: Database, rx: Receiver
) -> None:
    hook = add_hook(h, rx, "/down")
    healthy = add_hook(h, rx, "/up")
    rx.always["/down"] = "500"
    say(h, "create Scare Floor rollout")
    at = clock.now()
    for _ in range(40):
        at += timedelta(hours=1)
        pump(h, db, at)
    tries = len(rx.tried("/down"))
    assert tries == 15, "disabled at the 15th failure in a row"
    with db.read() as s:
        endpoint = s.get(WebhookEndpoint, hook)
        assert endpoint is not None and endpoint.disabled_at is not None
    dms = [m for m in h.local.messages(h.local.dm_channel("U0LEX"))]
    assert any("stopped sending webhooks" in m.text and f"webhook {hook}" in m.text for m in dms)
    # None after: a new event goes to the healthy endpoint only.
    say(h, "add Send pricing")
    pump(h, db, at + timedelta(hours=1))
    assert len(rx.tried("/down")) == tries
    assert types(rx.delivered("/up")) == ["plan.created", "task.created"]
    assert "disabled" in say(h, "webhook list")
    assert healthy != hook


def test_an_event_is_given_up_after_24_hours(h: Harness, db: Database, rx: Receiver) -> None:
    add_hook(h, rx, "/slowly")
    rx.always["/slowly"] = "429:36000"  # busy (held at most an hour): never a failure
    say(h, "create Scare Floor rollout")
    at = clock.now()
    for hours in (0, 11, 22):
        pump(h, db, at + timedelta(hours=hours))
    with db.read() as s:
        assert s.scalars(select(Outbox.state).where(Outbox.kind == "webhook")).one() == "pending"
    pump(h, db, at + timedelta(hours=23.5))  # its next try would be past 24 hours
    with db.read() as s:
        row = s.scalars(select(Outbox).where(Outbox.kind == "webhook")).one()
        assert row.state == "failed" and row.error and "gave up after 24 h" in row.error


def test_a_redirect_is_not_followed(h: Harness, db: Database, rx: Receiver) -> None:
    add_hook(h, rx, "/moved")
    rx.plan["/moved"] = ["redirect"]
    say(h, "create Scare Floor rollout")
    result = pump(h, db)
    assert result.failed == 1 and len(rx.attempts) == 1, "the Location was never fetched"


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://localhost/hook",
        "https://10.1.2.3/hook",
        "https://192.168.0.10/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://[fe80::1]/hook",
        "https://[64:ff9b::a00:1]/hook",  # NAT64 of 10.0.0.1
        "https://224.0.0.1/hook",
        "https://0.0.0.0/hook",
        "https://2130706433/hook",  # 127.0.0.1 written as a number
        "http://93.184.215.14/hook",  # public, but not https
        "https://user:pw@93.184.215.14/hook",
    ],
)
def test_a_private_address_or_plain_http_is_refused(
    h: Harness, db: Database, monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    monkeypatch.setenv("MAPBOT_SECRET_KEY", KEY)
    monkeypatch.delenv("MAPBOT_WEBHOOK_ALLOW_PRIVATE", raising=False)
    said = say(h, f"webhook add <{url}>")
    assert ":warning:" in said and "whsec_" not in said
    with db.read() as s:
        assert s.scalars(select(WebhookEndpoint)).all() == []


def test_the_address_is_checked_again_at_send_time(
    h: Harness, db: Database, rx: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_hook(h, rx, "/rebind")
    say(h, "create Scare Floor rollout")
    # Allowed when added; the name (here the address) is private when it is sent.
    monkeypatch.delenv("MAPBOT_WEBHOOK_ALLOW_PRIVATE")
    result = pump(h, db)
    assert result.retried == 1 and rx.attempts == []
    with db.read() as s:
        error = s.scalars(select(Outbox.error).where(Outbox.kind == "webhook")).one()
        assert error and error.startswith("refused:")


def test_webhooks_are_the_seller_teams(h: Harness, db: Database, rx: Receiver) -> None:
    hook = add_hook(h, rx, "/mine")
    for text in ("webhook add <https://example.com/x>", "webhook list", f"webhook remove {hook}"):
        said = say(h, text, user="U0GUEST")  # a guest: buyer side, and can run commands
        assert "Webhooks are the seller team's" in said, said
        assert rx.url("/mine") not in said
    with db.read() as s:
        assert len(s.scalars(select(WebhookEndpoint)).all()) == 1


def test_secret_shown_once_and_stored_encrypted(h: Harness, db: Database, rx: Receiver) -> None:
    hook = add_hook(h, rx, "/sealed")
    secret = rx.secrets["/sealed"]
    listed = say(h, "webhook list")
    assert rx.url("/sealed") in listed and secret not in listed
    with db.read() as s:
        stored = s.get(WebhookEndpoint, hook)
        assert stored is not None and secret not in stored.secret
        assert secret[len("whsec_") :] not in stored.secret
    assert "Queued a test event to 1 webhook" in say(h, f"webhook test {hook}")
    pump(h, db)
    (got,) = rx.delivered("/sealed")
    valid([got])
    assert got["type"] == "webhook.test"
    assert "Removed webhook" in say(h, f"webhook remove {hook}")
    say(h, "create Scare Floor rollout")
    pump(h, db)
    assert len(rx.attempts) == 1, "nothing goes to a removed endpoint"


def test_without_a_secret_key_webhooks_are_refused(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MAPBOT_SECRET_KEY", raising=False)
    monkeypatch.setenv("MAPBOT_WEBHOOK_ALLOW_PRIVATE", "1")
    said = say(h, "webhook add <http://127.0.0.1:9/x>")
    assert "MAPBOT_SECRET_KEY is not set" in said and "whsec_" not in said


def test_a_change_of_health_is_an_event(h: Harness, db: Database, rx: Receiver) -> None:
    """Plan health is recorded by the reminder pass (storage.health_services.record);
    each change of state is one plan.health_changed, to every endpoint."""
    from storage import health_services
    from storage.models import Plan

    add_hook(h, rx, "/health")
    say(h, "create Scare Floor rollout")
    with db.read() as s:
        plan_id = s.scalars(select(Plan.id)).one()
    day = clock.now().date()
    # Not an unchanged state: record's bulk UPDATE for it fails (insight, reported).
    for state in ("on_track", "at_risk"):
        with db.read() as s:  # what the pass read before (insight's reminder pass)
            row = s.get(health_services.PlanHealth, plan_id)
            before = {plan_id: row.state if row else None}
        with db.write() as s:
            assessed = health_services.Assessed(plan_id, state, ("2 buyer tasks overdue",), day)
            health_services.record(s, [assessed], before)
    pump(h, db)
    got = rx.delivered("/health")
    valid(got)
    changes = [b["data"]["change"] for b in got if b["type"] == "plan.health_changed"]
    assert changes == [
        {"before": None, "after": "on_track"},
        {"before": "on_track", "after": "at_risk"},
    ]


def test_a_team_has_at_most_ten_webhooks(h: Harness, db: Database, rx: Receiver) -> None:
    for n in range(10):
        add_hook(h, rx, f"/n{n}")
    said = say(h, f"webhook add <{rx.url('/eleventh')}>")
    assert "at most 10 webhooks" in said and "whsec_" not in said


def test_a_url_arrives_as_slack_escapes_it(h: Harness, db: Database, rx: Receiver) -> None:
    """should_escape: Slack sends `<url|label>` with `&` as `&amp;`."""
    said = say(h, f"webhook add <{rx.url('/q')}?a=1&amp;b=2|{rx.url('/q')}?a=1&amp;b=2>")
    m = re.search(r"`(whsec_[A-Za-z0-9+/=]+)`", said)
    assert m, said
    rx.secrets["/q?a=1&b=2"] = m.group(1)
    with db.read() as s:
        assert s.scalars(select(WebhookEndpoint.url)).one() == rx.url("/q") + "?a=1&b=2"
    say(h, "create Scare Floor rollout")
    pump(h, db)
    assert types(rx.delivered("/q?a=1&b=2")) == ["plan.created"]
