"""A plan's iCalendar feed: a URL with a secret in it, which calendar apps poll.

The secret is worked out from MAPBOT_SECRET_KEY and the feed's random nonce, so
the same URL can be shown again to whoever asks, and only its SHA-256 is stored
(to find the plan from a request). `reset` draws a new nonce: the old URL stops
answering. Rotating MAPBOT_SECRET_KEY's first key changes every feed's URL.
"""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage import clock, secret_box
from storage.models import CalendarFeed, Plan
from storage.rules import Actor
from storage.services import Forbidden, Invalid, log_plan_event


def _secret(plan_id: int, nonce: str) -> str:
    return secret_box.derive(f"ical|{plan_id}|{nonce}")


def feed_secret(s: Session, actor: Actor, plan: Plan, *, reset: bool = False) -> str:
    """The plan's feed secret, made the first time; `reset` (sellers) revokes the
    old one. Anyone who may read the plan may have it: the feed holds only what
    buyers see."""
    if reset and actor.side != "seller":
        raise Forbidden("Only the seller team can reset the calendar feed.")
    feed = s.get(CalendarFeed, plan.id, with_for_update=True)
    if feed is not None and not reset:
        try:
            return _secret(plan.id, feed.nonce)
        except secret_box.SecretKeyError as e:
            raise Invalid("Calendar feeds aren't set up on this server: {why}.", why=e) from None
    nonce = secrets.token_hex(16)
    try:
        secret = _secret(plan.id, nonce)
    except secret_box.SecretKeyError as e:
        raise Invalid("Calendar feeds aren't set up on this server: {why}.", why=e) from None
    if feed is None:
        feed = CalendarFeed(plan_id=plan.id, created_by=actor.user_id, created_at=clock.now())
        s.add(feed)
    feed.nonce = nonce
    feed.secret_hash = secret_box.digest(secret)
    if reset:
        log_plan_event(s, actor, plan, "plan.calendar_reset")
    return secret


def plan_for_secret(s: Session, secret: str) -> Plan | None:
    """The active plan whose feed this secret opens, or None."""
    plan_id = s.scalar(
        select(CalendarFeed.plan_id).where(CalendarFeed.secret_hash == secret_box.digest(secret))
    )
    plan = s.get(Plan, plan_id) if plan_id is not None else None
    return plan if plan is not None and not plan.archived else None
