"""The welcome a newcomer to a deal channel sees: an ephemeral note naming the
plan with a link to its card, rendered from the database when it is sent."""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.text import escape
from storage.db import Database
from storage.models import Plan

log = logging.getLogger(__name__)


def welcome_text(title: str, permalink: str | None) -> str:
    """The newcomer's note; `title` is the plan's, escaped here."""
    plan = f"*{escape(title)}*"
    where = f"<{permalink}|the plan card>" if permalink else "the plan card in this channel"
    return (
        f":wave: Welcome! This channel runs a mutual action plan: {plan}. "
        f"Everything that happens next is on {where}: start and complete your tasks "
        "with its buttons."
    )


def send_welcome(db: Database, client: WebClient, plan_id: int, channel: str, user: str) -> str:
    """chat.postEphemeral to `user`; the message ts ("" when the plan is gone).
    Slack's errors are the caller's (reminders.delivery records them)."""
    with db.read() as s:
        plan = s.get(Plan, plan_id)
        if plan is None or plan.archived:
            return ""
        title, card_channel, card_ts = plan.title, plan.card_channel, plan.card_ts
    permalink = None
    if card_channel and card_ts:
        try:
            permalink = str(
                client.chat_getPermalink(channel=card_channel, message_ts=card_ts)["permalink"]
            )
        except SlackApiError as e:
            log.info("no permalink for the card of %s: %s", channel, e.response.get("error"))
    sent = client.chat_postEphemeral(
        channel=channel, user=user, text=welcome_text(title, permalink)
    )
    return str(sent.get("message_ts") or "")
