"""`/map remind …` and `/map mute|unmute digests`: parsing and carrying out."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

from sqlalchemy.orm import Session

from commands import syntax as c
from commands.dates import quote
from commands.template_commands import Refused
from storage import reminder_services
from storage.models import Plan
from storage.rules import Actor

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
TIME_RE = re.compile(r"^(\d{1,2})(?::(\d{2}))?\s*(am|pm)?$", re.IGNORECASE)
ON_OFF = {"on": True, "off": False, "yes": True, "no": False}


def _time(text: str) -> int:
    m = TIME_RE.match(text.strip())
    if m is None:
        raise Refused(f"{quote(text[:20])} isn't a time: say `09:00` or `9am`.")
    hour, minute = int(m.group(1)), int(m.group(2) or 0)
    if m.group(3):
        hour = hour % 12 + (12 if m.group(3).lower() == "pm" else 0)
    if hour > 23 or minute > 59:
        raise Refused(f"{quote(text[:20])} isn't a time of day.")
    return hour * 60 + minute


def parse_remind(rest: str, today: date) -> c.Command:
    words = rest.lower().split()
    if not words:
        return c.Remind("show")
    head, args = words[0], words[1:]
    if head in ("on", "off") and not args:
        return c.Remind("power", on=ON_OFF[head])
    if (
        head == "lead"
        and args
        and args[0].isdigit()
        and int(args[0]) <= 14
        and args[1:] in ([], ["day"], ["days"])  # not "lead 2 weeks"
    ):
        return c.Remind("lead", number=int(args[0]))
    if head == "weekends" and len(args) == 1 and args[0] in ON_OFF:
        return c.Remind("weekends", on=ON_OFF[args[0]])
    if head == "digest" and len(args) in (1, 2):
        day = next((i for i, d in enumerate(DAYS) if d.startswith(args[0])), None)
        if day is None or len(args[0]) < 3:
            raise Refused(f"{quote(args[0][:20])} isn't a day of the week.")
        return c.Remind("digest", number=day, minute=_time(args[1]) if len(args) == 2 else 540)
    raise Refused(
        "Say `/map remind` to see the settings, or `lead &lt;days&gt;` (0–14), "
        "`digest &lt;day&gt; &lt;time&gt;`, `weekends on|off`, `on|off`."
    )


def parse_mute(muted: bool) -> Callable[[str, date], c.Command]:
    def parse(rest: str, today: date) -> c.Command:
        if rest.strip().lower() not in ("digests", "digest"):
            verb = "mute" if muted else "unmute"
            raise Refused(f"Say `/map {verb} digests`.")
        return c.MuteDigests(muted)

    return parse


def describe(plan: Plan) -> str:
    if not plan.reminders_on:
        return "Reminders are *off* for this plan. `/map remind on` turns them back on."
    at = f"{plan.digest_minute // 60:02d}:{plan.digest_minute % 60:02d}"
    day = DAYS[plan.digest_weekday].title()
    return "\n".join(
        [
            "*Reminders for this plan*",
            f"• Nudges {plan.remind_lead_days} days before a due date, on the day, when overdue.",
            f"• Weekly digest: {day} at {at} ({plan.tz}).",
            f"• Weekends: {'on' if plan.remind_weekends else 'off'}.",
            "Everyone is nudged at 09:00 in their own time zone.",
        ]
    )


def run_remind(s: Session, actor: Actor, plan: Plan, cmd: c.Remind, today: date) -> str:
    if cmd.setting == "lead":
        reminder_services.set_reminders(s, actor, plan, remind_lead_days=cmd.number)
    elif cmd.setting == "digest":
        reminder_services.set_reminders(
            s, actor, plan, digest_weekday=cmd.number, digest_minute=cmd.minute
        )
    elif cmd.setting == "weekends":
        reminder_services.set_reminders(s, actor, plan, remind_weekends=cmd.on)
    elif cmd.setting == "power":
        reminder_services.set_reminders(s, actor, plan, reminders_on=cmd.on)
    return describe(plan)


def run_mute(s: Session, actor: Actor, plan: Plan | None, cmd: c.MuteDigests, today: date) -> str:
    reminder_services.mute_digests(s, actor, cmd.muted)
    if cmd.muted:
        return "Your daily digest is muted. `/map unmute digests` brings it back."
    return "Your daily digest is back: every weekday at 09:00 your time."
