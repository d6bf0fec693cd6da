"""`/map …`: answered in the HTTP response itself (ephemeral) whenever the
database alone can answer; Slack is never called before that answer.

Slack shows a slash command's HTTP response to the typer alone, so the reply to
someone we know goes in the ack body, at once. Someone Slack must tell us about
first (a member of the seller team never looked up, an @mention of a stranger,
a channel whose members we don't know) gets an empty ack; after it, users.info
or conversations.members, the command, and the reply through the command's
response_url (valid 30 minutes, for up to 5 replies). Opening a modal is
views.open with the command's trigger_id after the ack, in either case.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import error_reply
from bot.deps import Deps
from bot.identity import CHECKING_WHO, LookupNeeded, look_up_unknown, require_known
from bot.listeners import create, drafting, modals
from bot.render.blocks import Message
from commands import syntax as c
from commands.handlers import NO_PLAN, Reply, Request, handle
from storage import services
from storage.access import MembersUnknown
from storage.rules import Actor

TOO_LATE = ":hourglass: That took Slack a moment too long to open. Run the command again."

# What the typer sees (text, blocks) and what must wait for the ack (views.open).
Outcome = tuple[Message | None, Callable[[WebClient], None] | None]


def register(app: App, deps: Deps) -> None:
    @app.command("/map")
    def map_command(
        ack: Ack,
        command: dict[str, Any],
        context: BoltContext,
        client: WebClient,
        respond: Respond,
    ) -> None:
        user = {"id": command.get("user_id")}
        known = deps.actor_now(context, user)
        if not known.unsure:
            team = known.actor.team_id
            request = _request(
                command, known.actor, known.tz, lambda uid: require_known(deps.db, team, uid)
            )
            try:
                # Nothing here calls Slack: an unknown member list or person raises.
                outcome = _outcome(deps, command, known.actor, known.tz, handle(deps.db, request))
            except (LookupNeeded, MembersUnknown):
                pass  # Slack must tell us first: after the ack
            else:
                message, then = outcome
                if message is None:
                    ack()
                else:
                    ack(response_type="ephemeral", text=message.text, blocks=message.blocks)
                if then is not None:
                    deps.later(lambda: _then_or_sorry(then, client, command, respond))
                return
        ack()  # empty: the reply follows through response_url
        deps.later(lambda: _after_ack(deps, command, context, client, respond))


def _request(
    command: dict[str, Any], actor: Actor, tz: str, look_up: Callable[[str], None]
) -> Request:
    return Request(
        actor=actor,
        channel_id=command.get("channel_id", ""),
        text=command.get("text", ""),
        user_tz=tz,
        look_up=look_up,
    )


def _outcome(deps: Deps, command: dict[str, Any], actor: Actor, tz: str, reply: Reply) -> Outcome:
    """What the typer is told, and the Slack work for after the answer. The
    card's repost or refresh is an outbox row (marked here, sent by the worker)."""
    channel, trigger = command.get("channel_id", ""), command.get("trigger_id", "")
    if reply.draft_dialog:  # `/map draft`: checked here, the notes form after the ack
        problem, zone = drafting.check(deps.db, actor, channel, tz)
        if problem:
            return Message(text=problem), None
        team = actor.team_id
        return None, lambda client: drafting.open_notes(deps, client, team, channel, trigger, zone)
    if reply.create_dialog:
        form = create.create_view(deps, actor, channel)
        if isinstance(form, str):
            return Message(text=form), None
        return None, lambda client: _open(client, trigger, form)
    if reply.dialog is not None:  # `/map add`, `/map overview`, `/map people`
        dialog = reply.dialog
        try:
            opened = modals.dialog_view(deps, actor, channel, dialog)
        except services.DomainError as e:
            return Message(text=f":no_entry: {e.message}"), None
        people = isinstance(dialog, c.People)
        return None, lambda client: modals.show_dialog(
            deps, client, actor, channel, trigger, opened, people
        )
    if reply.repost_plan is not None:  # `/map status`: no change, its own mark
        deps.publisher.repost(actor.team_id, reply.repost_plan, waiting=reply.repost_waiting)
    else:  # a change queued its card's refresh in its transaction: send it now
        deps.refresher.wake()
    return reply.message, None


def _open(client: WebClient, trigger: str, view: dict[str, Any]) -> None:
    # After the ack: views.open is the command's own answer (not an outbox
    # message), and its trigger_id is good for 3 s from the command.
    client.views_open(trigger_id=trigger, view=view)


def _then_or_sorry(
    then: Callable[[WebClient], None],
    client: WebClient,
    command: dict[str, Any],
    respond: Respond,
) -> None:
    """The Slack part of an answered command; if Slack fails it, the typer hears
    so through the response URL (the ack is long gone)."""
    try:
        then(client)
    except SlackApiError as e:
        error_reply.log_failure(e, command)
        respond(text=error_reply.SORRY, response_type="ephemeral")


def _after_ack(
    deps: Deps, command: dict[str, Any], context: BoltContext, client: WebClient, respond: Respond
) -> None:
    """The command for someone Slack had to tell us about: looked up now, run,
    answered through response_url."""
    actor, tz = deps.actor(context, client, {"id": command.get("user_id")})
    request = _request(
        command, actor, tz, lambda uid: look_up_unknown(deps.db, client, actor.team_id, uid)
    )
    try:
        reply = deps.as_member(client, lambda: handle(deps.db, request))
        message, then = _outcome(deps, command, actor, tz, reply)
    except MembersUnknown:  # Slack couldn't tell us who is in the channel: as if no plan
        message, then = Message(text=f":no_entry: {NO_PLAN}"), None
    if then is not None:
        try:
            then(client)
        except SlackApiError as e:  # the trigger ran out while Slack was slow
            if e.response.get("error") not in ("expired_trigger_id", "invalid_trigger_id"):
                error_reply.log_failure(e, command)
                message = Message(text=error_reply.SORRY)
            else:
                message = Message(text=TOO_LATE)
    if message is None:
        return
    text = message.text
    # A refusal (error replies start so) to someone buyer side only because the
    # lookup failed: say why first.
    if text.startswith((":no_entry:", ":warning:")) and deps.still_unsure(actor):
        text = f"{CHECKING_WHO}\n{text}"
    respond(text=text, blocks=message.blocks or None, response_type="ephemeral")
