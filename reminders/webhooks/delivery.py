"""The outbox kind `webhook`: one signed POST per row (an event for one endpoint).

The row's body and id were fixed when the event was queued; every attempt signs
them with a fresh timestamp, so a retry carries the same `webhook-id` and a
receiver that saw it already can drop it (the Standard Webhooks contract: at
least once, deduplicated by id). A crash mid-send leaves the row claimed; after
its lease another worker sends it again, under the same id.

Retried with exponential backoff and jitter for 24 hours on 5xx, timeouts,
refused connections and 429 (after its `Retry-After`); any other answer is final
for that event. MAX_FAILURES failed attempts in a row disable the endpoint.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import update

from reminders.webhooks import address, sender
from storage import clock, secret_box, webhook_endpoints, webhook_events
from storage.db import Database
from storage.models import Outbox, WebhookEndpoint

if TYPE_CHECKING:
    from reminders.delivery import Claimed, DeliveryResult

log = logging.getLogger(__name__)

KIND = webhook_events.KIND
GIVE_UP_AFTER = timedelta(hours=24)
FIRST_RETRY = 30.0  # seconds; doubled each attempt
MAX_RETRY = 3600.0
MAX_RETRY_AFTER = 3600.0  # a receiver's Retry-After is honoured up to an hour


def backoff(attempts: int, rand: Callable[[], float] = random.random) -> float:
    """Seconds before the next try after `attempts` failures: exponential, capped,
    with jitter (a random half to whole of it) so many rows don't retry together."""
    base = min(FIRST_RETRY * 2.0 ** max(attempts - 1, 0), MAX_RETRY)
    return float(base * (0.5 + rand() / 2))


def _finish(db: Database, row_id: int, **values: object) -> None:
    with db.write() as s:
        s.execute(update(Outbox).where(Outbox.id == row_id).values(**values))


def send(
    db: Database,
    worker: str,
    item: Claimed,
    result: DeliveryResult,
    now: Callable[[], datetime],
    lease: float,
) -> None:
    endpoint_id = webhook_events.endpoint_of(item.recipient)
    with db.read() as s:
        row = s.get(Outbox, item.id)
        endpoint = s.get(WebhookEndpoint, endpoint_id) if endpoint_id is not None else None
        if row is None:
            return
        event_id, queued_at = row.subject, clock.as_utc(row.created_at)
    if endpoint is None or endpoint.team_id != item.team_id:
        _finish(db, item.id, state="failed", error="endpoint_removed")
        result.failed += 1
        return
    if endpoint.disabled_at is not None:
        _finish(db, item.id, state="failed", error="endpoint_disabled")
        result.failed += 1
        return
    try:
        secret = secret_box.open_sealed(endpoint.secret)
    except secret_box.SecretKeyError as e:  # a server problem: keep the event
        _retry(db, item, str(e), result, now, queued_at, count=False)
        return
    try:
        # Again at send time: the name may point somewhere else now (rebinding).
        target, ip = address.check(endpoint.url)
    except address.Refused as e:
        _retry(db, item, f"refused: {e}", result, now, queued_at)
        return
    # The fence: a row whose lease ran out while it waited in this batch may be
    # another worker's now; it is left to it. Else the lease is renewed for the send.
    with db.write() as s:
        mine = s.execute(
            update(Outbox)
            .where(Outbox.id == item.id, Outbox.claimed_by == worker, Outbox.state == "sending")
            .values(lease_until=now() + timedelta(seconds=lease + sender.timeout_seconds()))
            .returning(Outbox.id)
        ).first()
    if mine is None:
        return
    answer = sender.post(
        target, ip, item.text, sender.headers(secret, event_id, item.text, clock.wall())
    )
    if 200 <= answer.status < 300:
        with db.write() as s:
            s.execute(
                update(Outbox)
                .where(Outbox.id == item.id)
                .values(state="sent", error=None, attempts=item.attempts + 1)
            )
            webhook_endpoints.record_success(s, endpoint.id)
        result.sent += 1
        return
    error = answer.error or f"http_{answer.status}"
    if answer.status == 429:
        wait = min(
            answer.retry_after if answer.retry_after is not None else backoff(item.attempts + 1),
            MAX_RETRY_AFTER,
        )
        _retry(db, item, error, result, now, queued_at, count=False, wait=wait)
    elif answer.status == 0 or answer.status >= 500:
        _retry(db, item, error, result, now, queued_at)
    else:  # redirects (never followed) and other 4xx: this event is refused for good
        with db.write() as s:
            s.execute(
                update(Outbox)
                .where(Outbox.id == item.id)
                .values(state="failed", error=error, attempts=item.attempts + 1)
            )
            webhook_endpoints.record_failure(s, endpoint.id, error, now())
        log.warning("webhook %s: event refused: %s", item.recipient, error)
        result.failed += 1


def _retry(
    db: Database,
    item: Claimed,
    error: str,
    result: DeliveryResult,
    now: Callable[[], datetime],
    queued_at: datetime,
    *,
    count: bool = True,
    wait: float | None = None,
) -> None:
    """Again later, unless 24 hours have gone by since the event; a failure counts
    towards disabling the endpoint (a 429 does not: the receiver is there)."""
    attempts = item.attempts + 1
    at = now()
    later = at + timedelta(seconds=backoff(attempts) if wait is None else wait)
    endpoint_id = webhook_events.endpoint_of(item.recipient)
    with db.write() as s:
        disabled = (
            count
            and endpoint_id is not None
            and webhook_endpoints.record_failure(s, endpoint_id, error, at)
        )
        if disabled:
            state, error = "failed", "endpoint_disabled"
        elif later - queued_at > GIVE_UP_AFTER:
            state, error = "failed", f"gave up after 24 h: {error}"
        else:
            state = "pending"
        s.execute(
            update(Outbox)
            .where(Outbox.id == item.id)
            .values(state=state, attempts=attempts, next_attempt_at=later, error=error[:200])
        )
    if state == "failed":
        log.warning("webhook %s: event given up: %s", item.recipient, error)
        result.failed += 1
    else:
        result.retried += 1
