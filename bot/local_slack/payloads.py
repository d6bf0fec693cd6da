"""Request bodies as Slack sends them to an app, and the signature headers on them.

Shapes follow Slack's samples (tests/fixtures/slack/payloads). In Slack Connect the
clicker's own workspace is `user.team_id`; the host's is `view.app_installed_team_id`
for view submissions and `authorizations[].team_id` for events.
"""

from __future__ import annotations

import json
import secrets
import time
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

from bot.local_slack import triggers

API_APP_ID = "A0MAPBOT"
VERIFICATION_TOKEN = "local-verification-token"  # noqa: S105 (a placeholder, as in samples)


def new_trigger_id(user_id: str = "") -> str:
    """A trigger_id the stand-in will accept once, within 3 s (triggers.py)."""
    return triggers.issue(user_id)


def _action_ts() -> str:
    return f"{time.time():.6f}"


def _interactive(payload: dict[str, Any]) -> str:
    return urlencode({"payload": json.dumps(payload)})


def _domain(team_id: str) -> str:
    return team_id.lower()


def _team(team_id: str) -> dict[str, Any]:
    return {"id": team_id, "domain": _domain(team_id)}


def _user(user_id: str, team_id: str, name: str) -> dict[str, Any]:
    name = name or user_id.lower()
    return {"id": user_id, "username": name, "name": name, "team_id": team_id}


def slash_command_body(
    *,
    text: str,
    user_id: str,
    team_id: str,
    channel_id: str,
    command: str = "/map",
    user_name: str = "",
    channel_name: str = "",
    response_url: str = "",
    trigger_id: str | None = None,
) -> str:
    """A slash command, form-encoded."""
    return urlencode(
        {
            "token": VERIFICATION_TOKEN,
            "team_id": team_id,
            "team_domain": _domain(team_id),
            "channel_id": channel_id,
            "channel_name": channel_name or channel_id.lower(),
            "user_id": user_id,
            "user_name": user_name or user_id.lower(),
            "command": command,
            "text": text,
            "api_app_id": API_APP_ID,
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": trigger_id or new_trigger_id(user_id),
        }
    )


def block_actions_body(
    *,
    user_id: str,
    user_team_id: str,
    team_id: str,
    channel_id: str,
    action: dict[str, Any],
    message: dict[str, Any] | None = None,
    message_ts: str = "",
    response_url: str = "",
    trigger_id: str | None = None,
    is_ephemeral: bool = False,
    user_name: str = "",
    channel_name: str = "",
) -> str:
    """A click (or select) on a message's interactive element: `payload=<json>`."""
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": _user(user_id, user_team_id, user_name),
        "api_app_id": API_APP_ID,
        "token": VERIFICATION_TOKEN,
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel_id,
            "is_ephemeral": is_ephemeral,
        },
        "trigger_id": trigger_id or new_trigger_id(user_id),
        "team": _team(team_id),
        "channel": {"id": channel_id, "name": channel_name or channel_id.lower()},
        "response_url": response_url,
        "actions": [{"action_ts": _action_ts(), **action}],
    }
    if message is not None:
        payload["message"] = message
    return _interactive(payload)


def view_block_actions_body(
    *,
    user_id: str,
    user_team_id: str,
    team_id: str,
    view: dict[str, Any],
    action: dict[str, Any],
    trigger_id: str | None = None,
    user_name: str = "",
) -> str:
    """A click inside a modal or the Home tab: the container is the view, no channel."""
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": _user(user_id, user_team_id, user_name),
        "api_app_id": API_APP_ID,
        "token": VERIFICATION_TOKEN,
        "container": {"type": "view", "view_id": view.get("id", "")},
        "trigger_id": trigger_id or new_trigger_id(user_id),
        "team": _team(team_id),
        "view": {**view, "app_installed_team_id": team_id},
        "actions": [{"action_ts": _action_ts(), **action}],
    }
    return _interactive(payload)


def view_submission_body(
    *,
    user_id: str,
    user_team_id: str,
    team_id: str,
    view: dict[str, Any],
    values: dict[str, Any] | None = None,
    app_installed_team_id: str | None = None,
    trigger_id: str | None = None,
    user_name: str = "",
) -> str:
    """A modal submitted; `values` is `state.values` ({block_id: {action_id: {...}}})."""
    host = app_installed_team_id or team_id
    view_id = str(view.get("id") or "V0LOCAL")
    full_view = {
        "id": view_id,
        "team_id": host,
        "type": "modal",
        "blocks": [],
        "title": {"type": "plain_text", "text": "MAP bot"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "submit": {"type": "plain_text", "text": "Submit"},
        "private_metadata": "",
        "callback_id": "",
        "hash": f"{int(time.time())}.{secrets.token_hex(4)}",
        "clear_on_close": False,
        "notify_on_close": False,
        "previous_view_id": None,
        "root_view_id": view_id,
        "app_id": API_APP_ID,
        "external_id": "",
        "bot_id": "B0MAPBOT",
        **view,
        "state": {"values": values or {}},
        "app_installed_team_id": host,
    }
    return _interactive(
        {
            "type": "view_submission",
            "team": _team(team_id),
            "user": _user(user_id, user_team_id, user_name),
            "api_app_id": API_APP_ID,
            "token": VERIFICATION_TOKEN,
            "trigger_id": trigger_id or new_trigger_id(user_id),
            "view": full_view,
            "response_urls": [],
        }
    )


def message_shortcut_body(
    *,
    user_id: str,
    user_team_id: str,
    team_id: str,
    channel_id: str,
    message: dict[str, Any],
    callback_id: str,
    response_url: str = "",
    trigger_id: str | None = None,
    user_name: str = "",
    channel_name: str = "",
) -> str:
    """A message shortcut (`message_action`) on `message`."""
    return _interactive(
        {
            "type": "message_action",
            "token": VERIFICATION_TOKEN,
            "action_ts": _action_ts(),
            "team": _team(team_id),
            "user": _user(user_id, user_team_id, user_name),
            "channel": {"id": channel_id, "name": channel_name or channel_id.lower()},
            "callback_id": callback_id,
            "trigger_id": trigger_id or new_trigger_id(user_id),
            "message_ts": message.get("ts", ""),
            "message": message,
            "response_url": response_url,
        }
    )


def event_body(
    *,
    team_id: str,
    event: dict[str, Any],
    authorizations_team_id: str | None = None,
    bot_user_id: str = "U0MAPBOT",
) -> str:
    """An Events API `event_callback` envelope (JSON). In Slack Connect `team_id` is the
    source workspace and `authorizations_team_id` the one the app is installed in."""
    now = int(time.time())
    installed = authorizations_team_id or team_id
    return json.dumps(
        {
            "token": VERIFICATION_TOKEN,
            "team_id": team_id,
            "api_app_id": API_APP_ID,
            "event": {"event_ts": f"{now}.000100", **event},
            "type": "event_callback",
            "event_id": f"Ev{secrets.token_hex(5).upper()}",
            "event_time": now,
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": installed,
                    "user_id": bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": installed != team_id,
        }
    )


def signed_headers(
    body: str,
    signing_secret: str,
    timestamp: int | None = None,
    *,
    json_body: bool | None = None,
) -> dict[str, str]:
    """The headers Slack sends with `body`, signed with `signing_secret`. Events are
    JSON, commands and interactivity form-encoded: `json_body=None` tells them apart
    by the body (a form body never starts with `{`)."""
    if json_body is None:
        json_body = body.lstrip().startswith("{")
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(signing_secret).generate_signature(timestamp=ts, body=body)
    return {
        "Content-Type": "application/json" if json_body else "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature or "",
    }
