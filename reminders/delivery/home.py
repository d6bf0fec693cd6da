"""Keeps App Home tabs current, after the request has been answered.

A changed plan refreshes the Home of everyone it appears for (its creator and
its assignees; queued when its card is sent); opening the tab, or clicking in it,
refreshes that person's. Each is one upsert of the person's Home row in the
outbox; the delivery worker renders it from the database and calls
`views.publish`, paced per workspace (Tier 4, ~100 a minute).
"""

from __future__ import annotations

from slack_sdk import WebClient
from sqlalchemy import select, union

from bot.identity import resolve_actor
from bot.members import fetch_members
from bot.render.home import render_home
from reminders.delivery import refreshes
from reminders.delivery.card import Wake
from reminders.delivery.outbox import Claimed
from storage import clock
from storage.clock import today_in
from storage.db import Database
from storage.home_readmodel import home_channels, home_view
from storage.membership import unknown_channels
from storage.models import Plan, Task


class HomePublisher:
    def __init__(self, db: Database, wake: Wake) -> None:
        self._db = db
        self._wake = wake

    def refresh_user(self, team_id: str, user_id: str, notice: str | None = None) -> None:
        """Publish `user_id`'s Home; `notice` (already escaped) goes on top."""
        if not user_id:
            return
        with self._db.write() as s:
            refreshes.mark(
                s,
                refreshes.HOME,
                team_id,
                refreshes.home_target(team_id, user_id),
                notice or "",
                clock.wall(),
            )
        self._wake()


def people_of(db: Database, team_id: str, plan_id: int) -> list[str]:
    """Everyone whose Home shows something of the plan."""
    creator = select(Plan.created_by).where(Plan.id == plan_id, Plan.team_id == team_id)
    assignees = (
        select(Task.assignee_id)
        .join(Plan, Plan.id == Task.plan_id)
        .where(Task.plan_id == plan_id, Plan.team_id == team_id, Task.assignee_id.is_not(None))
    )
    with db.read() as s:
        return sorted({uid for uid in s.scalars(union(creator, assignees)) if uid})


def send_home(db: Database, client: WebClient, item: Claimed) -> None:
    user_id, team_id = item.recipient, item.team_id
    actor, tz = resolve_actor(db, client, team_id, user_id, None)
    if actor.side != "seller":  # a buyer's Home lists only their channels' plans
        with db.read() as s:
            channels = home_channels(s, team_id, user_id, actor.side)
            unknown = unknown_channels(s, team_id, channels)
        for channel in unknown:  # not known: left out of the Home (fail closed)
            fetch_members(db, client, team_id, channel)
    with db.read() as s:
        home = home_view(s, team_id, user_id, actor.side, today_in(tz))
    client.views_publish(user_id=user_id, view=render_home(home, item.text or None))
