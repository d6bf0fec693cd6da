"""Keeps each plan card current, after the request has been answered.

Listeners mark a plan (`refresh`, `repost`): one upsert of the card's outbox row
(`reminders.delivery.refreshes`), nothing sent on the request path. The delivery worker
renders the latest state from the database and calls Slack, paced per workspace
(`chat.update` is Tier 3, ~50/min): a burst of 100 clicks on one plan costs one
update per interval, and the last one shows the final state.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.render.card import render_card
from reminders.delivery import refreshes
from reminders.delivery.outbox import Claimed
from storage import clock, services
from storage.clock import today_in
from storage.db import Database
from storage.models import Plan
from storage.readmodel import plan_view

log = logging.getLogger(__name__)

ClientFor = Callable[[str], WebClient | None]  # team id → a client with that team's token
Wake = Callable[[], None]  # tells this process's delivery worker there is work


class CardPublisher:
    def __init__(self, db: Database, wake: Wake) -> None:
        self._db = db
        self._wake = wake

    def refresh(self, team_id: str, plan_id: int) -> None:
        self._mark(team_id, plan_id, "")

    def repost(self, team_id: str, plan_id: int) -> None:
        """Post anew at the bottom of the channel (and delete the old card)."""
        self._mark(team_id, plan_id, refreshes.REPOST)

    def _mark(self, team_id: str, plan_id: int, value: str) -> None:
        with self._db.write() as s:
            refreshes.mark(
                s, refreshes.CARD, team_id, refreshes.card_target(plan_id), value, clock.wall()
            )
        self._wake()


def plan_of(item: Claimed) -> int:
    return int(item.recipient.removeprefix("plan:"))


def send_card(db: Database, client: WebClient, item: Claimed) -> None:
    """Render the card from the database and update it in place, or post it anew
    (asked to, or the old one is gone); then the Homes of the plan's people."""
    plan_id, repost = plan_of(item), item.text == refreshes.REPOST
    with db.read() as s:
        plan = s.get(Plan, plan_id)
        if plan is None or plan.archived or plan.team_id != item.team_id:
            return
        view = plan_view(s, plan, "buyer")
    message = render_card(view, today_in(view.tz))
    if not repost and view.card_ts and view.card_channel:
        try:
            client.chat_update(
                channel=view.card_channel, ts=view.card_ts, text=message.text, blocks=message.blocks
            )
            _homes_of(db, item.team_id, plan_id)
            return
        except SlackApiError as e:
            if e.response.get("error") not in ("message_not_found", "cant_update_message"):
                raise
            # The card was deleted by someone: post it again below.
    posted = client.chat_postMessage(
        channel=view.channel_id, text=message.text, blocks=message.blocks
    )
    with db.write() as s:
        plan = s.get(Plan, plan_id)
        if plan is not None:
            services.set_card(s, plan, posted["channel"], posted["ts"])
    if repost and view.card_ts and view.card_channel:
        try:
            client.chat_delete(channel=view.card_channel, ts=view.card_ts)
        except SlackApiError as e:
            log.info("old card %s not deleted: %s", view.card_ts, e.response.get("error"))
    _homes_of(db, item.team_id, plan_id)


def _homes_of(db: Database, team_id: str, plan_id: int) -> None:
    """A changed plan changes the Homes of everyone it appears for."""
    from reminders.delivery.home import people_of

    people = people_of(db, team_id, plan_id)
    if not people:
        return
    with db.write() as s:
        for user_id in people:
            refreshes.mark(
                s,
                refreshes.HOME,
                team_id,
                refreshes.home_target(team_id, user_id),
                "",
                clock.wall(),
            )
