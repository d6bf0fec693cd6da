"""The create form: opened by `/map create` alone, laid out on submit."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot import ids
from bot.deps import Deps
from bot.render.create_modal import create_modal, read_create_form
from bot.text import view_error
from commands.template_commands import laid_out_summary
from reminders.delivery import refreshes
from storage import services, template_store
from storage.clock import today_in
from storage.readmodel import plan_key
from storage.rules import Actor


def open_create(
    deps: Deps, client: WebClient, actor: Actor, channel: str, trigger_id: str
) -> str | None:
    """Open the form; a refusal comes back as text for the ephemeral reply."""
    if actor.side != "seller":
        return ":no_entry: Only the seller team can create a plan."
    with deps.db.read() as s:
        if plan_key(s, actor.team_id, channel) is not None:
            return ":no_entry: This channel already has a plan. `/map status` shows it."
        templates = template_store.list_templates(s, actor.team_id)
    client.views_open(trigger_id=trigger_id, view=create_modal(templates, channel))
    return None


def register(app: App, deps: Deps) -> None:
    @app.view(ids.CREATE_VIEW)
    def submit(ack: Ack, body: dict[str, Any], context: BoltContext, client: WebClient) -> None:
        actor, tz = deps.actor(context, client, body.get("user"))
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
            ack(response_action="errors", errors={ids.CREATE_TITLE: view_error(e.message)})
            return
        ack()
        deps.refresher.wake()
        client.chat_postEphemeral(channel=channel, user=actor.user_id, text=note)
