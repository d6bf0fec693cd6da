"""Who is in a channel, from Slack: `conversations.members`, every page, into
`storage.membership`. Called when a buyer-side person reaches a plan whose
channel's members we don't know; a failure leaves them unknown (refused)."""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.identity import single_try
from storage import membership
from storage.db import Database

log = logging.getLogger(__name__)

PAGE = 200  # Slack recommends no more than 200 a page
MAX_PAGES = 50  # 10,000 members: far beyond a deal channel; past it we refuse to guess


def fetch_members(
    db: Database, client: WebClient, team_id: str, channel_id: str
) -> list[str] | None:
    """The channel's members (recorded with the time fetched), or None on failure."""
    once = single_try(client)
    members: list[str] = []
    cursor = ""
    try:
        for _ in range(MAX_PAGES):
            page = once.conversations_members(channel=channel_id, limit=PAGE, cursor=cursor or None)
            members.extend(str(m) for m in page.get("members") or [])
            cursor = str((page.get("response_metadata") or {}).get("next_cursor") or "")
            if not cursor:
                break
        else:
            log.warning("conversations.members %s: more than %d pages", channel_id, MAX_PAGES)
            return None
    except (SlackApiError, OSError) as e:
        error = e.response.get("error") if isinstance(e, SlackApiError) else type(e).__name__
        log.info("conversations.members %s failed: %s", channel_id, error)
        return None
    with db.write() as s:
        membership.record_members(s, team_id, channel_id, members)
    return members
