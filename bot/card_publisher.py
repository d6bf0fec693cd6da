"""Keeps each plan card current, after the request has been answered.

Listeners only mark a plan dirty; one background thread renders the latest
state and calls Slack. Marks coalesce: a burst of 100 clicks on one plan costs
one `chat.update` per `interval` seconds per workspace, and the last update
always shows the final state because it renders from the database at send
time. `chat.update` is Tier 3 (~50/min per workspace); a 429 is retried after
its `Retry-After` by slack_sdk's retry handler, and if that gives up the card is
queued again behind the workspace's `Retry-After` (see `bot.coalesce`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.coalesce import Coalescer
from bot.render.card import render_card
from storage import services
from storage.clock import today_in
from storage.db import Database
from storage.models import Plan
from storage.readmodel import plan_view

log = logging.getLogger(__name__)

ClientFor = Callable[[str], WebClient | None]  # team id → a client with that team's token
OnChange = Callable[[str, int], None]  # (team id, plan id): told of every change


@dataclass(frozen=True)
class _Job:
    team_id: str
    plan_id: int
    repost: bool  # post anew at the bottom (and delete the old card) instead of updating


class CardPublisher:
    def __init__(
        self,
        db: Database,
        client_for: ClientFor,
        *,
        interval: float = 1.2,
        on_change: OnChange | None = None,
    ) -> None:
        self._db = db
        self._client_for = client_for
        # Whatever changed a plan refreshes its card, so the App Home hooks in here.
        self.on_change = on_change
        # The value is "repost": a repost already pending also covers a refresh.
        self._worker: Coalescer[int, bool] = Coalescer(
            "card-publisher", self._send, interval=interval, merge=lambda a, b: a or b
        )

    # --- what listeners call -------------------------------------------------

    def refresh(self, team_id: str, plan_id: int) -> None:
        self._mark(team_id, plan_id, repost=False)

    def repost(self, team_id: str, plan_id: int) -> None:
        """Post anew at the bottom of the channel (and delete the old card)."""
        self._mark(team_id, plan_id, repost=True)

    def _mark(self, team_id: str, plan_id: int, *, repost: bool) -> None:
        self._worker.mark(team_id, plan_id, repost)
        if self.on_change is not None:
            self.on_change(team_id, plan_id)

    # --- lifecycle -----------------------------------------------------------

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until nothing is pending or being sent (tests, the shell, shutdown)."""
        return self._worker.flush(timeout)

    def stop(self) -> None:
        self._worker.stop()

    # --- the worker ----------------------------------------------------------

    def _send(self, team_id: str, plan_id: int, repost: bool) -> bool:
        self._publish(_Job(team_id, plan_id, repost))
        return True

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
