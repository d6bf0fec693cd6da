"""Button clicks. Every click is checked again on the server: the plan must be
one the clicker may reach (`storage.access`) and, from a channel, that
channel's; the task must belong to it; the clicker's side must allow the
change. A crafted payload changes nothing.

Each click is acknowledged, its change made before the listener returns (so
before the HTTP answer: a click answered is a click saved) and its answer to
the clicker (an ephemeral, response_url) sent after (bot.change_first); a task
click's change wakes the card's sender itself, which calls nothing. Someone we
can't place yet, or a channel whose members we don't know, is asked of Slack
after the answer and changed then. What the
channel should hear is an outbox row written with the change.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from bot import ids
from bot.change_first import change_then_answer
from bot.deps import Deps, channel_of
from bot.identity import CHECKING_WHO
from commands.handlers import Reply, apply_golive, confirm_remove
from reminders.delivery import refreshes
from storage import access, services
from storage.rules import Actor

# (actor, channel, button value) → the reply (the channel's message, if any, is
# written to the outbox by the service with the change).
Confirmed = Callable[[Actor, str, str], Reply]
Listener = Callable[..., None]


def register(app: App, deps: Deps) -> None:
    @app.action(ids.TASK_ACTION_RE)
    def task_status(
        ack: Ack,
        body: dict[str, Any],
        action: dict[str, Any],
        context: BoltContext,
        client: WebClient,
    ) -> None:
        ack()
        _task_status(deps, body, action, context, client)

    def confirmation(cancel_id: str, run: Confirmed) -> Listener:
        """An "are you sure?" pair of buttons: Cancel drops the question; the other
        re-checks everything on the server and answers in place of the question."""

        def listener(
            ack: Ack,
            body: dict[str, Any],
            action: dict[str, Any],
            context: BoltContext,
            client: WebClient,
            respond: Respond,
        ) -> None:
            ack()
            if not body.get("response_url"):  # the question is a channel message; not this
                deps.refuse_out_of_place(context, body)
                return
            if action["action_id"] == cancel_id:

                def drop() -> None:
                    respond(delete_original=True)

                deps.later(drop)
                return
            channel = channel_of(body)
            value = str(action.get("value") or "")

            def answer(_actor: Actor, reply: Reply) -> None:
                respond(text=reply.message.text, blocks=reply.message.blocks, replace_original=True)
                deps.refresher.wake()  # the change queued its card's refresh

            def refuse(_actor: Actor, e: services.DomainError) -> None:
                respond(text=f":no_entry: {e.message}", replace_original=True)

            change_then_answer(
                deps,
                context,
                client,
                body.get("user"),
                lambda actor, _tz: run(actor, channel, value),
                answer,
                refuse,
            )

        return listener

    app.action(ids.GOLIVE_ACTION_RE)(
        confirmation(ids.GOLIVE_CANCEL, lambda a, ch, v: apply_golive(deps.db, a, ch, v))
    )
    app.action(ids.REMOVE_ACTION_RE)(
        confirmation(ids.REMOVE_CANCEL, lambda a, ch, v: confirm_remove(deps.db, a, ch, v))
    )


def _task_status(
    deps: Deps,
    body: dict[str, Any],
    action: dict[str, Any],
    context: BoltContext,
    client: WebClient,
) -> None:
    channel = channel_of(body)
    # From App Home there is no channel: the plan is found by id, among those
    # the clicker may reach.
    from_home = not channel
    status = ids.TASK_STATUS_FOR_ACTION[action["action_id"]]
    parsed = ids.parse_task_value(action.get("value") or "")

    def change(actor: Actor, _tz: str) -> bool:
        if parsed is None:
            raise services.NotFound("That button is no longer valid.")
        plan_id, task_id = parsed
        with deps.db.write() as s:
            plan, task = access.plan_and_task(s, actor, plan_id, task_id, channel)
            changed = services.set_task_status(s, actor, plan, task, status)
            if from_home:  # from a channel, the card's send refreshes its people's Homes
                refreshes.mark_home(s, actor.team_id, actor.user_id)
        if changed or from_home:  # queued with the change, committed: send it now
            deps.refresher.wake()  # no Slack call: the sender's own thread sends
        return changed

    def refuse(actor: Actor, e: services.DomainError) -> None:
        if from_home:
            deps.home.refresh_user(actor.team_id, actor.user_id, f":no_entry: {e.message}")
        else:
            why = f"{CHECKING_WHO}\n" if deps.still_unsure(actor) else ""
            text = f"{why}:no_entry: {e.message}"
            client.chat_postEphemeral(channel=channel, user=actor.user_id, text=text)

    # Nothing to say once changed: the card's refresh tells the channel.
    change_then_answer(deps, context, client, body.get("user"), change, None, refuse)
