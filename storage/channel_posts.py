"""What a change says in the plan's channel: announcements (go-live moved),
comments into the card's thread, the welcome a newcomer sees. Each is an outbox
row written in the transaction of the change that causes it, so the request
answers before anything is sent and a crash loses nothing (reminders.delivery
sends them; a message whose answer was lost is looked up, never sent twice)."""

from __future__ import annotations

import secrets
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from reminders import delivery
from reminders.delivery.outgoing import ANNOUNCEMENT, COMMENT, WELCOME, Outgoing
from storage import clock
from storage.models import Plan


def announce(s: Session, plan: Plan, text: str) -> None:
    """One top-level message for the whole channel (buyer-safe text, escaped)."""
    # Every announcement is its own: a random subject keeps two the same day apart.
    subject = f"announce:{secrets.token_hex(8)}"
    _queue(s, Outgoing(ANNOUNCEMENT, plan.team_id, plan.channel_id, subject, _today(), text))


def comment_in_thread(
    s: Session, plan: Plan, comment_id: int, text: str, blocks: list[dict[str, Any]]
) -> None:
    """A comment as a reply in the card's thread (the card's channel: a private
    channel shared later may have moved)."""
    channel = plan.card_channel or plan.channel_id
    item = Outgoing(
        COMMENT,
        plan.team_id,
        channel,
        f"comment:{comment_id}",
        _today(),
        text,
        blocks,
        thread_of_plan=plan.id,
    )
    _queue(s, item)


def welcome(s: Session, plan: Plan, channel: str, user_id: str, event_id: str) -> None:
    """The newcomer's ephemeral note, rendered when sent (with the card's link);
    one per join event, however often Slack delivers it."""
    subject = f"welcome:{user_id}:{event_id}"[:64]
    item = Outgoing(WELCOME, plan.team_id, channel, subject, _today(), "", thread_of_plan=plan.id)
    _queue(s, item)


def _today() -> date:
    return clock.now().date()


def _queue(s: Session, item: Outgoing) -> None:
    delivery.enqueue(s, [item], clock.now())
