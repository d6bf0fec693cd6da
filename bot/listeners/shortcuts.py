"""The message shortcut "Add to action plan": any message in a deal channel
becomes a task, through the task modal prefilled with the message's words and a
link back to it. In a channel with no plan it says so, to the clicker alone."""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import ids
from bot.deps import Deps
from bot.listeners.modals import task_form_view
from bot.text import truncate, unescape
from commands.handlers import NO_PLAN
from storage import access, services

log = logging.getLogger(__name__)

TITLE_FROM_MESSAGE = 150  # characters: a task title, not the whole message
LINK_LABEL = "Original message"

# Slack's markup in message text: <@U123|name>, <#C123|name>, <!here>, <url|label>, <url>.
_MARKUP = re.compile(r"<([^<>]*)>")


def _plain(match: re.Match[str]) -> str:
    inner = match.group(1)
    target, _, label = inner.partition("|")
    if target.startswith("@"):
        return "@" + (label or target[1:])
    if target.startswith("#"):
        return "#" + (label or target[1:])
    if target.startswith("!"):
        return label or "@" + target[1:].split("^")[0]
    return label or target


def title_from_message(text: str) -> str:
    """The first line of a message as a plain task title (the modal lets one edit it)."""
    plain = _MARKUP.sub(_plain, text or "")
    plain = unescape(plain)
    first = next((line for line in plain.splitlines() if line.strip()), "")
    return truncate(" ".join(first.split()), TITLE_FROM_MESSAGE)


def register(app: App, deps: Deps) -> None:
    @app.shortcut(ids.SHORTCUT_ADD_FROM_MESSAGE)
    def add_from_message(
        ack: Ack, body: dict[str, Any], context: BoltContext, client: WebClient, respond: Respond
    ) -> None:
        ack()
        deps.later(lambda: _add_from_message(body, context, client, respond))

    def _add_from_message(
        body: dict[str, Any],
        context: BoltContext,
        client: WebClient,
        respond: Respond,
    ) -> None:
        actor, _tz = deps.actor(context, client, body.get("user"))
        channel = str((body.get("channel") or {}).get("id") or "")
        message: dict[str, Any] = body.get("message") or {}

        def check() -> None:
            with deps.db.read() as s:
                plan = access.plan_in_channel(s, actor, channel)
                if plan is None:
                    raise services.NotFound(NO_PLAN)
                services.require_edit(plan, actor)

        try:
            deps.as_member(client, check)
        except services.DomainError as e:
            respond(text=f":no_entry: {e.message}", response_type="ephemeral")
            return
        links: tuple[tuple[str, str], ...] = ()
        ts = message.get("ts") or body.get("message_ts")
        if ts:
            try:
                permalink = client.chat_getPermalink(channel=channel, message_ts=ts)["permalink"]
                links = ((str(permalink), LINK_LABEL),)
            except SlackApiError as e:
                log.info("no permalink for %s/%s: %s", channel, ts, e.response.get("error"))
        with deps.db.read() as s:
            plan = access.plan_in_channel(s, actor, channel)
            if plan is None:  # archived meanwhile
                respond(text=f":no_entry: {NO_PLAN}", response_type="ephemeral")
                return
            view = task_form_view(
                s,
                actor,
                plan,
                None,
                "full",
                channel,
                title=title_from_message(str(message.get("text") or "")),
                links=links,
            )
        client.views_open(trigger_id=body["trigger_id"], view=view)
