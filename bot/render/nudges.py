"""Nudges and digests as Block Kit: pure and escaped.

The Monday pass renders one digest per plan (ten thousand of them), so these
build plain dicts rather than slack_sdk objects; tests check every shape with
slack_sdk.models against Slack's limits. Channel messages (buyer-task nudges,
weekly digests) are read by the buyer: callers pass them no internal task.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from bot import ids
from bot.render.blocks import chunk_lines, progress_bar, short_date
from bot.text import escape, truncate
from reminders.snapshot import PlanInfo, TaskInfo

LIST_MAX = 10


_Plan = PlanInfo
_Task = TaskInfo
Block = dict[str, Any]


def _section(block_id: str, text: str) -> Block:
    return {"type": "section", "block_id": block_id, "text": {"type": "mrkdwn", "text": text}}


def _context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def _button(text: str, action_id: str, value: str, style: str | None = None) -> Block:
    button: Block = {
        "type": "button",
        "text": {"type": "plain_text", "text": text},
        "action_id": action_id,
        "value": value,
    }
    if style:
        button["style"] = style
    return button


HEADLINE = {
    "nudge.due_soon": "is due {when}",
    "nudge.due_today": "is due *today*",
    "nudge.overdue": "is *overdue* (was due {when})",
}


def _task_label(t: _Task) -> str:
    return f"`#{t.number}` *{escape(truncate(t.title, 200))}*"


def nudge_message(
    kind: str, plan: _Plan, task: _Task, today: date, mentions: list[str]
) -> tuple[str, list[dict[str, Any]]]:
    when = short_date(task.due_date, today) if task.due_date else ""
    who = " ".join(f"<@{u}>" for u in mentions)
    line = f"{who} {_task_label(task)} {HEADLINE[kind].format(when=when)}".strip()
    text = f"{line} — {escape(truncate(plan.title, 100))}"
    value = ids.task_value(plan.id, task.id)
    buttons = [
        _button("Done", ids.NUDGE_DONE, value, "primary"),
        _button("Snooze 1 day", f"{ids.NUDGE_SNOOZE}.1", f"{task.id}:1"),
        _button("Snooze 3 days", f"{ids.NUDGE_SNOOZE}.3", f"{task.id}:3"),
    ]
    if task.due_date is not None and task.due_date > today:
        buttons.append(_button("Until it's due", f"{ids.NUDGE_SNOOZE}.due", f"{task.id}:due"))
    blocks = [
        _section("nudge.text", text),
        {"type": "actions", "block_id": "nudge.buttons", "elements": buttons},
    ]
    return text, blocks


def _lines(tasks: list[_Task], today: date) -> list[str]:
    out = []
    for t in tasks[:LIST_MAX]:
        due = f" · due {short_date(t.due_date, today)}" if t.due_date else ""
        out.append(f"• {_task_label(t)}{due}")
    if len(tasks) > LIST_MAX:
        out.append(f"… and {len(tasks) - LIST_MAX} more")
    return out


def digest_message(
    plan: _Plan,
    tasks: list[_Task],
    completed: list[tuple[int, str]],
    milestones: list[tuple[int, str]],
    today: date,
    *,
    insight: Sequence[str] = (),
) -> tuple[str, list[dict[str, Any]]]:
    """The weekly plan digest (buyer-safe: `tasks` has no internal task, `insight`
    the health and forecast lines of a buyer's copy of the plan, mrkdwn)."""
    by_id = {t.id: t for t in tasks}
    done = sum(1 for t in tasks if t.status == "completed")
    total = len(tasks)
    week_done = [(by_id[tid], who) for tid, who in completed if tid in by_id]
    soon = sorted(
        (
            t
            for t in tasks
            if t.status != "completed" and t.due_date and 0 <= (t.due_date - today).days <= 7
        ),
        key=lambda t: (t.due_date, t.number),
    )
    overdue = sorted(
        (t for t in tasks if t.status != "completed" and t.due_date and t.due_date < today),
        key=lambda t: (t.due_date, t.number),
    )
    risky = sorted(
        (t for t in tasks if t.status != "completed" and t.risk in ("at_risk", "blocked")),
        key=lambda t: (t.due_date or date.max, t.number),
    )
    open_milestones = [
        m
        for m in milestones
        if any(t.milestone_id == m[0] and t.status != "completed" for t in tasks)
    ]
    pct = round(100 * done / total) if total else 0
    sections = [f"`{progress_bar(done, total)}` {pct}% · {done} of {total} tasks done"]
    if plan.target_date is not None:
        days = (plan.target_date - today).days
        left = (
            "today"
            if days == 0
            else f"{days} day{'s' * (days != 1)} to go"
            if days > 0
            else f"{-days} day{'s' * (days != -1)} ago"
        )
        sections.append(f"*Go-live:* {short_date(plan.target_date, today)} ({left})")
    if open_milestones:
        sections.append(f"*Next milestone:* {escape(truncate(open_milestones[0][1], 100))}")
    if insight:
        sections.append("\n".join(insight))
    for title, items in (
        (
            "Completed this week",
            [f"• {_task_label(t)} — <@{who}>" for t, who in week_done[:LIST_MAX]],
        ),
        ("Due in the next 7 days", _lines(soon, today)),
        ("Overdue", _lines(overdue, today)),
        ("At risk or blocked", _lines(risky, today)),
    ):
        if items:
            sections.append(f"*{title}*\n" + "\n".join(items))
    head = truncate(f"Weekly plan digest: {plan.title}", 150)
    blocks: list[Block] = [
        {"type": "header", "block_id": "digest.head", "text": {"type": "plain_text", "text": head}}
    ]
    for i, chunk in enumerate(chunk_lines("\n\n".join(sections).split("\n"))[:40]):
        blocks.append(_section(f"digest.{i}", chunk))
    blocks.append(_context("`/map status` shows the whole plan."))
    text = f"Weekly plan digest: {escape(truncate(plan.title, 100))} — {done}/{total} done"
    return text, blocks


def rep_digest_message(
    urgent: list[tuple[_Plan, _Task]],
    stalled: list[_Plan],
    today: date,
    *,
    health: Callable[[], list[tuple[str, str]]] = list,
) -> tuple[str, list[dict[str, Any]]]:
    """A rep's morning DM across their deals (internal tasks included: it's a DM);
    `health`: their plans at risk or stalled, (title, health line in mrkdwn)."""
    lines = []
    if urgent:
        lines.append(f"*Overdue or due today: {len(urgent)}*")
        for plan, t in urgent[:20]:
            when = (
                "today"
                if t.due_date == today
                else f"since {short_date(t.due_date, today)}"
                if t.due_date
                else ""
            )
            lines.append(f"• {escape(truncate(plan.title, 60))}: {_task_label(t)} · {when}")
        if len(urgent) > 20:
            lines.append(f"… and {len(urgent) - 20} more")
    if stalled:
        lines.append(f"*No movement for a week: {len(stalled)}*")
        lines.extend(f"• {escape(truncate(p.title, 100))}" for p in stalled[:20])
    unhealthy = health()
    if unhealthy:
        lines.append(f"*Plan health: {len(unhealthy)} at risk or stalled*")
        lines.extend(f"• {escape(truncate(t, 60))}: {line}" for t, line in unhealthy[:20])
        if len(unhealthy) > 20:
            lines.append(f"… and {len(unhealthy) - 20} more")
    blocks = [_section(f"rep.{i}", chunk) for i, chunk in enumerate(chunk_lines(lines)[:45])]
    blocks.append(_context("Mute this digest with `/map mute digests`."))
    text = f"Your deals today: {len(urgent)} overdue or due today, {len(stalled)} stalled"
    return text, blocks
