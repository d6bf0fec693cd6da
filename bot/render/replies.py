"""Ephemeral replies: help and errors, `/map mine`, confirmations."""

from __future__ import annotations

from datetime import date

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    MarkdownTextObject,
    SectionBlock,
)
from slack_sdk.models.blocks.basic_components import ConfirmObject

from bot import ids
from bot.render.blocks import (
    MESSAGE_MAX_BLOCKS,
    SECTION_TEXT_MAX,
    Message,
    chunk_lines,
    context,
    task_blocks,
    to_dicts,
)
from bot.text import escape, truncate, truncate_mrkdwn
from storage.readmodel import PlanView

MINE_MAX_TASKS = 20


def text_message(mrkdwn: str) -> Message:
    """Plain text replies, split into sections when long (help can be)."""
    chunks = chunk_lines(mrkdwn.split("\n"))
    blocks: list[Block] = [
        SectionBlock(block_id=f"reply.{i}", text=MarkdownTextObject(text=chunk))
        for i, chunk in enumerate(chunks[:MESSAGE_MAX_BLOCKS])
    ]
    return Message(text=truncate_mrkdwn(mrkdwn, 3000), blocks=to_dicts(blocks))


def error_message(problem: str, usage: str) -> Message:
    """What was wrong (already escaped where it quotes the user) and how to say it."""
    return text_message(f":warning: {problem}\n\n*Usage*\n{usage}")


def mine_message(plan: PlanView, user_id: str, today: date) -> Message:
    """My open tasks in this plan, most urgent first, with their buttons."""
    mine = [t for t in plan.tasks if t.is_open and t.assignee_id == user_id]
    mine.sort(key=lambda t: (t.due_date or date.max, t.number))
    if not mine:
        return text_message(
            f"You have no open tasks in *{escape(plan.title)}*. "
            "Tasks are yours when they're assigned to you: `/map assign #3 @you`."
        )
    blocks: list[Block] = [
        SectionBlock(
            block_id="mine.head",
            text=MarkdownTextObject(
                text=f"*Your open tasks in {escape(truncate(plan.title, 200))}*"
            ),
        )
    ]
    for task in mine[:MINE_MAX_TASKS]:
        blocks.extend(task_blocks(plan, task, today, show_milestone=True))
    if len(mine) > MINE_MAX_TASKS:
        blocks.append(context(f"+ {len(mine) - MINE_MAX_TASKS} more"))
    return Message(text=f"Your open tasks: {len(mine)}", blocks=to_dicts(blocks))


def confirm_remove_message(what: str, value: str) -> Message:
    """Ask before removing: `what` is already escaped."""
    blocks: list[Block] = [
        SectionBlock(
            block_id="remove.ask",
            text=MarkdownTextObject(text=f"Remove {what}? This can't be undone."),
        ),
        ActionsBlock(
            block_id="remove.buttons",
            elements=[
                ButtonElement(
                    text="Remove",
                    action_id=ids.REMOVE_CONFIRM,
                    value=value,
                    style="danger",
                    confirm=ConfirmObject(
                        title="Remove it?",
                        text="This can't be undone.",
                        confirm="Remove",
                        deny="Keep",
                    ),
                ),
                ButtonElement(text="Cancel", action_id=ids.REMOVE_CANCEL, value=value),
            ],
        ),
    ]
    return Message(text=f"Remove {what}?", blocks=to_dicts(blocks))


def confirm_golive_message(preview: str, value: str) -> Message:
    """The go-live preview (`preview` already escaped), with Apply and Cancel."""
    blocks: list[Block] = [
        *[
            SectionBlock(block_id=f"golive.preview.{i}", text=MarkdownTextObject(text=chunk))
            for i, chunk in enumerate(chunk_lines(preview.split("\n"))[:10])
        ],
        ActionsBlock(
            block_id="golive.buttons",
            elements=[
                ButtonElement(
                    text="Move the dates", action_id=ids.GOLIVE_APPLY, value=value, style="primary"
                ),
                ButtonElement(text="Cancel", action_id=ids.GOLIVE_CANCEL, value=value),
            ],
        ),
    ]
    return Message(text=truncate_mrkdwn(preview, 3000), blocks=to_dicts(blocks))


def code_message(title: str, code: str) -> Message:
    """Code (a template's YAML) as fenced sections, each within Slack's 3,000
    characters; copied back whole, the fences are ignored on import."""
    chunks = chunk_lines([escape(line) for line in code.splitlines()], SECTION_TEXT_MAX - 8)
    blocks: list[Block] = [SectionBlock(block_id="code.title", text=MarkdownTextObject(text=title))]
    blocks += [
        SectionBlock(block_id=f"code.{i}", text=MarkdownTextObject(text=f"```\n{chunk}\n```"))
        for i, chunk in enumerate(chunks[: MESSAGE_MAX_BLOCKS - 1])
    ]
    return Message(text=title, blocks=to_dicts(blocks))
