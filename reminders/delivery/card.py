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
from datetime import datetime

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot.render.blocks import Message
from bot.render.card import render_card
from bot.render.summary import health_line
from reminders.delivery import recovery, refreshes
from reminders.delivery.outbox import Claimed, found_in_slack
from reminders.health import assess
from storage import clock, services
from storage.clock import today_in
from storage.db import Database
from storage.models import Activity, Outbox, Plan
from storage.plan_facts import plan_facts
from storage.readmodel import PlanView, plan_view

log = logging.getLogger(__name__)

ClientFor = Callable[[str], WebClient | None]  # team id → a client with that team's token
Wake = Callable[[], None]  # tells this process's delivery worker there is work
# The old card is not there to delete, or never can be: post the new one anyway.
GONE = ("message_not_found", "cant_delete_message")


class CardPublisher:
    def __init__(self, db: Database, wake: Wake) -> None:
        self._db = db
        self._wake = wake

    def refresh(self, team_id: str, plan_id: int) -> None:
        self._mark(team_id, plan_id, "")

    def repost(self, team_id: str, plan_id: int, *, waiting: bool | None = None) -> None:
        """Post anew at the bottom of the channel (and delete the old card). When a
        repost is waiting already (`/map status` twice on a call), it is the one
        asked for: a read, and no write (which would queue on the write lock).
        `waiting`: the caller read that already, in its own session (`/map status`)."""
        if waiting is None:
            target = refreshes.card_target(plan_id)
            with self._db.read() as s:
                waiting = refreshes.asked_already(
                    s, refreshes.CARD, team_id, target, refreshes.REPOST
                )
        if waiting:
            self._wake()
            return
        self._mark(team_id, plan_id, refreshes.REPOST)

    def _mark(self, team_id: str, plan_id: int, value: str) -> None:
        with self._db.write() as s:
            refreshes.mark(
                s, refreshes.CARD, team_id, refreshes.card_target(plan_id), value, clock.wall()
            )
        self._wake()


def plan_of(item: Claimed) -> int:
    return int(item.recipient.removeprefix("plan:"))


def card_message(s: Session, view: PlanView) -> Message:
    """The card as the channel shows it (the buyer's view and health), for today in
    the plan's zone."""
    facts = plan_facts(s, [view.id])[view.id].for_side("buyer")
    today = today_in(view.tz)
    return render_card(view, today, health_line(assess(facts, today)))


def send_card(db: Database, client: WebClient, item: Claimed) -> None:
    """Render the card from the database and update it in place, or post it anew
    (asked to, or the old one is gone); then the Homes of the plan's people."""
    plan_id, repost = plan_of(item), item.text == refreshes.REPOST
    with db.read() as s:
        plan = s.get(Plan, plan_id)
        if plan is None or plan.archived or plan.team_id != item.team_id:
            return
        view = plan_view(s, plan, "buyer")
        seen = _last_change(s, plan_id)
        message = card_message(s, view)
    if item.posting_since is not None and _adopt_posted(db, client, item, view.channel_id):
        repost = False  # the post that began before a crash is the card now: update it
        with db.read() as s:
            view = plan_view(s, s.get_one(Plan, plan_id), "buyer")
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
    if repost and view.card_ts and view.card_channel:
        # The old card goes first: a crash or a refusal after this leaves no card
        # until the row is sent again, never two (a crash between a post and the
        # delete would leave the old one in the channel, unknown to us).
        try:
            client.chat_delete(channel=view.card_channel, ts=view.card_ts)
        except SlackApiError as e:
            if e.response.get("error") not in GONE:
                raise  # tried again with the row: nothing is posted before it is gone
            log.info("old card %s not deleted: %s", view.card_ts, e.response.get("error"))
    # From here until its ts is recorded the new card may be in Slack: the row says
    # when the post began, and the post carries that in its metadata, so a retry
    # after a crash or a timeout finds it (`_adopt_posted`) instead of posting twice.
    began = clock.wall()
    with db.write() as s:
        s.execute(update(Outbox).where(Outbox.id == item.id).values(posting_since=began))
    posted = client.chat_postMessage(
        channel=view.channel_id,
        text=message.text,
        blocks=message.blocks,
        metadata={
            "event_type": recovery.METADATA_EVENT,
            "event_payload": {"key": _key(item, began)},
        },
    )
    first = seen if view.card_ts is None else None
    _record_card(db, item, str(posted["channel"]), str(posted["ts"]), first=first)
    _homes_of(db, item.team_id, plan_id)


def _key(item: Claimed, began: datetime) -> str:
    return f"{item.key}|{clock.as_utc(began).isoformat()}"


def _last_change(s: Session, plan_id: int) -> int:
    return s.scalar(select(func.max(Activity.id)).where(Activity.plan_id == plan_id)) or 0


def _record_card(
    db: Database, item: Claimed, channel: str, ts: str, *, first: int | None = None
) -> None:
    """The plan's card is this message now. A plan's first card (`first`: the last
    change it shows): changes made while it was on its way marked no card (there
    was none), so if there were any it is refreshed once more."""
    with db.write() as s:
        plan = s.get(Plan, plan_of(item))
        if plan is not None:
            services.set_card(s, plan, channel, ts)
            if first is not None and _last_change(s, plan.id) > first:
                refreshes.mark_card(s, plan.team_id, plan.id)
        s.execute(update(Outbox).where(Outbox.id == item.id).values(posting_since=None))


def _adopt_posted(db: Database, client: WebClient, item: Claimed, channel: str) -> bool:
    """A post of the card began and its answer was never recorded: look for it in
    the channel's top level. Found: it is the card (True). Read through without it:
    post (False). The lookup failed: try again later (raises `LookupPending`)."""
    assert item.posting_since is not None
    ts = found_in_slack(client, item, channel, _key(item, item.posting_since))
    if ts is None:
        return False
    _record_card(db, item, channel, ts)
    return True


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
