"""MAP steps for Workflow Builder (Bolt's `app.function`, manifest.yml `functions`):
create a plan from a template, add a task, complete a task, get a plan's status.

A step acts for its "Acting user" input (a workflow maps it to whoever started
the workflow), on that person's side, with the checks of the same change made
by a click: only sellers create plans or add tasks (unless the plan lets
buyers edit), a buyer completes only buyer and mutual tasks and only while in
the deal channel, nobody reaches another workspace's plan, internal tasks are
neither completed by buyers nor counted in what a buyer is told. Each ends with
`complete(outputs)` or `fail(error)` saying what was wrong.

"Get plan status" reports progress, the next step, the target and the plan's
health in words, as the asker's side would see it on the card.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import date
from typing import Any

from slack_bolt import App, BoltContext
from slack_bolt.context.complete import Complete
from slack_bolt.context.fail import Fail
from sqlalchemy.orm import Session

from bot import ids
from bot.deps import Deps, host_team
from bot.identity import look_up_unknown, resolve_actor
from bot.plan_links import link_for
from bot.text import clean_text, unescape
from commands.handlers import NO_PLAN
from reminders.health import assess
from storage import access, lookup, services, template_store
from storage.clock import today_in
from storage.models import Plan
from storage.plan_facts import plan_facts
from storage.readmodel import plan_view
from storage.rules import Actor

log = logging.getLogger(__name__)

_CHANNEL = re.compile(r"[CG][A-Z0-9]{2,20}")
TITLE_MAX = 300


class StepRefused(Exception):
    """An input a step cannot use; `str(e)` is the error Workflow Builder shows."""


def _text(inputs: dict[str, Any], name: str, *, required: bool = False, limit: int = 300) -> str:
    value = inputs.get(name)
    if value is None or value == "":
        if required:
            raise StepRefused(f"“{name}” is required.")
        return ""
    if not isinstance(value, str):
        raise StepRefused(f"“{name}” must be text.")
    text = " ".join(clean_text(value).split())
    if len(text) > limit:
        raise StepRefused(f"“{name}” is longer than {limit} characters.")
    return text


def _user(inputs: dict[str, Any], name: str, *, required: bool = False) -> str | None:
    value = _text(inputs, name, required=required, limit=32) or None
    if value is not None and not ids.USER_ID_RE.fullmatch(value):
        raise StepRefused(f"“{name}” is not a Slack user.")
    return value


def _channel(inputs: dict[str, Any]) -> str:
    value = _text(inputs, "channel_id", required=True, limit=32)
    if not _CHANNEL.fullmatch(value):
        raise StepRefused("“channel_id” is not a Slack channel.")
    return value


def _date(inputs: dict[str, Any], name: str) -> date | None:
    value = _text(inputs, name, limit=10)
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise StepRefused(f"“{name}” is not a date (YYYY-MM-DD).") from None


def _number(inputs: dict[str, Any], name: str) -> int:
    value = inputs.get(name)
    if isinstance(value, str) and (parsed := ids.parse_int(value.strip())) is not None:
        return parsed
    if type(value) is int and 1 <= value <= ids.ID_MAX:
        return value
    raise StepRefused(f"“{name}” must be a task number such as 7.")


def _plan(s: Session, actor: Actor, channel: str) -> Plan:
    plan = access.plan_in_channel(s, actor, channel)
    if plan is None:
        raise services.NotFound(NO_PLAN)
    return plan


def register(app: App, deps: Deps) -> None:
    def step(
        callback_id: str, run: Callable[[Actor, str, dict[str, Any], str], dict[str, Any]]
    ) -> None:
        """A listener that works out who acts, runs the step, and completes or fails it."""

        @app.function(callback_id)
        def listener(
            inputs: dict[str, Any], context: BoltContext, complete: Complete, fail: Fail
        ) -> None:
            team = host_team(context)
            # After the event's answer (the listener's time is the ack's): completing
            # the step is a Web API call.
            deps.later(lambda: perform(team, inputs, complete, fail))

        def perform(team: str, inputs: dict[str, Any], complete: Complete, fail: Fail) -> None:
            bot = deps.workspaces.client_for(team)  # the JIT token is the workflow's
            try:
                user = _user(inputs, "user_id", required=True)
                assert user is not None
                channel = _channel(inputs)
                if bot is None:
                    raise StepRefused("MAP bot is not installed in this workspace.")
                actor, tz = resolve_actor(deps.db, bot, team, user, None)
                outputs = deps.as_member(bot, lambda: run(actor, channel, inputs, tz))
            except StepRefused as e:
                fail(error=str(e))
                return
            except services.DomainError as e:
                fail(error=unescape(e.message).replace("`", ""))
                return
            complete(outputs=outputs)

    def create_plan(actor: Actor, channel: str, inputs: dict[str, Any], tz: str) -> dict[str, Any]:
        title = _text(inputs, "title", required=True, limit=TITLE_MAX)
        template = _text(inputs, "template", limit=40)
        golive = _date(inputs, "golive")
        with deps.db.write() as s:
            if template:
                laid = template_store.create_from_template(
                    s, actor, channel, title, template, golive, tz, today_in(tz)
                )
                plan_id = laid.plan.id
            else:
                plan_id = services.create_plan(
                    s, actor, channel, title, target_date=golive, tz=tz
                ).id
        deps.publisher.repost(actor.team_id, plan_id)
        return {"plan_id": plan_id, "plan_url": plan_url(deps, plan_id)}

    def add_task(actor: Actor, channel: str, inputs: dict[str, Any], tz: str) -> dict[str, Any]:
        title = _text(inputs, "title", required=True, limit=TITLE_MAX)
        side = _text(inputs, "side", limit=10).lower() or "mutual"
        if side not in ("buyer", "seller", "mutual"):
            raise StepRefused("“side” must be buyer, seller or mutual.")
        assignee = _user(inputs, "assignee")
        due = _date(inputs, "due")
        bot = deps.workspaces.client_for(actor.team_id)
        if assignee is not None and bot is not None:  # placed on a side by their own team
            look_up_unknown(deps.db, bot, actor.team_id, assignee)
        with deps.db.write() as s:
            plan = _plan(s, actor, channel)
            task = services.add_task(
                s, actor, plan, title, owner_side=side, assignee_id=assignee, due=due
            )
            number = task.number
        deps.refresher.wake()  # the change queued its card refresh in its transaction
        return {"task_number": number}

    def complete_task(
        actor: Actor, channel: str, inputs: dict[str, Any], tz: str
    ) -> dict[str, Any]:
        number = _number(inputs, "task_number")
        with deps.db.write() as s:
            plan = _plan(s, actor, channel)
            task = lookup.find_task(s, plan, number=number, words="", side=actor.side)
            services.set_task_status(s, actor, plan, task, "completed")
            title = task.title
        deps.refresher.wake()  # the change queued its card refresh in its transaction
        return {"task_title": title}

    def plan_status(actor: Actor, channel: str, inputs: dict[str, Any], tz: str) -> dict[str, Any]:
        with deps.db.read() as s:
            plan = _plan(s, actor, channel)
            view = plan_view(s, plan, actor.side)  # what their side sees
            facts = plan_facts(s, [plan.id])[plan.id].for_side(actor.side)
        health = assess(facts, today_in(view.tz))
        tasks = view.tasks
        done = sum(1 for t in tasks if not t.is_open)
        open_tasks = sorted(
            (t for t in tasks if t.is_open), key=lambda t: (t.due_date or date.max, t.number)
        )
        next_step = f"#{open_tasks[0].number} {open_tasks[0].title}" if open_tasks else ""
        return {
            "progress": round(100 * done / len(tasks)) if tasks else 0,
            "next_step": next_step,
            "target": view.target_date.isoformat() if view.target_date else "",
            "health": health.line(),
        }

    step(ids.FN_CREATE_PLAN, create_plan)
    step(ids.FN_ADD_TASK, add_task)
    step(ids.FN_COMPLETE_TASK, complete_task)
    step(ids.FN_PLAN_STATUS, plan_status)


def plan_url(deps: Deps, plan_id: int) -> str:
    """The plan's link (it unfurls); empty without PUBLIC_URL."""
    return link_for(deps.settings.public_url, plan_id)
