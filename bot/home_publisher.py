"""Keeps App Home tabs current, after the request has been answered.

A changed plan refreshes the Home of everyone it appears for (its creator and
its assignees); opening the tab, or clicking in it, refreshes that person's.
`views.publish` runs on a background sender (`bot.coalesce`): marks coalesce
per person, and calls are paced per workspace (Tier 4, ~100 a minute).
"""

from __future__ import annotations

from sqlalchemy import select, union

from bot.card_publisher import ClientFor
from bot.coalesce import Coalescer
from bot.identity import resolve_actor
from bot.members import fetch_members
from bot.render.home import render_home
from storage.clock import today_in
from storage.db import Database
from storage.home_readmodel import home_channels, home_view
from storage.membership import unknown_channels
from storage.models import Plan, Task

# ("user", team, user id) with the notice to show, or ("plan", team, plan id) to expand.
Key = tuple[str, str, str | int]


class HomePublisher:
    def __init__(self, db: Database, client_for: ClientFor, *, interval: float = 0.6) -> None:
        self._db = db
        self._client_for = client_for
        self._worker: Coalescer[Key, str | None] = Coalescer(
            "home-publisher", self._send, interval=interval, merge=lambda old, new: new or old
        )

    def refresh_user(self, team_id: str, user_id: str, notice: str | None = None) -> None:
        """Publish `user_id`'s Home; `notice` (already escaped) goes on top."""
        if user_id:
            self._worker.mark(team_id, ("user", team_id, user_id), notice)

    def plan_changed(self, team_id: str, plan_id: int) -> None:
        self._worker.mark(team_id, ("plan", team_id, plan_id), None)

    def flush(self, timeout: float = 10.0) -> bool:
        return self._worker.flush(timeout)

    def stop(self) -> None:
        self._worker.stop()

    def people_of(self, team_id: str, plan_id: int) -> list[str]:
        """Everyone whose Home shows something of the plan."""
        creator = select(Plan.created_by).where(Plan.id == plan_id, Plan.team_id == team_id)
        assignees = (
            select(Task.assignee_id)
            .join(Plan, Plan.id == Task.plan_id)
            .where(Task.plan_id == plan_id, Plan.team_id == team_id, Task.assignee_id.is_not(None))
        )
        with self._db.read() as s:
            return sorted({uid for uid in s.scalars(union(creator, assignees)) if uid})

    def _send(self, team_id: str, key: Key, notice: str | None) -> bool:
        kind, _team, what = key
        if kind == "plan":
            for user_id in self.people_of(team_id, int(what)):
                self.refresh_user(team_id, user_id)
            return False
        client = self._client_for(team_id)
        if client is None:
            return False  # uninstalled: send nothing
        user_id = str(what)
        actor, tz = resolve_actor(self._db, client, team_id, user_id, None)
        if actor.side != "seller":  # a buyer's Home lists only their channels' plans
            with self._db.read() as s:
                channels = home_channels(s, team_id, user_id, actor.side)
                unknown = unknown_channels(s, team_id, channels)
            for channel in unknown:  # not known: left out of the Home (fail closed)
                fetch_members(self._db, client, team_id, channel)
        with self._db.read() as s:
            home = home_view(s, team_id, user_id, actor.side, today_in(tz))
        client.views_publish(user_id=user_id, view=render_home(home, notice))
        return True
