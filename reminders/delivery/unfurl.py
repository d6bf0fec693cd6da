"""Plan links unfurled after the event was acknowledged: a `link_shared` marks one
outbox row per message (`refreshes.UNFURL`, its links in the row), and the refresh
worker renders each link from the database and calls `chat.unfurl`.

An unfurl is read by everyone in the conversation, not only by who posted the
link, so a link unfurls only where everyone there may read what it shows:
- the poster must reach the plan (a buyer only while in its deal channel);
- in the plan's own channel it shows the buyer's view (no internal task, ever);
- in another channel only when every member is on the plan's seller team (then
  the seller's view); anywhere else — a channel with guests, another
  organisation, members Slack would not list — nothing unfurls (fail closed).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_sdk import WebClient
from sqlalchemy import select

from bot import plan_links
from bot.identity import look_up_unknown, resolve_actor
from bot.members import fetch_members
from bot.render.unfurls import plan_blocks, task_blocks, task_entity
from reminders.delivery import Claimed, refreshes
from storage import access, clock, membership, services
from storage.clock import today_in
from storage.db import Database
from storage.models import ChannelMember, Plan
from storage.readmodel import plan_view
from storage.rules import Actor, Side, person_side

log = logging.getLogger(__name__)

MAX_LINKS = 5  # per message: Slack unfurls a handful
AUDIENCE_MAX = 200  # members of a non-deal channel we check one by one; past it, nothing


def mark_unfurl(
    db: Database, team_id: str, channel: str, message: str, data: dict[str, Any]
) -> None:
    """Queue (or queue again, after a change) the unfurl of a message's plan links."""
    with db.write() as s:
        refreshes.mark(
            s,
            refreshes.UNFURL,
            team_id,
            refreshes.unfurl_target(channel, message),
            json.dumps(data),
            clock.wall(),
        )


def _audience(db: Database, client: WebClient, plan: Plan, channel: str, bot: str) -> Side | None:
    """Whose view everyone in `channel` may read, or None (nothing unfurls)."""
    if channel == plan.channel_id:
        return "buyer"
    with db.read() as s:
        unknown = membership.unknown_channels(s, plan.team_id, [channel])
    if unknown and fetch_members(db, client, plan.team_id, channel) is None:
        return None
    query = select(ChannelMember.user_id).where(
        ChannelMember.team_id == plan.team_id, ChannelMember.channel_id == channel
    )
    with db.read() as s:
        members = [u for u in s.scalars(query.limit(AUDIENCE_MAX + 2)) if u != bot]
    if not members or len(members) > AUDIENCE_MAX:
        return None
    for user_id in members:
        look_up_unknown(db, client, plan.team_id, user_id)  # users.info for anyone unseen
    with db.read() as s:
        sides = {
            person_side(plan.team_id, services.person_facts(s, plan.team_id, u)) for u in members
        }
    return "seller" if sides == {"seller"} else None


def _reachable(db: Database, client: WebClient, poster: Actor, plan_id: int) -> Plan | None:
    """The plan, if the poster may reach it (a buyer's channel members fetched once)."""
    for _ in range(2):
        try:
            with db.read() as s:
                return access.plan_for(s, poster, plan_id)
        except access.MembersUnknown as e:
            if fetch_members(db, client, e.team_id, e.channel_id) is None:
                return None
        except services.DomainError:
            return None
    return None


def send_unfurl(db: Database, public_url: str, client: WebClient, item: Claimed) -> None:
    try:
        data = json.loads(item.text or "{}")
    except ValueError:
        return
    channel = str(data.get("channel") or item.recipient)
    links = [u for u in data.get("links") or [] if isinstance(u, str)][:MAX_LINKS]
    poster, _tz = resolve_actor(db, client, item.team_id, str(data.get("user") or ""), None)
    unfurls: dict[str, dict[str, Any]] = {}
    entities: list[dict[str, Any]] = []
    for url in links:
        link = plan_links.parse(url, public_url)
        if link is None:
            continue
        plan = _reachable(db, client, poster, link.plan_id)
        if plan is None:
            continue  # not theirs to show
        side = _audience(db, client, plan, channel, str(data.get("bot") or ""))
        if side is None:
            continue
        with db.read() as s:
            view = plan_view(s, s.get_one(Plan, plan.id), side)  # what everyone there may see
        today = today_in(view.tz)
        if link.number is None:
            unfurls[url] = {"blocks": plan_blocks(view, today)}
            continue
        task = next((t for t in view.tasks if t.number == link.number), None)
        if task is None:
            continue  # no such task, or internal where a buyer may read
        unfurls[url] = {"blocks": task_blocks(view, task, today)}
        canonical = plan_links.link_for(public_url, plan.id, task.number)
        entities.extend(task_entity(view, task, canonical, url)["entities"])
    if not unfurls:
        return
    where: dict[str, Any] = (
        {"unfurl_id": data["unfurl_id"], "source": data["source"]}
        if data.get("source") == "composer" and data.get("unfurl_id")
        else {"channel": channel, "ts": data.get("ts")}
    )
    metadata = {"entities": entities} if entities else None
    client.chat_unfurl(**where, unfurls=unfurls, metadata=metadata)
