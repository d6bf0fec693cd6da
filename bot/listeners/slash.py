"""`/map …`: answered in the HTTP response itself (ephemeral), card work after."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.deps import Deps
from bot.identity import look_up_unknown
from bot.listeners import create, drafting, modals
from commands.handlers import NO_PLAN, Request, handle
from storage.access import MembersUnknown


def register(app: App, deps: Deps) -> None:
    @app.command("/map")
    def map_command(
        ack: Ack, command: dict[str, Any], context: BoltContext, client: WebClient
    ) -> None:
        actor, tz = deps.actor(context, client, {"id": command.get("user_id")})
        request = Request(
            actor=actor,
            channel_id=command.get("channel_id", ""),
            text=command.get("text", ""),
            user_tz=tz,
            # The reply goes in the ack, so this runs before it, as the actor's does.
            look_up=lambda uid: look_up_unknown(deps.db, client, actor.team_id, uid),
        )
        try:
            reply = deps.as_member(client, lambda: handle(deps.db, request))
        except MembersUnknown:  # Slack couldn't tell us who is in the channel: as if no plan
            ack(response_type="ephemeral", text=f":no_entry: {NO_PLAN}")
            return
        if reply.draft_dialog:  # checks first, acknowledges, then opens the modal
            channel = command.get("channel_id", "")
            problem, zone = drafting.check(deps.db, actor, channel, tz)
            ack(response_type="ephemeral", text=problem) if problem else ack()
            if not problem:
                trigger = command.get("trigger_id", "")
                drafting.open_notes(deps, client, actor.team_id, channel, trigger, zone)
            return
        if reply.create_dialog:
            problem = create.open_create(
                deps, client, actor, command.get("channel_id", ""), command.get("trigger_id", "")
            )
            ack(response_type="ephemeral", text=problem) if problem else ack()
            return
        if reply.dialog is not None:  # `/map add`, `/map overview`, `/map people`
            problem = modals.open_dialog(
                deps,
                client,
                actor,
                command.get("channel_id", ""),
                command.get("trigger_id", ""),
                reply.dialog,
            )
            if problem:
                ack(response_type="ephemeral", text=problem)
            else:
                ack()
            return
        ack(response_type="ephemeral", text=reply.message.text, blocks=reply.message.blocks)
        if reply.repost_plan is not None:
            deps.publisher.repost(actor.team_id, reply.repost_plan)
        if reply.refresh_plan is not None:
            deps.publisher.refresh(actor.team_id, reply.refresh_plan)
