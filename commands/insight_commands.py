"""`/map summary [share]` and `/map health […]`: parsing and carrying out."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.render.blocks import Message
from bot.render.replies import text_message
from bot.render.summary import forecast_line, health_line, summary_message
from commands import syntax as c
from commands.dates import quote
from commands.template_commands import Refused
from reminders.forecast import forecast
from reminders.health import HealthRules, assess
from storage import health_services
from storage.db import Database
from storage.models import Activity, Plan
from storage.plan_facts import facts_for
from storage.rules import Actor

# What people type → the HealthSettings field, and how its number reads.
THRESHOLDS: dict[str, tuple[str, str]] = {
    "overdue": ("overdue_tasks", "overdue {n} task"),
    "late": ("milestone_late_days", "late milestone {n} business day"),
    "stall": ("stall_days", "stall {n} day"),
    "silence": ("buyer_silence_days", "buyer silence {n} day"),
}
_BY_FIELD = {field: words for field, words in THRESHOLDS.values()}
_HEALTH_HELP = (
    "Say `/map health` to see it, or set thresholds: `overdue &lt;tasks&gt;`, "
    "`late &lt;business days&gt;`, `stall &lt;days&gt;`, `silence &lt;days&gt;` "
    "(1–365, or `default`)."
)


def parse_summary(rest: str) -> c.Command:
    words = rest.lower().split()
    if not words:
        return c.Summary()
    if words == ["share"]:
        return c.Summary(share=True)
    raise Refused("Say `/map summary`, or `/map summary share` to post it in the channel.")


def parse_health(rest: str) -> c.Command:
    words = rest.lower().split()
    if len(words) % 2:
        raise Refused(_HEALTH_HELP)
    changes: dict[str, int | None] = {}
    for name, value in zip(words[::2], words[1::2], strict=True):
        if name not in THRESHOLDS:
            raise Refused(f"{quote(name[:20])} isn't a health threshold. {_HEALTH_HELP}")
        if value == "default":
            changes[THRESHOLDS[name][0]] = None
        elif value.isascii() and value.isdigit() and 1 <= int(value) <= 365:
            changes[THRESHOLDS[name][0]] = int(value)
        else:
            raise Refused(f"{quote(value[:20])} isn't a number from 1 to 365. {_HEALTH_HELP}")
    return c.HealthCommand(tuple(changes.items()))


def _threshold_words(rules: HealthRules, own: dict[str, int | None]) -> str:
    parts = []
    for field, words in _BY_FIELD.items():
        n = getattr(rules, field)
        text = words.format(n=n) + ("s" if n != 1 else "")
        parts.append(text if own.get(field) is not None else f"{text} (default)")
    return " · ".join(parts)


def run(
    db: Database,
    actor: Actor,
    require_plan: Callable[[Session], Plan],
    command: c.Summary | c.HealthCommand,
    today: date,
) -> tuple[Message, int | None]:
    """The reply, and the plan whose card changed (None: none)."""
    if isinstance(command, c.Summary) and not command.share:
        with db.read() as s:
            plan = require_plan(s)
            return summary_message(facts_for(s, plan.id, actor.side), today), None
    if isinstance(command, c.Summary):
        with db.write() as s:
            plan = require_plan(s)
            shared = summary_message(facts_for(s, plan.id, "buyer"), today, shared=True)
            version = s.scalar(select(func.max(Activity.id)).where(Activity.plan_id == plan.id))
            queued = health_services.share_summary(
                s, actor, plan, shared.text, shared.blocks, today, str(version or 0)
            )
        return text_message(
            "Posting the summary in the channel: the version both teams see, without "
            "internal tasks."
            if queued
            else "That summary is already in the channel: nothing has changed since."
        ), None
    if command.changes:
        with db.write() as s:
            plan = require_plan(s)
            health_services.set_thresholds(s, actor, plan, dict(command.changes))
            plan_id = plan.id
            facts = facts_for(s, plan.id, actor.side)
    else:
        with db.read() as s:
            plan = require_plan(s)
            plan_id = plan.id
            facts = facts_for(s, plan.id, actor.side)
    settings = facts.health_settings
    own = {field: getattr(settings, field) for field in _BY_FIELD}
    lines = [
        health_line(assess(facts, today)),
        forecast_line(forecast(facts, today)),
        f"_Thresholds:_ {_threshold_words(HealthRules.of(settings), own)}",
    ]
    if command.changes:
        lines.insert(0, "Health thresholds set.")
    return text_message("\n".join(lines)), plan_id if command.changes else None
