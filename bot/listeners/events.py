"""Workspace events: who joins and leaves a deal channel (the members a buyer
needs to reach its plan, and a welcome), Slack Connect sharing (and the new id
a private channel gets when shared), profile changes, and uninstalls.

Each does its database work and acks (Slack retries an event not acknowledged
within 3 s); none calls the Web API: the welcome is an outbox row.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, BoltContext
from sqlalchemy import select

from bot.deps import Deps, host_team
from bot.identity import record_user
from reminders.delivery import refreshes
from storage import channel_posts, membership, services
from storage.models import Person
from storage.readmodel import active_plan

log = logging.getLogger(__name__)


def _ack(ack: Ack) -> None:
    ack()


def _member(event: dict[str, Any], context: BoltContext) -> tuple[str, str, str]:
    return host_team(context), str(event.get("channel") or ""), str(event.get("user") or "")


def register(app: App, deps: Deps) -> None:
    @app.event("member_joined_channel")
    def joined(event: dict[str, Any], body: dict[str, Any], context: BoltContext) -> None:
        team, channel, user = _member(event, context)
        if not (channel and user):
            return
        with deps.db.write() as s:
            membership.joined(s, team, channel, user)
            plan = active_plan(s, team, channel)
            if plan is not None and user != context.bot_user_id:  # the bot joining: nothing
                # The welcome is an outbox row, sent after this event's ack.
                # One per event: Slack's retries carry the same event_id.
                event_id = str(body.get("event_id") or event.get("event_ts") or "")
                channel_posts.welcome(s, plan, channel, user, event_id)

    @app.event("member_left_channel")
    def left(event: dict[str, Any], context: BoltContext) -> None:
        team, channel, user = _member(event, context)
        if channel and user:
            with deps.db.write() as s:
                membership.left(s, team, channel, user)
                refreshes.mark_home(s, team, user)  # their Home drops that deal's plan
            deps.refresher.wake()

    def sharing(event: dict[str, Any], context: BoltContext, shared: bool) -> None:
        other = (
            event.get("connected_team_id") if shared else event.get("previously_connected_team_id")
        )
        team = host_team(context)
        with deps.db.write() as s:
            # Another organisation came or went: who is in the channel is unknown again.
            membership.forget(s, team, str(event.get("channel") or ""))
            plan = active_plan(s, team, event.get("channel") or "")
            if plan is None or not other:
                return
            services.record_channel_shared(s, plan, str(other), shared=shared)

    @app.event("channel_shared")
    def channel_shared(event: dict[str, Any], context: BoltContext) -> None:
        sharing(event, context, shared=True)

    @app.event("channel_unshared")
    def channel_unshared(event: dict[str, Any], context: BoltContext) -> None:
        sharing(event, context, shared=False)

    @app.event("channel_id_changed")
    def channel_id_changed(event: dict[str, Any], context: BoltContext) -> None:
        team = host_team(context)
        with deps.db.write() as s:
            services.move_channel(
                s,
                team,
                str(event.get("old_channel_id") or ""),
                str(event.get("new_channel_id") or ""),
            )

    @app.event("user_change")
    def user_change(event: dict[str, Any], context: BoltContext) -> None:
        # Slack sends this for everyone in the workspace: keep only people we
        # already know (their time zone drives reminders) and store no one new.
        user = event.get("user") or {}
        team = host_team(context)
        with deps.db.read() as s:
            known = s.scalar(
                select(Person.id).where(Person.team_id == team, Person.user_id == user.get("id"))
            )
        if known is not None:
            record_user(deps.db, team, user)

    @app.event("app_uninstalled")
    def app_uninstalled(context: BoltContext) -> None:
        deps.workspaces.uninstalled(context.team_id or "")

    @app.event("tokens_revoked")
    def tokens_revoked(event: dict[str, Any], context: BoltContext) -> None:
        # We hold no user tokens; only the bot's matters.
        if (event.get("tokens") or {}).get("bot"):
            deps.workspaces.bot_token_revoked(context.team_id or "")
