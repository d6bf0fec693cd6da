"""Each request from Slack is carried out once, on every replica together.

- A signature seen before is a replay (Slack signs every delivery afresh, retries
  included): refused with 409 Conflict, and nothing runs.
- An Events API retry (`X-Slack-Retry-Num`, a new signature, the same `event_id`) of
  an event already taken is acknowledged with 200 and not dispatched again.
- A modal submission is applied once: the same view (id and hash) submitted with the
  same values by the same person is acknowledged with 200 (which closes the modal)
  and not dispatched again. A submission that came back with field errors is
  forgotten, so the same values may be submitted again once what was wrong is fixed
  (and a corrected submission differs anyway).

The claims live in `seen_request` (storage.seen_requests): insert-or-fail on the
primary key, so two replicas racing for the same request cannot both win. A
request with no event id or submission (a click, a command) makes its signature
claim in its own first write transaction (storage.db.FirstWrite): one commit per
click, not two; a replay's write is rolled back, and its claim is settled before
any work is handed to the after-ack pool.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from storage import seen_requests
from storage.db import Database, FirstWrite

SIGNATURE = "signature"
EVENT = "event"
SUBMISSION = "submission"

# Timestamps are accepted up to 5 minutes either side of now, so a signature stays
# replayable for at most 10 minutes after it is first seen.
SIGNATURE_TTL = timedelta(minutes=10)
# Slack retries an unacknowledged event three times, the last about 5 minutes on.
EVENT_TTL = timedelta(hours=1)
SUBMISSION_TTL = timedelta(hours=1)
PRUNE_EVERY = 60.0  # seconds between sweeps of expired claims, per process


@dataclass(frozen=True)
class Claim:
    kind: str
    key: str
    ttl: timedelta


def _digest(*parts: Any) -> str:
    # Canonical: the same values in another key order are the same delivery.
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def signature_claim(signature: str) -> Claim:
    return Claim(SIGNATURE, _digest(signature), SIGNATURE_TTL)


def delivery_claim(body: Mapping[str, Any]) -> Claim | None:
    """What makes this delivery the same as an earlier one, beyond its signature:
    an event's id, or a submission's view, hash, submitter and values."""
    if body.get("type") == "event_callback" and body.get("event_id"):
        return Claim(EVENT, _digest(body.get("api_app_id"), body["event_id"]), EVENT_TTL)
    if body.get("type") == "view_submission":
        view = body.get("view") or {}
        state = view.get("state") or {}
        key = _digest(
            view.get("app_installed_team_id") or view.get("team_id"),
            (body.get("user") or {}).get("id"),
            view.get("id"),
            view.get("hash"),
            state.get("values"),
        )
        return Claim(SUBMISSION, key, SUBMISSION_TTL)
    return None


def carried_out(claim: Claim, status: int, response_body: bytes) -> bool:
    """Whether the app's answer means the request took effect (else the claim is
    released: a server error, or a submission sent back with field errors)."""
    if status >= 500:
        return False
    if claim.kind == SUBMISSION and response_body:
        try:
            answer = json.loads(response_body)
        except ValueError:
            return True
        return not (isinstance(answer, dict) and answer.get("response_action") == "errors")
    return True


class Replays:
    """Claims against the shared table, with a cheap periodic prune."""

    def __init__(self, db: Database, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self.clock = clock
        self._next_prune = 0.0  # pragma: no mutate (any instant before now)
        self._lock = threading.Lock()

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)  # pragma: no mutate (a UTC host)

    def first(self, claim: Claim) -> bool:
        """True if no one has carried this out yet (and now it is ours)."""
        self._maybe_prune()
        return seen_requests.claim(self.db, claim.kind, claim.key, now=self._now(), ttl=claim.ttl)

    def with_first_write(self, claim: Claim) -> FirstWrite:
        """`first`, made in the request's first write transaction instead of one of
        its own (storage.db.FirstWrite): a click then commits once, not twice."""
        self._maybe_prune()
        now = self._now()
        kind, key, ttl = claim.kind, claim.key, claim.ttl
        return FirstWrite(
            self.db, lambda conn: seen_requests.claim_in(conn, kind, key, now=now, ttl=ttl)
        )

    def forget(self, claim: Claim) -> None:
        seen_requests.release(self.db, claim.kind, claim.key)

    def _maybe_prune(self) -> None:
        now = self.clock()
        with self._lock:
            if now < self._next_prune:
                return
            self._next_prune = now + PRUNE_EVERY
        seen_requests.prune(self.db, self._now())
