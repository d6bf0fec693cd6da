"""`/map people` keeps contact e-mails from users.info, which Slack only sends to a
token with `users:read.email` ("required to access the email field in user
objects returned by users.list and users.info", docs.slack.dev scopes page). The
stand-in grants each token what the install asks for (bot.oauth.BOT_SCOPES), so
dropping the scope from the install makes the first test fail."""

from __future__ import annotations

from slack_sdk import WebClient
from sqlalchemy import select

from bot.oauth import BOT_SCOPES
from storage.db import Database
from storage.models import Stakeholder
from tests.harness import TOKEN, Harness

EMAIL = "users:read.email"


def _emails_after_people(h: Harness, db: Database) -> dict[str, str]:
    assert h.command("create Scare Floor rollout").status == 200
    assert h.command("add Fill security questionnaire owner buyer <@W0MIKE|mike>").status == 200
    assert h.command("people").status == 200
    assert h.local.wait_for_calls("views.update", 1), "contacts looked up after the ack"
    with db.read() as s:
        return dict(s.execute(select(Stakeholder.user_id, Stakeholder.email)).all())  # type: ignore[arg-type]


def test_the_install_asks_for_email_and_people_keeps_it(h: Harness, db: Database) -> None:
    assert EMAIL in BOT_SCOPES and "users:read" in BOT_SCOPES  # asked for together
    assert _emails_after_people(h, db)["W0MIKE"] == "mike@t0monsters.example"


def test_without_the_scope_slack_sends_no_email(h: Harness, db: Database) -> None:
    h.local.grant(TOKEN, [s for s in BOT_SCOPES if s != EMAIL])
    user = WebClient(token=TOKEN, base_url=h.local.base_url).users_info(user="W0MIKE")["user"]
    assert "email" not in user["profile"] and user["profile"]["display_name"] == "mike"
    assert _emails_after_people(h, db).get("W0MIKE", "") == ""
