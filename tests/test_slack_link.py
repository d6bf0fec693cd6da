"""Slack's state as a process sees it (bot/slack_link.py), against the stand-in:
a refusal is `refused` with Slack's code, a 5xx or 429 is `unreachable` (no answer
about the token), retries back off and stop once Slack answers, Bolt is handed
the auth.test answer (so no request waits for its own), and /healthz carries the
state beside the database's, 503 only for the database."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from bot import observability
from bot.app import build
from bot.config import Settings
from bot.local_slack import LocalSlack, payloads
from bot.server import wsgi_app
from bot.slack_link import bot_token_link
from storage.db import Database
from tests.harness import SECRET, Harness, serve_wsgi

GOOD = "xoxb-good"


@pytest.fixture
def local() -> Iterator[LocalSlack]:
    with LocalSlack(tokens={GOOD}) as slack:
        yield slack


def _settings(local: LocalSlack, token: str, db: Database | None = None) -> Settings:
    return Settings(
        bot_token=token,
        signing_secret=SECRET,
        slack_api_url=local.base_url,
        **({"database_url": db.url} if db else {}),
    )


def test_refused_then_accepted_with_backoff(local: LocalSlack) -> None:
    link = bot_token_link(_settings(local, "xoxb-wrong"))
    assert link is not None
    link.first_delay = 0.05  # a test need not wait seconds
    link.start()
    assert link.state.state == "refused" and link.state.error == "invalid_auth"
    assert local.wait_for(lambda: len(local.calls_to("auth.test")) >= 4, timeout=10)
    assert local.tokens is not None
    local.tokens.add("xoxb-wrong")
    assert link.wait_ok(10)
    assert link.state.state == "ok" and link.state.error is None
    calls = local.calls_to("auth.test")
    gaps = [b.at - a.at for a, b in zip(calls, calls[1:], strict=False)]
    assert all(later > earlier for earlier, later in zip(gaps, gaps[1:], strict=False)), gaps
    time.sleep(0.3)
    assert len(local.calls_to("auth.test")) == len(calls)  # no more asking once it answered


@pytest.mark.parametrize("status", [500, 429])
def test_a_5xx_or_429_is_unreachable_not_refused(local: LocalSlack, status: int) -> None:
    local.fail_next("auth.test", status=status)
    link = bot_token_link(_settings(local, GOOD))
    assert link is not None and not link.try_once()
    assert link.state.state == "unreachable" and str(status) in (link.state.error or "")
    assert link.try_once() and link.state.state == "ok"


def test_bolt_gets_the_answer_so_no_request_asks_auth_test(local: LocalSlack, db: Database) -> None:
    bot = build(_settings(local, GOOD, db), db, verify_token=False, deliver=False)
    assert local.calls_to("auth.test") == []  # building asks Slack nothing
    link = bot_token_link(_settings(local, GOOD, db), bot.app)
    assert link is not None and link.start().state.state == "ok"
    try:
        with serve_wsgi(wsgi_app(bot.app, db, [link])) as port:
            h = Harness(local, bot, port)
            body = payloads.slash_command_body(
                text="help", user_id="U0LEX", team_id=local.team_id, channel_id="C0DEAL"
            )
            assert h.signed(body).status == 200
            assert len(local.calls_to("auth.test")) == 1  # the link's, none from Bolt
            health = h.get("/healthz").json()
            assert health["status"] == "ok"
            assert health["slack"]["SLACK_BOT_TOKEN"]["state"] == "ok"
    finally:
        bot.deps.settle(10)
        bot.deps.stop()


def test_health_is_503_for_the_database_whatever_slack_says(local: LocalSlack) -> None:
    down = Database("postgresql+psycopg://mapbot:secret@127.0.0.1:1/mapbot?connect_timeout=2")
    link = bot_token_link(_settings(local, GOOD))
    assert link is not None and link.start().state.state == "ok"
    try:
        with serve_wsgi(observability.endpoints(down, [link])) as port:
            resp = Harness(local, None, port).get("/healthz")  # type: ignore[arg-type]
    finally:
        down.dispose()
    assert resp.status == 503
    body = resp.json()
    assert body["status"] == "unavailable" and body["slack"]["SLACK_BOT_TOKEN"]["state"] == "ok"
    assert GOOD not in resp.body
