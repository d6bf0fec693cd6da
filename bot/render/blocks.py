"""Pieces shared by every renderer: task lines, buttons, progress bars, and the
check that what we send is valid Block Kit within Slack's limits."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    MarkdownTextObject,
    Option,
    OverflowMenuElement,
    SectionBlock,
)

from bot import ids
from bot.text import escape, link_text, truncate, truncate_mrkdwn
from storage.readmodel import PlanView, TaskView

MESSAGE_MAX_BLOCKS = 50
VIEW_MAX_BLOCKS = 100
SECTION_TEXT_MAX = 3000
TITLE_IN_LINE = 200  # characters of a task or milestone title shown in one line
LINK_IN_LINE = 500  # longest URL shown as a link in a task's line

STATUS_ICON = {"not_started": "⚪", "in_progress": "🔵", "completed": "✅"}
RISK_MARK = {"at_risk": "⚠️ at risk", "blocked": "⛔ blocked"}
SIDE_LABEL = {"buyer": "Buyer", "seller": "Seller", "mutual": "Mutual"}


@dataclass(frozen=True)
class Message:
    """A rendered message: fallback text (notifications, screen readers) and blocks."""

    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)


# Not strftime("%b"): the Monday pass formats tens of thousands of dates, and the
# labels are English whatever the process's locale.
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def short_date(d: date, today: date) -> str:
    """A date as "Mar 12", with the year when it is not this year."""
    label = f"{MONTHS[d.month - 1]} {d.day}"
    return label if d.year == today.year else f"{label}, {d.year}"


def progress_bar(done: int, total: int, width: int = 10) -> str:
    filled = round(width * done / total) if total else 0
    return "▰" * filled + "▱" * (width - filled)


def due_phrase(task: TaskView, today: date) -> str:
    if task.due_date is None:
        return ""
    when = short_date(task.due_date, today)
    if not task.is_open:
        return f"due {when}"
    days = (task.due_date - today).days
    if days < 0:
        return f"*overdue* since {when}"
    if days == 0:
        return "*due today*"
    if days == 1:
        return "due tomorrow"
    return f"due {when}"


def who(task: TaskView) -> str:
    if task.assignee_id is None:
        return ""
    return escape(task.assignee_name) if task.assignee_name else f"<@{task.assignee_id}>"


def task_line(task: TaskView, today: date, *, show_milestone: bool = False) -> str:
    """`#7 Security questionnaire` · Buyer · Jane · due Dec 3 — all user text escaped."""
    title = escape(truncate(task.title, TITLE_IN_LINE))
    title = f"~{title}~" if task.status == "completed" else f"*{title}*"
    parts = [f"{STATUS_ICON[task.status]} `#{task.number}` {title}", SIDE_LABEL[task.owner_side]]
    if task.internal:
        parts.append("🔒 internal")
    if task.is_open and task.risk in RISK_MARK:
        parts.append(f"*{RISK_MARK[task.risk]}*")
    if who(task):
        parts.append(who(task))
    if due_phrase(task, today):
        parts.append(due_phrase(task, today))
    if task.links:  # documents and recordings travel with the task
        url, label = task.links[0]
        more = f" +{len(task.links) - 1}" if len(task.links) > 1 else ""
        # A very long URL would push the line past Slack's 3,000 characters.
        shown = link_text(url, truncate(label, 60)) if len(url) <= LINK_IN_LINE else escape(label)
        parts.append(f"📎 {shown or 'link'}{more}")
    if show_milestone:
        parts.append(f"_{escape(truncate(task.milestone_title, 60))}_")
    return " · ".join(parts)


def task_buttons(plan_id: int, task: TaskView) -> list[ButtonElement]:
    value = ids.task_value(plan_id, task.id)
    if task.status == "completed":
        return [ButtonElement(text="Reopen", action_id=ids.TASK_REOPEN, value=value)]
    buttons = []
    if task.status == "not_started":
        buttons.append(ButtonElement(text="Start", action_id=ids.TASK_START, value=value))
    buttons.append(
        ButtonElement(text="Complete", action_id=ids.TASK_COMPLETE, value=value, style="primary")
    )
    return buttons


def task_menu(plan_id: int, task: TaskView) -> OverflowMenuElement:
    """Edit, Comment, Set due date, Assign, Mark at risk: each opens a modal."""
    return OverflowMenuElement(
        action_id=ids.TASK_MENU,
        options=[
            Option(value=ids.menu_value(verb, plan_id, task.id), text=label)
            for verb, label in ids.TASK_MENU_VERBS.items()
        ],
    )


def task_blocks(
    plan: PlanView, task: TaskView, today: date, *, show_milestone: bool = False
) -> list[Block]:
    """A task as two blocks: its line, and its buttons."""
    return plan_task_blocks(plan.id, task, today, show_milestone=show_milestone)


def plan_task_blocks(
    plan_id: int,
    task: TaskView,
    today: date,
    *,
    show_milestone: bool = False,
    buttons: bool = True,
) -> list[Block]:
    """`task_blocks` for a plan known by id (App Home); without `buttons`, the line alone."""
    line = SectionBlock(
        block_id=f"{ids.BLOCK_TASK}.{task.id}.line",
        text=MarkdownTextObject(text=task_line(task, today, show_milestone=show_milestone)),
        accessory=task_menu(plan_id, task) if buttons else None,
    )
    if not buttons:
        return [line]
    return [
        line,
        ActionsBlock(
            block_id=f"{ids.BLOCK_TASK}.{task.id}.buttons",
            elements=task_buttons(plan_id, task),
        ),
    ]


def context(text: str, block_id: str | None = None) -> ContextBlock:
    return ContextBlock(block_id=block_id, elements=[MarkdownTextObject(text=text)])


def chunk_lines(lines: list[str], limit: int = SECTION_TEXT_MAX) -> list[str]:
    """Join lines into as few texts as fit Slack's per-section limit."""
    chunks: list[str] = []
    current = ""
    for line in lines:
        line = truncate_mrkdwn(line, limit)
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            chunks.append(current)
            current = line
        else:
            current = candidate
    if current:
        chunks.append(current)
    return chunks


def to_dicts(blocks: list[Block]) -> list[dict[str, Any]]:
    """Validate every block (slack_sdk raises on a broken one) and serialise."""
    out = []
    for block in blocks:
        block.validate_json()
        out.append(block.to_dict())
    return out
