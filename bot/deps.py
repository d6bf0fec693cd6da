"""What every listener needs, built once per app."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from slack_bolt import BoltContext
from slack_sdk import WebClient

from bot.config import Settings
from bot.identity import resolve_actor
from bot.members import fetch_members
from bot.oauth import Workspaces
from reminders.delivery.card import CardPublisher
from reminders.delivery.home import HomePublisher
from reminders.delivery.refresh_worker import RefreshWorker
from storage.access import MembersUnknown
from storage.db import Database
from storage.rules import Actor

T = TypeVar("T")


@dataclass
class Deps:
    settings: Settings
    db: Database
    publisher: CardPublisher
    home: HomePublisher
    workspaces: Workspaces
    refresher: RefreshWorker

    def settle(self, timeout: float = 10.0) -> bool:
        """Wait until every card and Home refresh is sent (tests, the shell, shutdown)."""
        return self.refresher.flush(timeout)

    def stop(self) -> None:
        self.refresher.stop()

    def actor(
        self, context: BoltContext, client: WebClient, user: dict[str, Any] | None
    ) -> tuple[Actor, str]:
        """The clicker or typer, on their side, with their time zone."""
        user = user or {}
        user_id = user.get("id") or context.user_id or ""
        user_team = user.get("team_id") or context.actor_team_id
        return resolve_actor(self.db, client, host_team(context), user_id, user_team)

    def as_member(self, client: WebClient, run: Callable[[], T]) -> T:
        """Run `run`, which reaches plans through `storage.access`. When it needed
        the members of a channel we don't know yet, fetch them and run it once
        more; if Slack can't tell us, the refusal stands."""
        try:
            return run()
        except MembersUnknown as e:
            if fetch_members(self.db, client, e.team_id, e.channel_id) is None:
                raise
        return run()


def host_team(context: BoltContext) -> str:
    """The seller team: the workspace this request was authorised for. In a
    Slack Connect payload `team.id` may be the clicker's own team, so prefer
    the installation's (auth.test or the OAuth installation)."""
    result = context.authorize_result
    return (
        (result.team_id if result is not None and result.team_id else None) or context.team_id or ""
    )


def channel_of(body: dict[str, Any]) -> str:
    """The channel an interaction came from; "" from a modal or App Home."""
    container = body.get("container") or {}
    if container.get("type") == "view":
        return ""
    return str((body.get("channel") or {}).get("id") or container.get("channel_id") or "")
