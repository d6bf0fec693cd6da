"""Webhook endpoints: the seller team's to add, list, remove and test; what each
delivery attempt did to them (consecutive failures, disabled with a DM)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot.text import escape
from reminders.delivery.outgoing import Outgoing
from reminders.webhooks import address
from reminders.webhooks.sender import new_secret
from storage import clock, secret_box, webhook_events
from storage.db import Database
from storage.models import Outbox, WebhookEndpoint
from storage.rules import Actor
from storage.services import Forbidden, Invalid, NotFound

MAX_ENDPOINTS = 10  # per seller team
MAX_FAILURES = 15  # consecutive failed attempts before an endpoint is disabled
SELLERS_ONLY = "Webhooks are the seller team's: only they can add, see or change them."


def _require_seller(actor: Actor) -> None:
    if actor.side != "seller":
        raise Forbidden(SELLERS_ONLY)


def add_endpoint(db: Database, actor: Actor, url: str, *, internal: bool) -> tuple[int, str]:
    """Check the URL (https, public addresses only: a DNS lookup, so before the write
    transaction), keep the signing secret encrypted; returns the endpoint's id and
    the secret, to show once."""
    _require_seller(actor)
    try:
        address.check(url)
    except address.Refused as e:
        raise Invalid("{why}", why=e) from None
    secret = new_secret()
    try:
        sealed = secret_box.seal(secret)
    except secret_box.SecretKeyError as e:
        raise Invalid("Webhooks aren't set up on this server: {why}.", why=e) from None
    with db.write() as s:
        count = s.scalar(
            select(func.count())
            .select_from(WebhookEndpoint)
            .where(WebhookEndpoint.team_id == actor.team_id)
        )
        if (count or 0) >= MAX_ENDPOINTS:
            raise Invalid(f"A team has at most {MAX_ENDPOINTS} webhooks: remove one first.")
        endpoint = WebhookEndpoint(
            team_id=actor.team_id,
            url=url,
            internal=internal,
            secret=sealed,
            created_by=actor.user_id,
            created_at=clock.now(),
            failures=0,
        )
        s.add(endpoint)
        s.flush()
        return endpoint.id, secret


def list_endpoints(s: Session, actor: Actor) -> list[WebhookEndpoint]:
    _require_seller(actor)
    return list(
        s.scalars(
            select(WebhookEndpoint)
            .where(WebhookEndpoint.team_id == actor.team_id)
            .order_by(WebhookEndpoint.id)
        )
    )


def _own(s: Session, actor: Actor, endpoint_id: int) -> WebhookEndpoint:
    _require_seller(actor)
    endpoint = s.get(WebhookEndpoint, endpoint_id, with_for_update=True)
    if endpoint is None or endpoint.team_id != actor.team_id:
        raise NotFound("There's no webhook {n}. `/map webhook list` shows them.", n=endpoint_id)
    return endpoint


def remove_endpoint(s: Session, actor: Actor, endpoint_id: int) -> str:
    """Remove it; what was queued for it is not sent. Returns its URL."""
    endpoint = _own(s, actor, endpoint_id)
    url = endpoint.url
    _fail_queued(s, endpoint.id, "endpoint_removed")
    s.delete(endpoint)
    return url


def queue_test(s: Session, actor: Actor, endpoint_id: int | None) -> int:
    """A `webhook.test` event to one endpoint or to every live one; how many."""
    if endpoint_id is not None:
        chosen = [_own(s, actor, endpoint_id)]
    else:
        chosen = [e for e in list_endpoints(s, actor) if e.disabled_at is None]
    if endpoint_id is not None and chosen[0].disabled_at is not None:
        raise Invalid("Webhook {n} is disabled: remove it and add it again.", n=endpoint_id)
    at = clock.now()
    out = webhook_events.queue_event(
        s,
        chosen,
        "webhook.test",
        at,
        actor.team_id,
        (actor.user_id, actor.side),
        lambda _internal: {"plan": None, "message": "A test event from MAP bot."},
    )
    from reminders.delivery import enqueue  # the outbox (which imports the services)

    return enqueue(s, out, at)


def record_success(s: Session, endpoint_id: int) -> None:
    s.execute(update(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id).values(failures=0))


def record_failure(s: Session, endpoint_id: int, reason: str, at: datetime) -> bool:
    """One more failed attempt; at MAX_FAILURES in a row the endpoint is disabled.
    True when it is disabled (now or before)."""
    endpoint = s.get(WebhookEndpoint, endpoint_id, with_for_update=True)
    if endpoint is None:
        return True
    if endpoint.disabled_at is not None:
        return True
    endpoint.failures += 1
    if endpoint.failures < MAX_FAILURES:
        return False
    disable(s, endpoint, f"{endpoint.failures} failed attempts in a row (last: {reason})", at)
    return True


def disable(s: Session, endpoint: WebhookEndpoint, reason: str, at: datetime) -> None:
    """Stop sending to it, drop what was queued, and tell whoever added it (a DM
    through the outbox)."""
    if endpoint.disabled_at is not None:
        return
    endpoint.disabled_at = at
    endpoint.disabled_reason = reason[:200]
    _fail_queued(s, endpoint.id, "endpoint_disabled")
    text = (
        f":warning: I stopped sending webhooks to `{escape(endpoint.url[:200])}` "
        f"(webhook {endpoint.id}): {escape(reason[:200])}. Fix the receiver, then "
        f"`/map webhook remove {endpoint.id}` and add it again."
    )
    from reminders.delivery import enqueue

    notice = Outgoing(
        "notice.webhook_disabled",
        endpoint.team_id,
        endpoint.created_by,
        webhook_events.recipient(endpoint.id),
        at.date(),
        text,
    )
    enqueue(s, [notice], at)


def _fail_queued(s: Session, endpoint_id: int, error: str) -> None:
    s.execute(
        update(Outbox)
        .where(
            Outbox.kind == webhook_events.KIND,
            Outbox.recipient == webhook_events.recipient(endpoint_id),
            Outbox.state.in_(("pending", "sending")),
        )
        .values(state="failed", error=error)
    )
