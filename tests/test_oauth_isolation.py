"""Installing into many workspaces: the OAuth flow over real HTTP into slack_sdk's
SQLAlchemy stores, a client per workspace for the card, and isolation — a payload
from team B naming team A's plan or task changes nothing and reveals nothing."""

from __future__ import annotations

import http.client
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import yaml
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import func, inspect, select, text

from bot import ids, oauth
from bot.app import build
from bot.config import Settings
from bot.local_slack import Call, LocalSlack, payloads
from bot.server import wsgi_app
from storage.db import Database
from storage.models import Activity, Plan, Task
from tests.fixtures import SLACK_PAYLOADS
from tests.harness import SECRET, Harness, serve_wsgi

ROOT = Path(__file__).resolve().parent.parent
TEAM_A, TEAM_B = "T0ACME", "T0BETA"
CHANNEL_A, CHANNEL_B = "C0ACMEDEAL", "C0BETADEAL"
CLIENT_ID, CLIENT_SECRET = "1111.2222", "oauth-client-secret"


class TwoWorkspaces(LocalSlack):
    """The stand-in answering for two workspaces: `oauth.v2.access` hands each its own
    bot token, and `auth.test` names the team a token belongs to (bolt's authorize
    reads the workspace from it)."""

    def __init__(self) -> None:
        super().__init__(team_id=TEAM_A)
        self.team_of_token: dict[str, str] = {}

    def call(self, method: str, params: dict[str, Any], token: str | None) -> Call:
        if method == "oauth.v2.access":
            team = str(params.get("code", "")).removeprefix("code-")
            bot_token = f"xoxb-{team.lower()}-bot"
            self.team_of_token[bot_token] = team
            self.add_token(bot_token)  # the install issues it: Slack accepts it from now on
            record = Call(method, params, None)
            record.result = {
                "ok": True,
                "app_id": payloads.API_APP_ID,
                "authed_user": {"id": f"U0{team[2:]}ADMIN"},
                "scope": ",".join(oauth.BOT_SCOPES),
                "token_type": "bot",
                "access_token": bot_token,
                "bot_user_id": f"U0{team[2:]}BOT",
                "team": {"id": team, "name": team.title()},
                "enterprise": None,
                "is_enterprise_install": False,
            }
            self.record(record)
            return record
        record = super().call(method, params, token)
        team = self.team_of_token.get(token or "")
        if method == "auth.test" and record.ok and team:
            record.result.update(team_id=team, team=team, url=f"https://{team.lower()}.slack.com/")
        return record


@contextmanager
def multi_workspace_app(db: Database) -> Iterator[Harness]:
    with db.engine.begin() as conn:  # the stores' rows outlive the plan tables' truncation
        for table in ("slack_bots", "slack_installations", "slack_oauth_states"):
            conn.execute(text(f"DELETE FROM {table}"))
    with TwoWorkspaces() as local:
        for uid, team in (("U0ANNA", TEAM_A), ("W0BORIS", TEAM_B), ("U0BEA", TEAM_B)):
            local.add_user(uid, team_id=team, name=uid[2:].lower())
        for channel in (CHANNEL_A, CHANNEL_B):
            local.add_channel(channel, channel.lower(), shared=True)
        settings = Settings(
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            signing_secret=SECRET,
            slack_api_url=local.base_url,
            database_url=db.url,
            card_update_interval=0.0,
        )
        bot = build(settings, db)
        with serve_wsgi(wsgi_app(bot.app, bot.deps.db)) as port:
            yield Harness(local, bot, port)
            bot.deps.settle(10)
            bot.deps.stop()


@pytest.fixture
def h(db: Database) -> Iterator[Harness]:
    with multi_workspace_app(db) as harness:
        yield harness
        assert harness.local.violations == [], "Slack would have refused something we sent"


def http_get(h: Harness, path: str, headers: dict[str, str] | None = None) -> tuple[int, str, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", h.port, timeout=15)
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read().decode(), resp.headers
    finally:
        conn.close()


def install(h: Harness, team: str) -> None:
    """ "Add to Slack", then Slack's redirect back with a code, as a browser does."""
    status, page, headers = http_get(h, oauth.INSTALL_PATH)
    assert status == 200
    state = re.search(r"state=([0-9a-f-]+)", page)
    assert state is not None, page
    cookie = headers["Set-Cookie"].split(";")[0]
    query = urlencode({"code": f"code-{team}", "state": state.group(1)})
    status, page, _ = http_get(h, f"{oauth.REDIRECT_PATH}?{query}", {"Cookie": cookie})
    assert status == 200, page


def command(h: Harness, text_: str, *, user: str, team: str, channel: str) -> str:
    body = payloads.slash_command_body(
        text=text_,
        user_id=user,
        team_id=team,
        channel_id=channel,
        response_url=h.local.response_url(channel, user),
    )
    resp = h.signed(body)
    assert resp.status == 200
    return resp.body


def click(h: Harness, value: str, *, user: str, team: str, channel: str) -> None:
    body = payloads.block_actions_body(
        user_id=user,
        user_team_id=team,
        team_id=team,
        channel_id=channel,
        action={"action_id": ids.TASK_COMPLETE, "block_id": "b", "value": value, "type": "button"},
        response_url=h.local.response_url(channel, user),
    )
    assert h.signed(body).status == 200


def two_installed_deals(h: Harness) -> tuple[int, int]:
    """A's plan (A's task #1 is a buyer task) and B's; returns A's plan and task ids."""
    install(h, TEAM_A)
    install(h, TEAM_B)
    command(h, "create Acme rollout", user="U0ANNA", team=TEAM_A, channel=CHANNEL_A)
    command(h, "add Acme secret task owner buyer", user="U0ANNA", team=TEAM_A, channel=CHANNEL_A)
    command(h, "create Beta rollout", user="U0BEA", team=TEAM_B, channel=CHANNEL_B)
    h.bot.deps.settle(10)
    with h.bot.deps.db.read() as s:
        plan = s.scalars(select(Plan).where(Plan.team_id == TEAM_A)).one()
        task_id = s.scalars(select(Task.id).where(Task.plan_id == plan.id)).one()
        return plan.id, task_id


def snapshot(db: Database) -> tuple[Any, ...]:
    with db.read() as s:
        return (
            s.execute(select(Task.id, Task.status, Task.title).order_by(Task.id)).all(),
            s.scalar(select(func.count()).select_from(Activity)),
            s.execute(select(Plan.id, Plan.team_id, Plan.title).order_by(Plan.id)).all(),
        )


# --- installs --------------------------------------------------------------------


def test_each_workspace_installs_and_its_card_uses_its_own_token(h: Harness) -> None:
    two_installed_deals(h)
    store = h.bot.deps.workspaces.store
    assert store is not None
    bots = {t: store.find_bot(enterprise_id=None, team_id=t) for t in (TEAM_A, TEAM_B)}
    assert {t: b.bot_token if b else None for t, b in bots.items()} == {
        TEAM_A: "xoxb-t0acme-bot",
        TEAM_B: "xoxb-t0beta-bot",
    }
    posts = {c.params["channel"]: c.token for c in h.local.calls_to("chat.postMessage")}
    assert posts == {CHANNEL_A: "xoxb-t0acme-bot", CHANNEL_B: "xoxb-t0beta-bot"}


def test_a_forged_or_replayed_oauth_state_installs_nothing(h: Harness) -> None:
    status, _page, _ = http_get(
        h, f"{oauth.REDIRECT_PATH}?{urlencode({'code': 'code-T0EVIL', 'state': 'made-up'})}"
    )
    assert status >= 400
    store = h.bot.deps.workspaces.store
    assert store is not None and store.find_bot(enterprise_id=None, team_id="T0EVIL") is None


# --- isolation -------------------------------------------------------------------


def test_team_b_naming_team_a_task_changes_nothing(h: Harness) -> None:
    plan_a, task_a = two_installed_deals(h)
    db = h.bot.deps.db
    before = snapshot(db)
    a_value = ids.task_value(plan_a, task_a)
    # A click from team B, in A's channel and in its own, naming A's plan and task.
    click(h, a_value, user="U0BEA", team=TEAM_B, channel=CHANNEL_A)
    click(h, a_value, user="U0BEA", team=TEAM_B, channel=CHANNEL_B)
    # Commands from team B in A's channel see no plan there.
    reply = command(h, "done #1", user="U0BEA", team=TEAM_B, channel=CHANNEL_A)
    assert "no action plan" in reply
    reply = command(h, "status", user="U0BEA", team=TEAM_B, channel=CHANNEL_A)
    assert "Acme" not in reply
    # A view submission from B naming A's plan in its metadata.
    submission = payloads.view_submission_body(
        user_id="U0BEA",
        user_team_id=TEAM_B,
        team_id=TEAM_B,
        view={
            "callback_id": ids.VIEW_TASK,
            "private_metadata": json.dumps({"p": plan_a, "t": task_a, "k": "full"}),
        },
        values={ids.F_TITLE: {ids.F_TITLE: {"type": "plain_text_input", "value": "Pwned"}}},
    )
    assert h.signed(submission).status == 200
    h.bot.deps.settle(10)
    assert snapshot(db) == before
    refusals = [e.text for e in h.local.ephemerals(user="U0BEA") if ":no_entry:" in e.text]
    assert len(refusals) == 2 and not any("Acme" in t for t in refusals)
    # B's Home shows none of A's plans.
    event = payloads.event_body(
        team_id=TEAM_B, event={"type": "app_home_opened", "user": "U0BEA", "tab": "home"}
    )
    assert h.signed(event, json_body=True).status == 200
    assert h.bot.deps.settle(10)
    home = h.local.home_view("U0BEA")
    assert home is not None and "Acme" not in json.dumps(home)
    assert "Beta rollout" in json.dumps(home)


def test_uninstall_stops_one_workspace_and_keeps_its_data(h: Harness) -> None:
    plan_a, _task_a = two_installed_deals(h)
    body = json.loads((SLACK_PAYLOADS / "connect-app_uninstalled-app_uninstalled.json").read_text())
    body.update(team_id=TEAM_A, enterprise_id=None)
    body["authorizations"][0].update(team_id=TEAM_A, enterprise_id=None)
    assert h.signed(json.dumps(body), json_body=True).status == 200
    workspaces = h.bot.deps.workspaces
    assert workspaces.client_for(TEAM_A) is None
    assert workspaces.client_for(TEAM_B) is not None
    calls = len(h.local.calls)
    h.bot.deps.publisher.refresh(TEAM_A, plan_a)
    h.bot.deps.settle(10)
    assert len(h.local.calls) == calls, "nothing more is sent to the uninstalled workspace"
    with h.bot.deps.db.read() as s:
        assert s.scalar(select(func.count()).where(Plan.team_id == TEAM_A)) == 1
    # B carries on.
    command(h, "add Beta task owner buyer", user="U0BEA", team=TEAM_B, channel=CHANNEL_B)
    h.bot.deps.settle(10)
    assert h.local.calls_to("chat.update")[-1].token == "xoxb-t0beta-bot"


# --- schema ----------------------------------------------------------------------


def test_migration_creates_what_the_stores_use(db: Database) -> None:
    """Migration 0006 writes the stores' tables out by hand: they must still match."""
    inspector = inspect(db.engine)
    installation = SQLAlchemyInstallationStore(client_id=CLIENT_ID, engine=db.engine)
    states = SQLAlchemyOAuthStateStore(expiration_seconds=60, engine=db.engine)
    for table in (*installation.metadata.tables.values(), *states.metadata.tables.values()):
        have = {c["name"]: c for c in inspector.get_columns(table.name)}
        for column in table.columns:
            assert column.name in have, f"{table.name}.{column.name} missing from 0006"
            assert have[column.name]["nullable"] == column.nullable, f"{table.name}.{column.name}"


def test_manifest_asks_for_the_install_scopes_and_redirect() -> None:
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text())
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == set(oauth.BOT_SCOPES)
    (redirect,) = manifest["oauth_config"]["redirect_urls"]
    assert redirect.endswith(oauth.REDIRECT_PATH)
