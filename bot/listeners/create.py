"""The create form: opened by `/map create` alone, laid out on submit."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot import ids
from bot.deps import Deps
from bot.identity import CHECKING_WHO
from bot.render.create_modal import create_modal, read_create_form
from bot.text import view_error
from commands.template_commands import laid_out_summary
from reminders.delivery import refreshes
from storage import services, template_store
from storage.clock import today_in
from storage.readmodel import plan_key
from storage.rules import Actor


def create_view(deps: Deps, actor: Actor, channel: str) -> str | dict[str, Any]:
    """The create form, from the database alone (before the ack), or a refusal
    as text for the ephemeral reply. views.open runs after the ack."""
    if actor.side != "seller":
        return ":no_entry: Only the seller team can create a plan."
    with deps.db.read() as s:
        if plan_key(s, actor.team_id, channel) is not None:
            return ":no_entry: This channel already has a plan. `/map status` shows it."
        templates = template_store.list_templates(s, actor.team_id)
    return create_modal(templates, channel)


def register(app: App, deps: Deps) -> None:
    @app.view(ids.CREATE_VIEW)
    def submit(ack: Ack, body: dict[str, Any], context: BoltContext, client: WebClient) -> None:
        # The answer is the ack: from the payload and the cache, no Slack call.
        known = deps.actor_now(context, body.get("user"))
        actor, tz = known.actor, known.tz
        view = body.get("view") or {}
        form = read_create_form((view.get("state") or {}).get("values") or {})
        if isinstance(form, dict):
            ack(response_action="errors", errors=form)
            return
        channel = str(view.get("private_metadata") or "")
        today = today_in(tz)
        try:
            with deps.db.write() as s:
                if form.template:
                    laid = template_store.create_from_template(
                        s, actor, channel, form.title, form.template, form.golive, tz, today
                    )
                    plan_id, note = laid.plan.id, laid_out_summary(laid, form.template, today)
                else:
                    plan = services.create_plan(
                        s, actor, channel, form.title, target_date=form.golive, tz=tz
                    )
                    plan_id, note = plan.id, "Created."
                refreshes.mark_card(s, actor.team_id, plan_id, repost=True)  # the new plan's card
        except services.DomainError as e:
            unsure = known.unsure and isinstance(e, (services.Forbidden, services.NotFound))
            why = f"{e.message} {CHECKING_WHO}" if unsure else e.message
            ack(response_action="errors", errors={ids.CREATE_TITLE: view_error(why)})
            return
        ack()
        deps.refresher.wake()
        # The note is for the creator alone, after the answer.
        deps.later(lambda: _tell(client, channel, actor.user_id, note))


def _tell(client: WebClient, channel: str, user: str, text: str) -> None:
    client.chat_postEphemeral(channel=channel, user=user, text=text)
