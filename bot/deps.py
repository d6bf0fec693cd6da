"""What every listener needs, built once per app."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from slack_bolt import BoltContext
from slack_sdk import WebClient

from bot.after_ack import AfterAck
from bot.config import Settings
from bot.identity import Resolved, cached_actor, refresh_person, resolve_actor
from bot.members import fetch_members
from bot.oauth import Workspaces
from reminders.delivery.card import CardPublisher
from reminders.delivery.home import HomePublisher
from reminders.delivery.refresh_worker import RefreshWorker
from storage.access import NOT_FOUND, MembersUnknown
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
    after: AfterAck

    def settle(self, timeout: float = 10.0) -> bool:
        """Wait until the work left after acks is done and every refresh and
        message it queued is sent (tests, the shell, shutdown)."""
        return self.after.settle(timeout) and self.refresher.flush(timeout)

    def stop(self) -> None:
        self.after.stop()
        self.refresher.stop()

    def later(self, job: Callable[[], None]) -> None:
        """Run `job` after the request's answer (bot.after_ack)."""
        self.after.later(job)

    def actor_now(self, context: BoltContext, user: dict[str, Any] | None) -> Resolved:
        """The clicker or typer from the payload and the cache, on the request's
        path: no Slack call. When Slack should be asked (never seen, a day old),
        users.info runs after the ack and refreshes side and time zone."""
        known = self.known_now(context, user)
        self.refresh_later(known)
        return known

    def known_now(self, context: BoltContext, user: dict[str, Any] | None) -> Resolved:
        """The same without asking Slack for anything (bot.change_first decides
        first whether the lookup must come before the change)."""
        team, user_id, user_team = _who(context, user)
        return cached_actor(self.db, team, user_id, user_team)

    def refresh_later(self, known: Resolved) -> None:
        """users.info after the ack for someone never looked up or not for a day."""
        if known.stale:
            team, user_id = known.actor.team_id, known.actor.user_id
            self.later(lambda: self._look_up(team, user_id))

    def refuse_out_of_place(self, context: BoltContext, body: dict[str, Any]) -> None:
        """A button that only works on its message (it answers through its
        response_url) came from elsewhere: say so on the clicker's Home, after the
        answer, and change nothing."""
        team, user = host_team(context), str((body.get("user") or {}).get("id") or "")
        notice = f":no_entry: {NOT_FOUND}"
        self.later(lambda: self.home.refresh_user(team, user, notice))

    def actor(
        self, context: BoltContext, client: WebClient, user: dict[str, Any] | None
    ) -> tuple[Actor, str]:
        """The same in work after the ack: someone only Slack can place (a member
        of the seller team never looked up) is looked up first, since nothing
        waits on it now; a lookup that fails leaves them buyer side."""
        team, user_id, user_team = _who(context, user)
        known = cached_actor(self.db, team, user_id, user_team)
        if known.unsure:
            return resolve_actor(self.db, client, team, user_id, user_team)
        if known.stale:
            self.later(lambda: self._look_up(team, user_id))
        return known.actor, known.tz

    def still_unsure(self, actor: Actor) -> bool:
        """Buyer side only because Slack has not told us yet whether a guest (the
        lookup failed or is under way): a refusal says so."""
        known = cached_actor(self.db, actor.team_id, actor.user_id, None)
        return actor.side == "buyer" and known.unsure

    def _look_up(self, team: str, user_id: str) -> None:
        """users.info once at a time per person in this process (a burst of clicks
        by someone new asks Slack once)."""
        key = (team, user_id)
        with _looking_lock:
            if key in _looking:
                return
            _looking.add(key)
        try:
            client = self.workspaces.client_for(team)
            if client is not None:
                refresh_person(self.db, client, team, user_id)
        finally:
            with _looking_lock:
                _looking.discard(key)

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


_looking: set[tuple[str, str]] = set()
_looking_lock = threading.Lock()


def _who(context: BoltContext, user: dict[str, Any] | None) -> tuple[str, str, str | None]:
    """(seller team, user id, the user's own team from the payload)."""
    user = user or {}
    user_id = str(user.get("id") or context.user_id or "")
    return host_team(context), user_id, user.get("team_id") or context.actor_team_id


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
