"""The MAP summary, its health line and its forecast line: pure and escaped.

Rendered from `PlanFacts` for one side: a seller's summary is complete (internal
tasks marked 🔒); a buyer's, and the one shared in the channel, is made from
`facts.for_side("buyer")`, which holds no internal task, and the summary never
reads a task's notes (they are not in the facts at all).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from slack_sdk.models.blocks import Block, HeaderBlock, MarkdownTextObject, SectionBlock
from slack_sdk.models.views import View

from bot import ids
from bot.render.blocks import (
    MESSAGE_MAX_BLOCKS,
    SIDE_LABEL,
    STATUS_ICON,
    Message,
    chunk_lines,
    context,
    progress_bar,
    short_date,
    to_dicts,
)
from bot.text import escape, truncate
from reminders.forecast import Forecast, forecast
from reminders.health import Health, assess
from storage.clock import zone
from storage.plan_facts import PlanFacts, TaskFact

UPCOMING_DAYS = 14
LIST_MAX = 10
HEALTH_ICON = {"on_track": "🟢", "at_risk": "🟠", "stalled": "🔴"}


def health_line(health: Health) -> str:
    """mrkdwn: "🟠 *At risk* — 3 buyer tasks overdue; …" (reasons escaped: they may
    hold a milestone's title)."""
    reasons = "; ".join(escape(truncate(r, 200)) for r in health.reasons)
    return f"{HEALTH_ICON[health.state]} *{health.label}* — {reasons}"


def forecast_line(f: Forecast) -> str:
    return f"🔮 {escape(f.line)}"


def insight_lines(facts: PlanFacts, today: date) -> list[str]:
    """The health line and the forecast line of these facts (one side's)."""
    return [health_line(assess(facts, today)), forecast_line(forecast(facts, today))]


def _who(facts: PlanFacts, user_id: str, *, mention: bool) -> str:
    name = facts.name_of(user_id)
    if mention or not name:
        return f"<@{user_id}>"
    return escape(truncate(name, 60))


def _task_line(facts: PlanFacts, t: TaskFact, today: date, *, mention: bool) -> str:
    parts = [f"{STATUS_ICON[t.status]} `#{t.number}` *{escape(truncate(t.title, 150))}*"]
    parts.append(SIDE_LABEL.get(t.owner_side, t.owner_side))
    if t.internal:
        parts.append("🔒 internal")
    if t.assignee_id:
        parts.append(_who(facts, t.assignee_id, mention=mention))
    if t.due_date is not None:
        parts.append(
            f"*overdue* since {short_date(t.due_date, today)}"
            if t.is_overdue(today)
            else f"due {short_date(t.due_date, today)}"
        )
    return " · ".join(parts)


def _capped(lines: list[str], more: int) -> list[str]:
    return lines + ([f"… and {more} more"] if more > 0 else [])


def _counts(tasks: Iterable[TaskFact], today: date) -> str:
    items = list(tasks)
    overdue = sum(1 for t in items if t.is_overdue(today))
    return f"{len(items)} open" + (f", *{overdue} overdue*" if overdue else "")


def summary_lines(facts: PlanFacts, today: date, *, mention: bool = True) -> list[str]:
    """Every section of the summary as mrkdwn lines (`mention`: people as mentions,
    else by name, so a summary posted in the channel pings nobody)."""
    tasks = list(facts.tasks)
    open_tasks = [t for t in tasks if t.is_open]
    done = [t for t in tasks if not t.is_open]
    week_start = today - timedelta(days=today.weekday())
    local = zone(facts.tz)
    this_week = [
        t for t in done if t.completed_at and t.completed_at.astimezone(local).date() >= week_start
    ]
    pct = round(100 * len(done) / len(tasks)) if tasks else 0
    lines = [
        *insight_lines(facts, today),
        f"`{progress_bar(len(done), len(tasks))}` {pct}% · *Completed:* {len(this_week)} this "
        f"week, {len(done)} of {len(tasks)} in all",
    ]
    if facts.target_date is not None:
        lines.append(f"*Target go-live:* {short_date(facts.target_date, today)}")
    upcoming = sorted(
        (
            t
            for t in open_tasks
            if t.due_date is not None and today <= t.due_date <= today + timedelta(UPCOMING_DAYS)
        ),
        key=lambda t: (t.due_date or date.max, t.number),
    )
    lines.append("")
    lines.append(f"*Next {UPCOMING_DAYS} days* ({len(upcoming)})")
    lines += _capped(
        [_task_line(facts, t, today, mention=mention) for t in upcoming[:LIST_MAX]]
        or ["_Nothing due._"],
        len(upcoming) - LIST_MAX,
    )
    overdue = sorted(
        (t for t in open_tasks if t.is_overdue(today)), key=lambda t: (t.due_date, t.number)
    )
    if overdue:
        lines.append("")
        lines.append(f"*Overdue* ({len(overdue)})")
        lines += _capped(
            [_task_line(facts, t, today, mention=mention) for t in overdue[:LIST_MAX]],
            len(overdue) - LIST_MAX,
        )
    lines.append("")
    lines.append("*Who owns what* (open tasks)")
    by_side = Counter(t.owner_side for t in open_tasks)
    side_parts = [
        f"{SIDE_LABEL[side]}: {_counts((t for t in open_tasks if t.owner_side == side), today)}"
        for side in ("buyer", "seller", "mutual")
        if by_side[side]
    ]
    lines.append(" · ".join(side_parts) if side_parts else "_Nothing open._")
    people = sorted({t.assignee_id for t in open_tasks if t.assignee_id})
    person_lines = [
        f"• {_who(facts, uid, mention=mention)}: "
        f"{_counts((t for t in open_tasks if t.assignee_id == uid), today)}"
        for uid in people
    ]
    unassigned = [t for t in open_tasks if not t.assignee_id]
    if unassigned:
        person_lines.append(f"• _Unassigned_: {_counts(unassigned, today)}")
    lines += _capped(person_lines[: LIST_MAX * 2], len(person_lines) - LIST_MAX * 2)
    lines.append("")
    lines.append("*Milestones*")
    for m in facts.milestones:
        mine = facts.tasks_of(m.id)
        finished = sum(1 for t in mine if not t.is_open)
        status = facts.milestone_status(m)
        late = sum(1 for t in mine if t.is_overdue(today))
        parts = [
            f"{STATUS_ICON[status]} {escape(truncate(m.title, 100))}",
            f"{finished}/{len(mine)}",
        ]
        if late:
            parts.append(f"*{late} overdue*")
        if m.due_date is not None:
            parts.append(f"due {short_date(m.due_date, today)}")
        lines.append(" · ".join(parts))
    return lines


def _blocks(facts: PlanFacts, today: date, *, mention: bool, limit: int) -> list[Block]:
    head = truncate(f"Summary: {facts.title}", 150)
    blocks: list[Block] = [HeaderBlock(block_id=ids.BLOCK_SUMMARY_HEAD, text=head)]
    chunks = chunk_lines(summary_lines(facts, today, mention=mention))
    for i, chunk in enumerate(chunks[: limit - 2]):
        blocks.append(
            SectionBlock(
                block_id=f"{ids.BLOCK_SUMMARY_BODY}.{i}", text=MarkdownTextObject(text=chunk)
            )
        )
    return blocks


def summary_message(facts: PlanFacts, today: date, *, shared: bool = False) -> Message:
    """The summary as a message: ephemeral for whoever asked (their side's facts),
    or `shared` in the channel (buyer-safe facts, people by name)."""
    if shared:
        assert facts.side == "buyer", "a summary in the channel is read by buyers"
    blocks = _blocks(facts, today, mention=not shared, limit=MESSAGE_MAX_BLOCKS)
    note = (
        "Shared from `/map summary share`: what both teams see."
        if shared
        else "Only you can see this. `/map summary share` posts the version both teams see."
        if facts.side == "seller"
        else "Only you can see this."
    )
    blocks.append(context(note))
    fallback = f"Summary: {escape(truncate(facts.title, 100))}"
    return Message(text=fallback, blocks=to_dicts(blocks))


def summary_modal(facts: PlanFacts, today: date) -> dict[str, Any]:
    """The Summary button's modal, for the clicker's side."""
    view = View(
        type="modal",
        callback_id=ids.VIEW_SUMMARY,
        title="Plan summary",
        close="Close",
        blocks=_blocks(facts, today, mention=True, limit=100),
    )
    view.validate_json()
    return view.to_dict()
