"""Buttons on a nudge: Done, and Snooze (1 day, 3 days, until it's due).

A nudge may be a DM, so the plan is found from the button, among the plans the
clicker may reach (`storage.access`); the clicker's side must allow the change."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from bot import ids
from bot.deps import Deps
from commands.dates import format_date
from storage import access, lookup, reminder_services, services
from storage.clock import today_in

SNOOZES = {"1": 1, "3": 3, "due": 1}  # button value → days ("due" when no due date is left)


def register(app: App, deps: Deps) -> None:
    @app.action(ids.NUDGE_ACTION_RE)
    def nudge_button(
        ack: Ack,
        body: dict[str, Any],
        action: dict[str, Any],
        context: BoltContext,
        client: WebClient,
        respond: Respond,
    ) -> None:
        ack()
        deps.later(lambda: _nudge_button(body, action, context, client, respond))

    def _nudge_button(
        body: dict[str, Any],
        action: dict[str, Any],
        context: BoltContext,
        client: WebClient,
        respond: Respond,
    ) -> None:
        actor, tz = deps.actor(context, client, body.get("user"))
        if not body.get("response_url"):  # a nudge is a message; this came from elsewhere
            deps.home.refresh_user(actor.team_id, actor.user_id, f":no_entry: {access.NOT_FOUND}")
            return
        value = str(action.get("value") or "")
        try:
            if action["action_id"] == ids.NUDGE_DONE:
                parsed = ids.parse_task_value(value)
                if parsed is None:
                    raise services.NotFound("That button is no longer valid.")
                plan_id, task_id = parsed

                def done() -> str:
                    with deps.db.write() as s:
                        plan = access.plan_for(s, actor, plan_id)
                        task = lookup.find_task_by_id(s, plan, task_id, actor.side)
                        services.set_task_status(s, actor, plan, task, "completed")
                        who = f"<@{actor.user_id}>"
                        return f":white_check_mark: `#{task.number}` is done — thanks {who}."

                text = deps.as_member(client, done)
                deps.refresher.wake()  # the change queued its card's refresh
            else:
                task_part, _, days = value.partition(":")
                # Only what the buttons offer: a forged value must not reach date math.
                snoozed = ids.parse_int(task_part)
                if snoozed is None or days not in SNOOZES:
                    raise services.NotFound("That button is no longer valid.")
                today = today_in(tz)

                def snooze() -> date:
                    with deps.db.write() as s:
                        _plan, task = access.task_for(s, actor, snoozed)
                        until = (
                            task.due_date
                            if days == "due" and task.due_date
                            else today + timedelta(days=SNOOZES[days])
                        )
                        reminder_services.snooze(s, actor, task.id, until)
                        return until

                until = deps.as_member(client, snooze)
                text = f":zzz: No more nudges about this until {format_date(until, today)}."
                respond(text=text, response_type="ephemeral", replace_original=False)
                return
        except services.DomainError as e:
            refusal = f":no_entry: {e.message}"
            respond(text=refusal, response_type="ephemeral", replace_original=False)
            return
        respond(text=text, replace_original=True)
