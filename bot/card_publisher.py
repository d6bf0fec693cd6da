"""Keeps each plan card current, after the request has been answered.

Listeners only mark a plan dirty; one background thread renders the latest
state and calls Slack. Marks coalesce: a burst of 100 clicks on one plan costs
one `chat.update` per `interval` seconds per workspace, and the last update
always shows the final state because it renders from the database at send
time. `chat.update` is Tier 3 (~50/min per workspace); a 429 is retried after
its `Retry-After` by slack_sdk's retry handler.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.render.card import render_card
from storage import services
from storage.clock import today_in
from storage.db import Database
from storage.models import Plan
from storage.readmodel import plan_view

log = logging.getLogger(__name__)

ClientFor = Callable[[str], WebClient | None]  # team id → a client with that team's token


@dataclass(frozen=True)
class _Job:
    team_id: str
    plan_id: int
    repost: bool  # post anew at the bottom (and delete the old card) instead of updating


class CardPublisher:
    def __init__(self, db: Database, client_for: ClientFor, *, interval: float = 1.2) -> None:
        self._db = db
        self._client_for = client_for
        self._interval = interval
        self._cond = threading.Condition()
        self._pending: dict[int, _Job] = {}
        self._busy = False
        self._next_update_at: dict[str, float] = {}  # team → monotonic time
        self._thread: threading.Thread | None = None
        self._stopping = False

    # --- what listeners call -------------------------------------------------

    def refresh(self, team_id: str, plan_id: int) -> None:
        self._mark(_Job(team_id, plan_id, repost=False))

    def repost(self, team_id: str, plan_id: int) -> None:
        self._mark(_Job(team_id, plan_id, repost=True))

    def _mark(self, job: _Job) -> None:
        with self._cond:
            old = self._pending.get(job.plan_id)
            # A repost already pending also covers a refresh.
            self._pending[job.plan_id] = _Job(
                job.team_id, job.plan_id, job.repost or bool(old and old.repost)
            )
            self._ensure_thread()
            self._cond.notify_all()

    # --- lifecycle -----------------------------------------------------------

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._stopping = False
            self._thread = threading.Thread(target=self._run, name="card-publisher", daemon=True)
            self._thread.start()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until nothing is pending or being sent (tests, the shell, shutdown)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._pending or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()

    # --- the worker ----------------------------------------------------------

    def _next_ready(self) -> _Job | None:
        """A pending job whose workspace may be updated now (caller holds the lock)."""
        now = time.monotonic()
        for plan_id, job in self._pending.items():
            if self._next_update_at.get(job.team_id, 0.0) <= now:
                del self._pending[plan_id]
                return job
        return None

    def _run(self) -> None:
        while True:
            with self._cond:
                job = self._next_ready()
                while job is None:
                    if self._stopping:
                        return
                    waits = [
                        self._next_update_at.get(j.team_id, 0.0) for j in self._pending.values()
                    ]
                    timeout = max(0.0, min(waits) - time.monotonic()) if waits else None
                    self._cond.wait(timeout)
                    job = self._next_ready()
                self._busy = True
                self._next_update_at[job.team_id] = time.monotonic() + self._interval
            try:
                self._publish(job)
            except Exception:  # keep the worker alive; the traceback goes to the log
                log.exception("could not publish the card of plan %s", job.plan_id)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def _publish(self, job: _Job) -> None:
        client = self._client_for(job.team_id)
        if client is None:
            return  # the workspace uninstalled us: keep the data, send nothing
        with self._db.read() as s:
            plan = s.get(Plan, job.plan_id)
            if plan is None or plan.archived:
                return
            view = plan_view(s, plan, "buyer")
        message = render_card(view, today_in(view.tz))
        if not job.repost and view.card_ts and view.card_channel:
            try:
                client.chat_update(
                    channel=view.card_channel,
                    ts=view.card_ts,
                    text=message.text,
                    blocks=message.blocks,
                )
                return
            except SlackApiError as e:
                if e.response.get("error") not in ("message_not_found", "cant_update_message"):
                    raise
                # The card was deleted by someone: post it again below.
        posted = client.chat_postMessage(
            channel=view.channel_id, text=message.text, blocks=message.blocks
        )
        with self._db.write() as s:
            plan = s.get(Plan, job.plan_id)
            if plan is not None:
                services.set_card(s, plan, posted["channel"], posted["ts"])
        if job.repost and view.card_ts and view.card_channel:
            try:
                client.chat_delete(channel=view.card_channel, ts=view.card_ts)
            except SlackApiError as e:
                log.info("old card %s not deleted: %s", view.card_ts, e.response.get("error"))
