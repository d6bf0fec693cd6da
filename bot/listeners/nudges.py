"""Buttons on a nudge: Done, and Snooze (1 day, 3 days, until it's due).

A nudge may be a DM, so the plan is found from the button, among the plans the
clicker may reach (`storage.access`); the clicker's side must allow the change.
The change is saved before the answer, the reply sent after (bot.change_first)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from bot import ids
from bot.change_first import change_then_answer
from bot.deps import Deps
from commands.dates import format_date
from storage import access, reminder_services, services
from storage.clock import today_in
from storage.rules import Actor

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
        if not body.get("response_url"):  # a nudge is a message; this came from elsewhere
            deps.refuse_out_of_place(context, body)
            return
        value = str(action.get("value") or "")
        done = action["action_id"] == ids.NUDGE_DONE

        def change(actor: Actor, tz: str) -> str:
            return _done(deps, actor, value) if done else _snooze(deps, actor, tz, value)

        def answer(_actor: Actor, text: str) -> None:
            if done:
                respond(text=text, replace_original=True)
                deps.refresher.wake()  # the change queued its card's refresh
            else:
                respond(text=text, response_type="ephemeral", replace_original=False)

        def refuse(_actor: Actor, e: services.DomainError) -> None:
            refusal = f":no_entry: {e.message}"
            respond(text=refusal, response_type="ephemeral", replace_original=False)

        change_then_answer(deps, context, client, body.get("user"), change, answer, refuse)


def _done(deps: Deps, actor: Actor, value: str) -> str:
    parsed = ids.parse_task_value(value)
    if parsed is None:
        raise services.NotFound("That button is no longer valid.")
    plan_id, task_id = parsed
    with deps.db.write() as s:
        plan, task = access.plan_and_task(s, actor, plan_id, task_id)
        services.set_task_status(s, actor, plan, task, "completed")
        return f":white_check_mark: `#{task.number}` is done — thanks <@{actor.user_id}>."


def _snooze(deps: Deps, actor: Actor, tz: str, value: str) -> str:
    task_part, _, days = value.partition(":")
    # Only what the buttons offer: a forged value must not reach date math.
    snoozed = ids.parse_int(task_part)
    if snoozed is None or days not in SNOOZES:
        raise services.NotFound("That button is no longer valid.")
    today = today_in(tz)
    with deps.db.write() as s:
        _plan, task = access.task_for(s, actor, snoozed)
        until: date = (
            task.due_date
            if days == "due" and task.due_date
            else today + timedelta(days=SNOOZES[days])
        )
        reminder_services.snooze(s, actor, task.id, until)
    return f":zzz: No more nudges about this until {format_date(until, today)}."
