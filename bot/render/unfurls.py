"""What a plan link shows when it unfurls: the plan's progress, next step and target,
or a task's status, assignee and due date with a Complete button (Block Kit), and
the same task as a Work Object (`chat.unfurl` metadata, a Task entity), built
with slack_sdk's models. Pure: a read model in, Slack payloads out; the caller
decides whose view it is (an unfurl is read by everyone in the conversation)."""

from __future__ import annotations

from datetime import date
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    MarkdownTextObject,
    SectionBlock,
)
from slack_sdk.models.metadata import (
    EntityAttributes,
    EntityMetadata,
    EntityPayload,
    EntityStringField,
    EntityTitle,
    EntityTypedField,
    EntityUserIDField,
    EventAndEntityMetadata,
    ExternalRef,
    TaskEntityFields,
)

from bot import ids
from bot.render.blocks import (
    context,
    progress_bar,
    short_date,
    task_line,
    to_dicts,
)
from bot.text import escape, truncate
from storage.readmodel import PlanView, TaskView

STATUS_TEXT = {"not_started": "Not started", "in_progress": "In progress", "completed": "Completed"}
PRODUCT = "MAP bot"


def task_blocks(plan: PlanView, task: TaskView, today: date) -> list[dict[str, Any]]:
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=task_line(task, today, show_milestone=True))),
        context(f"{STATUS_TEXT[task.status]} · plan *{escape(truncate(plan.title, 150))}*"),
    ]
    if task.is_open:
        blocks.append(
            ActionsBlock(
                elements=[
                    ButtonElement(
                        text="Complete",
                        action_id=ids.UNFURL_COMPLETE,
                        value=ids.task_value(plan.id, task.id),
                        style="primary",
                    )
                ]
            )
        )
    return to_dicts(blocks)


def plan_blocks(plan: PlanView, today: date) -> list[dict[str, Any]]:
    tasks = plan.tasks
    done = sum(1 for t in tasks if not t.is_open)
    upcoming = sorted(
        (t for t in tasks if t.is_open), key=lambda t: (t.due_date or date.max, t.number)
    )
    lines = [
        f"*{escape(truncate(plan.title, 150))}*",
        f"{progress_bar(done, len(tasks))} {done} of {len(tasks)} tasks done",
    ]
    if plan.target_date is not None:
        lines.append(f"🎯 go-live {short_date(plan.target_date, today)}")
    current = plan.current_milestone
    if current is not None:
        lines.append(f"Now: _{escape(truncate(current.title, 80))}_")
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text="\n".join(lines)))]
    if upcoming:
        blocks.append(context("Next: " + task_line(upcoming[0], today)))
    return to_dicts(blocks)


def task_entity(plan: PlanView, task: TaskView, url: str, posted: str) -> dict[str, Any]:
    """The task as a Work Object (Task entity): opens in Slack's side panel where the
    app has Work Object previews enabled; elsewhere Slack shows the blocks."""
    fields = TaskEntityFields(
        status=EntityStringField(value=STATUS_TEXT[task.status]),
        assignee=(
            EntityTypedField(
                type="slack#/types/user", user=EntityUserIDField(user_id=task.assignee_id)
            )
            if task.assignee_id
            else None
        ),
        due_date=(
            EntityTypedField(type="slack#/types/date", value=task.due_date.isoformat())
            if task.due_date
            else None
        ),
    )
    entity = EntityMetadata(
        entity_type="slack#/entities/task",
        url=url,
        app_unfurl_url=posted,
        external_ref=ExternalRef(id=f"{plan.id}:{task.number}", type="task"),
        entity_payload=EntityPayload(
            attributes=EntityAttributes(
                title=EntityTitle(text=truncate(task.title, 200)),
                display_id=f"#{task.number}",
                product_name=PRODUCT,
            ),
            fields=fields,
        ),
    )
    return EventAndEntityMetadata(entities=[entity]).to_dict()
