"""The plan card: the one message per plan that the channel watches.

Pure: a buyer-side `PlanView` and today's date in, a `Message` out. It always
fits Slack's limits (50 blocks, 3,000 characters a section) however big the
plan: milestone lines are chunked and the task list is cut to the budget left.
"""

from __future__ import annotations

from datetime import date

from slack_sdk.models.blocks import (
    Block,
    ButtonElement,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot import ids
from bot.render.blocks import (
    MESSAGE_MAX_BLOCKS,
    STATUS_ICON,
    Message,
    chunk_lines,
    context,
    progress_bar,
    short_date,
    task_blocks,
    to_dicts,
)
from bot.text import escape, truncate
from storage.readmodel import MilestoneView, PlanView, TaskView

DUE_SOON_DAYS = 7
MAX_TASKS_SHOWN = 15
HEADER_MAX = 150


def summary_text(plan: PlanView, today: date) -> str:
    tasks = plan.tasks
    done = sum(1 for t in tasks if t.status == "completed")
    pct = round(100 * done / len(tasks)) if tasks else 0
    lines = []
    if plan.target_date is not None:
        days = (plan.target_date - today).days
        left = (
            f"{days} days to go"
            if days > 1
            else "tomorrow"
            if days == 1
            else "today"
            if days == 0
            else f"{-days} days ago"
        )
        lines.append(f"*Target go-live:* {short_date(plan.target_date, today)} ({left})")
    else:
        lines.append("*Target go-live:* not set — `/map golive &lt;date&gt;`")
    lines.append(f"`{progress_bar(done, len(tasks))}` {pct}% · {done} of {len(tasks)} tasks done")
    return "\n".join(lines)


def milestone_line(m: MilestoneView, today: date, current: bool) -> str:
    total = len(m.tasks)
    title = escape(truncate(m.title, 80))
    title = f"*{title}*" if current else title
    parts = [f"{STATUS_ICON[m.status]} {title}", f"{m.done_count}/{total}"]
    if m.due_date is not None:
        parts.append(f"due {short_date(m.due_date, today)}")
    if m.manual:
        parts.append("_status set by hand_")
    return " · ".join(parts)


def tasks_that_matter(plan: PlanView, today: date) -> list[TaskView]:
    """Open tasks overdue, due soon or in the current milestone (most urgent first),
    then the current milestone's completed ones so they can be reopened."""
    current = plan.current_milestone
    current_id = current.id if current else None
    open_tasks = [
        t
        for t in plan.tasks
        if t.is_open
        and (
            t.milestone_id == current_id
            or (t.due_date is not None and (t.due_date - today).days <= DUE_SOON_DAYS)
        )
    ]
    open_tasks.sort(key=lambda t: (t.due_date or date.max, t.number))
    done = [t for t in current.tasks if not t.is_open] if current else []
    return open_tasks + done


def render_card(plan: PlanView, today: date, health: str | None = None) -> Message:
    """`health`: the plan's health line (mrkdwn, from a buyer's copy of its facts),
    shown with the Summary button."""
    assert plan.side == "buyer", "the card is read by buyers: render it from a buyer view"
    current = plan.current_milestone
    head: list[Block] = [
        HeaderBlock(block_id=ids.BLOCK_HEADER, text=truncate(plan.title, HEADER_MAX)),
        SectionBlock(
            block_id=ids.BLOCK_SUMMARY,
            text=MarkdownTextObject(text=summary_text(plan, today)),
            # Buttons ride on sections as accessories: the card's block budget is unchanged.
            accessory=ButtonElement(text="Full plan", action_id=ids.PLAN_FULL, value=str(plan.id)),
        ),
    ]
    if health is not None:
        head.append(
            SectionBlock(
                block_id=ids.BLOCK_HEALTH,
                text=MarkdownTextObject(text=health),
                accessory=ButtonElement(
                    text="Summary", action_id=ids.PLAN_SUMMARY, value=str(plan.id)
                ),
            )
        )
    lines = [
        milestone_line(m, today, current is not None and m.id == current.id)
        for m in plan.milestones
    ]
    for i, chunk in enumerate(
        chunk_lines(lines or ["_No milestones yet — `/map milestone add &lt;title&gt;`_"])
    ):
        add_task = ButtonElement(text="+ Task", action_id=ids.PLAN_ADD_TASK, value=str(plan.id))
        head.append(
            SectionBlock(
                block_id=f"{ids.BLOCK_MILESTONES}.{i}",
                text=MarkdownTextObject(text=chunk),
                accessory=add_task if i == 0 else None,
            )
        )
    head.append(DividerBlock())

    tail: list[Block] = []
    matter = tasks_that_matter(plan, today)
    # Two blocks a task; keep two spare for the "more" line and its context.
    budget = min(MAX_TASKS_SHOWN, (MESSAGE_MAX_BLOCKS - len(head) - 2) // 2)
    shown = matter[:budget]
    body: list[Block] = []
    for task in shown:
        body.extend(
            task_blocks(
                plan,
                task,
                today,
                show_milestone=task.milestone_id != (current.id if current else None),
            )
        )
    if not shown:
        body.append(context("Nothing open right now. `/map add &lt;task&gt;` adds one."))
    hidden_open = sum(1 for t in plan.tasks if t.is_open) - sum(1 for t in shown if t.is_open)
    if hidden_open > 0:
        tail.append(
            context(f"+ {hidden_open} more open tasks · `/map mine` lists yours", ids.BLOCK_MORE)
        )
    blocks = head + body + tail
    fallback = f"Action plan: {plan.title}"
    return Message(text=escape(fallback), blocks=to_dicts(blocks))
