"""The outbox: every scheduled message is a row with a unique key, delivered once.

- `enqueue` inserts with ON CONFLICT DO NOTHING: the same nudge worked out twice
  (two schedulers, a late tick, a restart) is the same row.
- `claim` takes ready rows with a lease: FOR UPDATE SKIP LOCKED on PostgreSQL,
  BEGIN IMMEDIATE on SQLite, so two workers never take the same row.
- `deliver` notes that a send begins (`posting_since`), sends, and records
  Slack's `ts` at once. The one window no database can close is Slack accepting
  a message whose answer we never record (a crash, a timeout): such a row is
  looked up in Slack before anything else happens to it (`reminders.delivery.recovery`),
  so it is marked sent instead of sent twice. A send Slack refused for sure
  (429, `ok: false`) is simply sent again later.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import orjson
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import and_, case, or_, select, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from bot.observability import RateLimitCounter, count_deliveries
from bot.text import escape
from reminders.delivery import pacing, recovery, welcomes
from reminders.delivery import refreshes as refresh_rows
from reminders.delivery.outgoing import LIVE_KINDS, WELCOME, Outgoing
from reminders.webhooks import delivery as webhook_delivery
from storage import bulk, clock, services, uploads
from storage.db import Database
from storage.models import Outbox, Plan, Task
from storage.rules import Actor

log = logging.getLogger(__name__)

PERMANENT = {
    "channel_not_found",
    "not_in_channel",
    "account_inactive",
    "is_archived",
    "user_not_found",
    "missing_scope",  # e.g. files:write on an install from before it was asked for
}
MAX_ATTEMPTS = 6
METADATA_EVENT = recovery.METADATA_EVENT
# After an unanswered send, wait this long before looking: Slack may still be
# working on it (the client gives up after 10 s).
SETTLE = timedelta(seconds=15)
MAX_WAIT = 2.0  # a paced row waits in the worker up to this long, else goes back
# Refreshes paced per workspace: chat.update is Tier 3 (~50/min), views.publish Tier 4.
Refresher = Callable[[WebClient, "Claimed"], None]
ClientFor = Callable[[str], WebClient | None]


class LookupPending(Exception):
    """A refresh cannot go on until Slack tells what it already has (a lookup
    failed): the row waits, and is looked up again."""

    def __init__(self, retry_after: float, error: str) -> None:
        super().__init__(error)
        self.retry_after = retry_after
        self.error = error


def found_in_slack(client: WebClient, item: Claimed, channel: str, key: str) -> str | None:
    """A send of `item` into `channel`'s top level began and its answer was never
    recorded: the ts of what Slack holds under `key`, or None once the send's
    window was read through without it. A lookup that failed raises
    `LookupPending` (the row waits; it is never sent again blindly)."""
    assert item.posting_since is not None
    began = clock.as_utc(item.posting_since)
    suspect = recovery.Suspect(item.id, item.team_id, channel, None, began, key, None)
    verdict = recovery.look_up(client, channel, None, [suspect])
    if verdict.unknown:
        raise LookupPending(verdict.retry_after, verdict.error or "lookup")
    return verdict.found.get(item.id)


def lease_seconds() -> float:
    """How long a claimed row is a worker's before another may take it over."""
    return float(os.environ.get("MAPBOT_OUTBOX_LEASE", "120"))


def key_of(row: Outbox) -> str:
    return f"{row.kind}|{row.recipient}|{row.subject}|{row.local_date.isoformat()}"


# --- enqueue ---------------------------------------------------------------------------


def enqueue(s: Session, items: list[Outgoing], at: datetime) -> int:
    """Queue messages; those already queued (same key) are left alone. Returns
    how many are new."""
    if not items:
        return 0
    rows = [
        {
            "kind": o.kind,
            "team_id": o.team_id,
            "recipient": o.recipient,
            "subject": o.subject,
            "local_date": o.local_date,
            "text": o.text,
            "blocks": orjson.dumps(o.blocks).decode(),  # tens of thousands on Monday
            "thread_of_plan": o.thread_of_plan,
            "state": "pending",
            "attempts": 0,
            "next_attempt_at": at,
            "created_at": at,
        }
        for o in items
    ]
    conn = s.connection()
    if bulk.is_postgres(s) and len(rows) >= bulk.COPY_AT_LEAST:  # the Monday pass
        return bulk.copy_insert(s, bulk.table_of(Outbox), _QUEUED, rows, _OUTBOX_KEY)
    if bulk.is_postgres(s):  # the rows in one JSON parameter: a short statement
        recordset = bulk.recordset_insert(bulk.table_of(Outbox), _QUEUED, _OUTBOX_KEY, "id")
        return len(conn.execute(recordset, bulk.json_rows(rows, _QUEUED)).all())
    stmt = (
        sqlite.insert(Outbox)
        .on_conflict_do_nothing(index_elements=list(_OUTBOX_KEY))
        .returning(Outbox.id)  # rowcount of a batched insert isn't reliable on every driver
    )
    inserted = 0
    for start in range(0, len(rows), 500):
        inserted += len(conn.execute(stmt, rows[start : start + 500]).all())
    return inserted


_OUTBOX_KEY = ("kind", "recipient", "subject", "local_date")
_QUEUED = (
    "kind",
    "team_id",
    "recipient",
    "subject",
    "local_date",
    "text",
    "blocks",
    "thread_of_plan",
    "state",
    "attempts",
    "next_attempt_at",
    "created_at",
)


def queued_keys(s: Session, local_dates: set[date]) -> set[tuple[str, str, str, str]]:
    """The keys already in the outbox for these local dates (one indexed query)."""
    if not local_dates:
        return set()
    rows = s.execute(
        select(Outbox.kind, Outbox.recipient, Outbox.subject, Outbox.local_date).where(
            Outbox.local_date.in_(local_dates)
        )
    )
    return {(k, r, subj, d.isoformat()) for k, r, subj, d in rows}


# --- claim -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Claimed:
    id: int
    kind: str
    generation: int
    team_id: str
    recipient: str
    text: str
    blocks: list[dict[str, object]]
    thread_of_plan: int | None
    attempts: int
    key: str
    posting_since: datetime | None  # a send began and its answer was never recorded
    posting_thread: str | None
    lookup_mark: str | None
    posting_file: str | None = None  # an upload: the file it began sharing

    def suspect(self) -> recovery.Suspect | None:
        if self.posting_since is None:
            return None
        return recovery.Suspect(
            self.id,
            self.team_id,
            self.recipient,
            self.posting_thread,
            clock.as_utc(self.posting_since),
            self.key,
            self.lookup_mark,
        )


def claim(
    db: Database,
    worker: str,
    at: datetime,
    limit: int = 50,
    *,
    messages: bool = True,
    refreshes: bool = False,
) -> list[Claimed]:
    """Take ready rows: messages (nudges, digests, notices), refreshes, or both."""
    ready = or_(
        and_(Outbox.state == "pending", Outbox.next_attempt_at <= at),
        and_(Outbox.state == "sending", Outbox.lease_until < at),
    )
    if not refreshes:
        ready = and_(ready, Outbox.kind.not_in(refresh_rows.KINDS))
    if not messages:  # refreshes, and what requests left for the channel (sent at once)
        ready = and_(ready, Outbox.kind.in_(refresh_rows.KINDS + LIVE_KINDS))
    # Most looks find nothing ready (a mark waiting for its turn, an idle outbox):
    # a read says so without taking SQLite's one write lock from the requests.
    with db.read() as s:
        if s.scalar(select(Outbox.id).where(ready).limit(1)) is None:
            return []
    with db.write() as s:
        # Rows of unknown fate first, so one lookup per conversation covers them all.
        query = (
            select(Outbox)
            .where(ready)
            .order_by(Outbox.posting_since.is_(None), Outbox.id)
            .limit(limit)
        )
        if not db.is_sqlite:
            query = query.with_for_update(skip_locked=True)
        rows = list(s.scalars(query))
        claimed = [
            Claimed(
                r.id,
                r.kind,
                r.generation,
                r.team_id,
                r.recipient,
                r.text,
                json.loads(r.blocks or "[]"),
                r.thread_of_plan,
                r.attempts,
                key_of(r),
                r.posting_since if r.ts is None else None,
                r.posting_thread,
                r.lookup_mark,
                r.posting_file,
            )
            for r in rows
        ]
        if rows:
            s.execute(
                update(Outbox)
                .where(Outbox.id.in_([r.id for r in rows]))
                .values(
                    state="sending",
                    claimed_by=worker,
                    lease_until=at + timedelta(seconds=lease_seconds()),
                )
            )
    return claimed


# --- deliver ---------------------------------------------------------------------------


@dataclass
class DeliveryResult:
    sent: int = 0
    recovered: int = 0  # found already in Slack after a crash: not sent again
    retried: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


class Pacer:
    """About one chat.postMessage a second per channel (Slack's documented pace),
    kept in the database so every process together stays under it."""

    def __init__(self, db: Database, interval: float) -> None:
        self.db = db
        self.interval = interval

    def wait(self, key: str, interval: float | None = None) -> float:
        """Wait for the bucket's turn (at most MAX_WAIT seconds); the seconds it
        still has to wait when that is longer (the caller puts the row back)."""
        gap = pacing.reserve(
            self.db, key, self.interval if interval is None else interval, clock.wall()
        )
        if gap > MAX_WAIT:
            return gap
        time.sleep(gap)
        return 0.0


def _where(recipient: str) -> str:
    return f"<#{recipient}>" if recipient[:1] in ("C", "G") else f"<@{recipient}>"


def _finish(db: Database, item: Claimed, **values: object) -> None:
    with db.write() as s:
        s.execute(update(Outbox).where(Outbox.id == item.id).values(**values))


def _record_failure(db: Database, item: Claimed, error: str, at: datetime) -> None:
    """A permanent error: shown to the plan's owner through the plan's activity."""
    with db.write() as s:
        s.execute(update(Outbox).where(Outbox.id == item.id).values(state="failed", error=error))
        row = s.get(Outbox, item.id)
        plan_id = item.thread_of_plan
        if plan_id is None and row is not None and row.subject.startswith("task:"):
            plan_id = s.scalar(select(Task.plan_id).where(Task.id == int(row.subject[5:])))
        if plan_id is None and row is not None and row.subject.startswith("plan:"):
            plan_id = int(row.subject[5:])
        plan = s.get(Plan, plan_id) if plan_id is not None else None
        if plan is not None:
            system = Actor(services.SLACK_SYSTEM_USER, "seller", plan.team_id)
            services.log_plan_event(
                s,
                system,
                plan,
                "delivery.failed",
                before=item.key,
                after=f"{item.recipient}: {error}",
            )
            if item.recipient != plan.created_by and row is not None:
                # Tell the plan's owner by DM (never about a DM to the owner: no loops).
                text = (
                    f":warning: A reminder for *{escape(plan.title)}* could not be delivered to "
                    f"{_where(item.recipient)}: `{error}`. Invite me to the channel, or check "
                    "the person's account."
                )
                notice = Outgoing(
                    "notice.delivery_failed",
                    plan.team_id,
                    plan.created_by,
                    f"outbox:{item.id}",
                    row.local_date,
                    text,
                )
                enqueue(s, [notice], at)


def deliver(
    db: Database,
    client_for: ClientFor,
    worker: str,
    *,
    pace: float = 1.0,
    now: Callable[[], datetime] = clock.now,
    stop_after: int | None = None,
    refreshers: dict[str, tuple[Refresher, float]] | None = None,
    messages: bool = True,
    keep_going: Callable[[], bool] = lambda: True,
) -> DeliveryResult:
    """Send everything ready, a batch at a time, until nothing is left. With
    `refreshers` (kind → how to send it and the workspace's pacing interval)
    refresh rows go too; `messages=False` sends only those."""
    result = DeliveryResult()
    pacer = Pacer(db, pace)
    clients = _SingleShot(client_for)
    while stop_after is None or result.sent < stop_after:
        at = max(now(), clock.wall()) if refreshers else now()
        batch = claim(db, worker, at, messages=messages, refreshes=bool(refreshers))
        if not batch:
            break
        settled = _recover(db, clients, batch, result, now)
        for n, item in enumerate(batch):
            if not keep_going():  # shutting down: what is not sent goes back, at once
                release(db, [i.id for i in batch[n:] if i.id not in settled])
                return result
            if item.id in settled:
                continue
            if item.kind == refresh_rows.CRM:
                _crm_one(db, item, pacer, result)
            elif item.kind in refresh_rows.KINDS:
                _refresh_one(db, clients, item, (refreshers or {})[item.kind], pacer, result)
            elif item.kind == WELCOME:
                _welcome_one(db, clients, item, result, now)
            elif item.kind == webhook_delivery.KIND:  # an HTTP POST, not a Slack message
                webhook_delivery.send(db, worker, item, result, now, lease_seconds())
            else:
                _deliver_one(db, clients, worker, item, pacer, result, now)
    count_deliveries(
        sent=result.sent, recovered=result.recovered, retried=result.retried, failed=result.failed
    )
    return result


class _SingleShot:
    """Each workspace's client without blind retries: a POST retried after a
    dropped connection or a 5xx may post twice. The outbox decides what to resend."""

    def __init__(self, client_for: ClientFor) -> None:
        self._client_for = client_for
        self._clients: dict[str, WebClient | None] = {}

    def __call__(self, team_id: str) -> WebClient | None:
        if team_id not in self._clients:
            c = self._client_for(team_id)
            self._clients[team_id] = (
                WebClient(
                    token=c.token,
                    base_url=c.base_url,
                    timeout=c.timeout,
                    # Only the handlers that retry nothing (the 429 counter).
                    retry_handlers=[h for h in c.retry_handlers if isinstance(h, RateLimitCounter)],
                )
                if c is not None
                else None
            )
        return self._clients[team_id]


def _recover(
    db: Database,
    client_for: ClientFor,
    batch: list[Claimed],
    result: DeliveryResult,
    now: Callable[[], datetime],
) -> set[int]:
    """Look up the rows whose send may have reached Slack, one lookup per
    conversation; the ids settled here (found, or to look up again later)."""
    # Messages only: a card's own post is looked up by its sender (`card`).
    messages = [i for i in batch if i.kind not in refresh_rows.KINDS]
    suspects = [s for s in (i.suspect() for i in messages) if s is not None]
    settled: set[int] = set()
    for (team_id, recipient, thread_ts), rows in recovery.groups(suspects).items():
        client = client_for(team_id)
        if client is None:
            continue  # uninstalled: _deliver_one records it
        verdict = recovery.look_up(client, recipient, thread_ts, rows)
        for row_id, ts in verdict.found.items():
            _finish_id(db, row_id, state="sent", ts=ts, error=None)
            result.recovered += 1
        if verdict.unknown:
            wait = timedelta(seconds=max(verdict.retry_after, 60.0))
            with db.write() as s:
                s.execute(
                    update(Outbox)
                    .where(Outbox.id.in_(verdict.unknown))
                    .values(
                        state="pending",
                        next_attempt_at=now() + wait,
                        lookup_mark=verdict.mark,
                        error=f"lookup: {verdict.error}"[:200],
                    )
                )
            result.retried += len(verdict.unknown)
        settled.update(verdict.found)
        settled.update(verdict.unknown)
    return settled


def release(db: Database, ids: list[int]) -> None:
    """Give claimed rows back (never begun: nothing in Slack) for anyone to take."""
    if ids:
        with db.write() as s:
            s.execute(
                update(Outbox)
                .where(Outbox.id.in_(ids), Outbox.state == "sending")
                .values(state="pending", claimed_by=None, lease_until=None)
            )


def _finish_id(db: Database, row_id: int, **values: object) -> None:
    with db.write() as s:
        s.execute(update(Outbox).where(Outbox.id == row_id).values(**values))


def _deliver_one(
    db: Database,
    client_for: ClientFor,
    worker: str,
    item: Claimed,
    pacer: Pacer,
    result: DeliveryResult,
    now: Callable[[], datetime],
) -> None:
    client = client_for(item.team_id)
    if client is None:  # uninstalled: keep the row, send nothing
        _finish(db, item, state="failed", error="workspace_uninstalled")
        result.failed += 1
        return
    wait = pacer.wait(f"chat.postMessage:{item.recipient}")
    if wait:  # another process has this channel's next turns
        _finish(db, item, state="pending", next_attempt_at=now() + timedelta(seconds=wait))
        return
    # From here until Slack's answer is recorded, the message may be in Slack
    # (wall-clock time: it is compared with Slack's ts). One statement notes it,
    # renews the lease so nobody looks it up while it is in flight, reads the
    # thread it goes into — and is the fence: a row whose lease ran out while it
    # waited in this batch may be another worker's now, and is left to it.
    with db.write() as s:
        mine = s.execute(
            update(Outbox)
            .where(Outbox.id == item.id, Outbox.claimed_by == worker, Outbox.state == "sending")
            .values(
                posting_since=clock.wall(),
                posting_thread=select(Plan.card_ts)
                .where(Plan.id == Outbox.thread_of_plan)
                .scalar_subquery(),
                lookup_mark=None,
                lease_until=now() + timedelta(seconds=lease_seconds()),
            )
            .returning(Outbox.posting_thread)
        ).first()
    if mine is None:
        return
    thread = mine[0]
    try:
        response = client.chat_postMessage(
            channel=item.recipient,
            text=item.text,
            blocks=item.blocks or None,
            thread_ts=thread,
            metadata={"event_type": METADATA_EVENT, "event_payload": {"key": item.key}},
            unfurl_links=False,
        )
        _finish(db, item, state="sent", ts=str(response.get("ts")), error=None)
        result.sent += 1
        if item.kind == "digest.plan_weekly":  # the timeline picture follows the digest
            with db.write() as s:
                uploads.follow_digest(s, item.team_id, item.recipient, item.key, now())
    except SlackApiError as e:
        status = e.response.status_code
        error = str(e.response.get("error") or f"http_{status}")
        if status == 429:  # refused: not posted; the channel waits, in every process
            wait = float(
                e.response.headers.get("Retry-After", e.response.headers.get("retry-after", 1))
            )
            until = clock.wall() + timedelta(seconds=wait)
            pacing.hold(db, f"chat.postMessage:{item.recipient}", until)
            _finish(
                db,
                item,
                state="pending",
                posting_since=None,
                next_attempt_at=now() + timedelta(seconds=wait),
            )
            result.retried += 1
        elif error in PERMANENT:
            _record_failure(db, item, error, now())
            result.failed += 1
            result.errors.append(error)
        else:
            # An `ok: false` answer was not posted; a 5xx may have been.
            _retry_later(db, item, error, result, now, unknown=status >= 500)
    except (OSError, TimeoutError) as e:  # timeouts and dropped connections: unknown fate
        _retry_later(db, item, type(e).__name__, result, now, unknown=True)


def _welcome_one(
    db: Database,
    client_for: ClientFor,
    item: Claimed,
    result: DeliveryResult,
    now: Callable[[], datetime],
) -> None:
    """An ephemeral welcome. Slack keeps no history of ephemerals to look one up
    in, so it is sent at most once: the row is done before the send begins (a
    crash loses a welcome, never doubles one), and only a 429, refused for sure,
    puts it back."""
    client = client_for(item.team_id)
    if client is None or item.thread_of_plan is None:
        _finish(db, item, state="failed", error="workspace_uninstalled")
        result.failed += 1
        return
    user = item.key.split("|")[2].split(":")[1]  # subject "welcome:<user>:<joined at>"
    _finish(db, item, state="sent")
    try:
        ts = welcomes.send_welcome(db, client, item.thread_of_plan, item.recipient, user)
    except SlackApiError as e:
        status = e.response.status_code
        if status == 429:  # refused for sure: again after Retry-After
            wait = float(e.response.headers.get("Retry-After", 1))
            _finish(db, item, state="pending", next_attempt_at=now() + timedelta(seconds=wait))
            result.retried += 1
            return
        _finish(db, item, state="failed", error=str(e.response.get("error") or status)[:200])
        result.failed += 1
        return
    except (OSError, TimeoutError) as e:
        _finish(db, item, state="failed", error=f"unknown fate: {type(e).__name__}")
        result.failed += 1
        return
    _finish(db, item, ts=ts or None, error=None)
    result.sent += 1


def _refresh_one(
    db: Database,
    client_for: ClientFor,
    item: Claimed,
    refresher: tuple[Refresher, float],
    pacer: Pacer,
    result: DeliveryResult,
) -> None:
    """Render a card or a Home from the database and send it. Idempotent, so a
    failure is simply tried again; the row is done only when a send that began
    after its last mark succeeded."""
    send, interval = refresher
    client = client_for(item.team_id)
    if client is None:
        _finish(db, item, state="failed", error="workspace_uninstalled")
        return
    method = {refresh_rows.CARD: "chat.update", refresh_rows.HOME: "views.publish"}.get(
        item.kind,
        "files.upload",  # uploads (and deferred pipeline replies): paced apart
    )
    bucket = f"{method}:{item.team_id}"
    wait = pacer.wait(bucket, interval)
    if wait:
        _finish(db, item, state="pending", next_attempt_at=clock.wall() + timedelta(seconds=wait))
        return
    try:
        send(client, item)
    except LookupPending as e:  # a card post of unknown fate: look again later
        later = clock.wall() + timedelta(seconds=max(e.retry_after, 60.0))
        _finish(db, item, state="pending", next_attempt_at=later, error=e.error[:200])
        result.retried += 1
        return
    except SlackApiError as e:
        status = e.response.status_code
        error = str(e.response.get("error") or f"http_{status}")
        # A sure refusal posted nothing: no card post to look for (a 5xx may have).
        sure: dict[str, object] = {"posting_since": None} if status < 500 else {}
        if status == 429:
            retry = float(
                e.response.headers.get("Retry-After", e.response.headers.get("retry-after", 1))
            )
            until = clock.wall() + timedelta(seconds=retry)
            pacing.hold(db, bucket, until)  # the whole workspace waits, in every process
            _finish(db, item, state="pending", next_attempt_at=until, **sure)
            result.retried += 1
        elif error in PERMANENT:
            log.warning("%s %s: %s", item.kind, item.recipient, error)
            _finish(db, item, state="failed", error=error, **sure)
            result.failed += 1
        else:
            _refresh_later(db, item, error, result, **sure)
        return
    except (OSError, TimeoutError) as e:
        _refresh_later(db, item, type(e).__name__, result)
        return
    _refresh_done(db, item, interval, result)


def _refresh_done(db: Database, item: Claimed, interval: float, result: DeliveryResult) -> None:
    # Done, unless it was marked again meanwhile: then pending for its next turn.
    again = Outbox.generation != item.generation
    with db.write() as s:
        s.execute(
            update(Outbox)
            .where(Outbox.id == item.id)
            .values(
                state=case((again, "pending"), else_="sent"),
                # What was just shown is not shown again; a newer notice is.
                text=case((Outbox.text == item.text, ""), else_=Outbox.text),
                attempts=0,
                error=None,
                next_attempt_at=clock.wall() + timedelta(seconds=interval),
            )
        )
    result.sent += 1


def _crm_one(db: Database, item: Claimed, pacer: Pacer, result: DeliveryResult) -> None:
    """A plan's push to its CRM deal (reminders.delivery.crm): no Slack client."""
    from reminders.delivery import crm as crm_sender  # late: it reads storage's services

    plan_id = int(item.recipient.removeprefix("plan:"))
    outcome = crm_sender.send_crm(db, item.team_id, plan_id, pacer.wait, crm_sender.insight)
    if outcome.state == crm_sender.Outcome.DONE:
        _refresh_done(db, item, crm_sender.INTERVAL, result)
    elif outcome.state == crm_sender.Outcome.FAILED:
        _finish(db, item, state="failed", error=outcome.error[:200])
        result.failed += 1
    elif outcome.until is not None:  # the CRM (or our pacing) said when
        _finish(db, item, state="pending", next_attempt_at=outcome.until, error=outcome.error[:200])
        result.retried += 1
    else:
        _refresh_later(db, item, outcome.error, result)


def _refresh_later(
    db: Database, item: Claimed, error: str, result: DeliveryResult, **values: object
) -> None:
    """Again after a backoff; a card post of unknown fate (`posting_since`) waits
    at least until it would have landed, so the lookup that comes first sees it."""
    attempts = item.attempts + 1
    backoff = clock.wall() + timedelta(seconds=min(2**attempts, 300))
    settled = clock.wall() + max(timedelta(seconds=min(2**attempts, 300)), SETTLE)
    unknown = Outbox.posting_since.is_not(None)
    _finish(
        db,
        item,
        state="pending",
        attempts=attempts,
        next_attempt_at=backoff if values else case((unknown, settled), else_=backoff),
        error=error[:200],
        **values,
    )
    result.retried += 1


def _retry_later(
    db: Database,
    item: Claimed,
    error: str,
    result: DeliveryResult,
    now: Callable[[], datetime],
    *,
    unknown: bool,
) -> None:
    """Again later; a send of unknown fate keeps `posting_since`, so it is looked
    up first, and is never given up on as failed while it may have arrived."""
    attempts = item.attempts + 1
    if attempts >= MAX_ATTEMPTS and not unknown:
        _record_failure(db, item, error, now())
        result.failed += 1
        return
    backoff = timedelta(seconds=min(2**attempts, 3600))
    _finish(
        db,
        item,
        state="pending",
        attempts=attempts,
        next_attempt_at=now() + (max(backoff, SETTLE) if unknown else backoff),
        error=error[:200],
        **({} if unknown else {"posting_since": None}),
    )
    result.retried += 1
