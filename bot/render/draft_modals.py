"""The drafting modals: paste the notes, wait while a model drafts, review the
proposal (each task: keep or drop, side, assignee, due date) — and reading the
review back. Pure: a proposal in, a validated view out."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    CheckboxesElement,
    ContextBlock,
    DatePickerElement,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    SectionBlock,
    StaticSelectElement,
    UserSelectElement,
)

from bot import ids
from bot.render.blocks import SECTION_TEXT_MAX, SIDE_LABEL, VIEW_MAX_BLOCKS
from bot.render.modals import modal
from bot.text import escape, truncate, truncate_mrkdwn
from commands.drafting.model import SIDES, DraftTask, Proposal
from storage.drafts import Choice

NOTES_FIELD_MAX = 3000  # Slack's limit for a plain-text input
PLAN_TITLE_MAX = 150
# Each task takes two blocks (its line with the Keep box, then side/assignee/date);
# the head takes at most four, so a review shows this many and says so past it.
REVIEW_MAX = (VIEW_MAX_BLOCKS - 4) // 2 - 2
_KEEP = "keep"


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=truncate_mrkdwn(text, SECTION_TEXT_MAX)))


def notes_modal(channel: str, today: date, notes: str = "") -> dict[str, Any]:
    blocks: list[Block] = [
        InputBlock(
            block_id=ids.F_DRAFT_NOTES,
            label="Call notes or transcript",
            hint="Bullets, prose or “Name: …” lines. Longer notes: post them in the channel "
            "and use the message shortcut “Draft plan from this”.",
            element=PlainTextInputElement(
                action_id=ids.F_DRAFT_NOTES,
                multiline=True,
                max_length=NOTES_FIELD_MAX,
                initial_value=notes[:NOTES_FIELD_MAX] or None,
                placeholder="Next steps: we'll send the SOC 2 report by Friday; "
                "Jane to share the PO process…",
            ),
        ),
        InputBlock(
            block_id=ids.F_DRAFT_CALL_DATE,
            label="Date of the call",
            hint="“by Friday” and “next week” count from it.",
            element=DatePickerElement(
                action_id=ids.F_DRAFT_CALL_DATE, initial_date=today.isoformat()
            ),
        ),
    ]
    return modal(ids.VIEW_DRAFT_NOTES, "Draft a plan", blocks, submit="Draft", metadata=channel)


def working_modal() -> dict[str, Any]:
    """Shown at once while a model drafts (Slack's trigger_id lasts 3 seconds)."""
    return modal(
        ids.VIEW_DRAFT_WORKING,
        "Draft a plan",
        [_section(":hourglass_flowing_sand: Drafting the plan from your notes…")],
    )


@dataclass(frozen=True)
class ReviewTarget:
    """Where the draft would go: a new plan, or the channel's plan (its title)."""

    plan_title: str | None
    already: Mapping[int, int]  # proposed task index → #number of the same task there


def review_modal(draft_id: int, proposal: Proposal, target: ReviewTarget) -> dict[str, Any]:
    head: list[Block] = []
    if target.plan_title is None:
        head.append(
            InputBlock(
                block_id=ids.F_DRAFT_TITLE,
                label="Plan title",
                element=PlainTextInputElement(
                    action_id=ids.F_DRAFT_TITLE,
                    max_length=PLAN_TITLE_MAX,
                    initial_value=truncate(proposal.title, PLAN_TITLE_MAX) or None,
                    placeholder="Acme rollout",
                ),
            )
        )
        where = "A new plan for this channel"
    else:
        where = f"Adding to *{escape(target.plan_title)}*; tasks already in it are left out"
    head.append(
        InputBlock(
            block_id=ids.F_DRAFT_GOLIVE,
            label="Target go-live",
            optional=True,
            element=DatePickerElement(
                action_id=ids.F_DRAFT_GOLIVE,
                initial_date=proposal.golive.isoformat() if proposal.golive else None,
            ),
        )
    )
    shown = proposal.tasks[:REVIEW_MAX]
    said = [escape(n) for n in proposal.notes]
    if len(proposal.tasks) > REVIEW_MAX:
        said.append(
            f"Showing the first {REVIEW_MAX} of {len(proposal.tasks)} steps (a modal holds "
            f"{VIEW_MAX_BLOCKS} blocks); draft the rest from the remaining notes."
        )
    head.append(
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=truncate_mrkdwn(
                        " ".join([f"{where}. Nothing is created until you press Create.", *said]),
                        SECTION_TEXT_MAX,
                    )
                )
            ]
        )
    )
    blocks = head + [b for i, task in enumerate(shown) for b in _task_blocks(i, task, target)]
    metadata = json.dumps({"draft": draft_id})
    return modal(
        ids.VIEW_DRAFT_REVIEW, "Review the draft", blocks, submit="Create", metadata=metadata
    )


def _task_blocks(i: int, task: DraftTask, target: ReviewTarget) -> list[Block]:
    line = f"*{escape(task.title)}*\n_{escape(task.milestone)}_"
    if i in target.already:
        return [_section(f"{line} · already in the plan as `#{target.already[i]}`")]
    keep = Option(value=_KEEP, text="Keep")
    sides = [Option(value=side, text=SIDE_LABEL[side]) for side in SIDES]
    return [
        SectionBlock(
            block_id=f"{ids.BLOCK_DRAFT_KEEP}.{i}",
            text=MarkdownTextObject(text=truncate_mrkdwn(line, SECTION_TEXT_MAX)),
            accessory=CheckboxesElement(
                action_id=ids.DRAFT_KEEP, options=[keep], initial_options=[keep]
            ),
        ),
        ActionsBlock(
            block_id=f"{ids.BLOCK_DRAFT_TASK}.{i}",
            elements=[
                StaticSelectElement(
                    action_id=ids.DRAFT_SIDE,
                    options=sides,
                    initial_option=sides[SIDES.index(task.side)],
                ),
                UserSelectElement(
                    action_id=ids.DRAFT_ASSIGNEE,
                    placeholder="Assignee",
                    initial_user=task.assignee_id,
                ),
                DatePickerElement(
                    action_id=ids.DRAFT_DUE,
                    placeholder="Due",
                    initial_date=task.due.isoformat() if task.due else None,
                ),
            ],
        ),
    ]


# --- reading the forms back -------------------------------------------------------


def _state(values: Mapping[str, Any], block_id: str, action_id: str) -> Mapping[str, Any]:
    block = values.get(block_id)
    element = block.get(action_id) if isinstance(block, Mapping) else None
    return element if isinstance(element, Mapping) else {}


def _date(raw: object) -> date | None | str:
    """A picked date, None when none was, or "" when the value is no date."""
    if raw in (None, ""):
        return None
    try:
        return date.fromisoformat(str(raw))
    except ValueError:
        return ""


def read_notes(values: Mapping[str, Any]) -> tuple[str, date | None] | dict[str, str]:
    notes = _state(values, ids.F_DRAFT_NOTES, ids.F_DRAFT_NOTES).get("value")
    if not isinstance(notes, str) or not notes.strip():
        return {ids.F_DRAFT_NOTES: "Paste the notes of the call."}
    when = _date(_state(values, ids.F_DRAFT_CALL_DATE, ids.F_DRAFT_CALL_DATE).get("selected_date"))
    if when == "":
        return {ids.F_DRAFT_CALL_DATE: "Pick a date."}
    return notes, when if isinstance(when, date) else None


@dataclass(frozen=True)
class Review:
    title: str
    golive: date | None
    choices: dict[int, Choice]


def draft_id_of(private_metadata: object) -> int | None:
    try:
        data = json.loads(str(private_metadata or ""))
    except ValueError:
        return None
    value = data.get("draft") if isinstance(data, dict) else None
    return value if ids.fits_id(value) else None


def read_review(values: Mapping[str, Any], count: int) -> Review | dict[str, str]:
    """The rep's choices for the first `count` proposed tasks. A task whose Keep box
    is missing or unticked is dropped: only what was shown and kept is created."""
    errors: dict[str, str] = {}
    title = _state(values, ids.F_DRAFT_TITLE, ids.F_DRAFT_TITLE).get("value")
    title = " ".join(title.split()) if isinstance(title, str) else ""
    golive = _date(_state(values, ids.F_DRAFT_GOLIVE, ids.F_DRAFT_GOLIVE).get("selected_date"))
    if golive == "":
        errors[ids.F_DRAFT_GOLIVE] = "Pick a date."
    choices: dict[int, Choice] = {}
    for i in range(min(count, REVIEW_MAX)):
        box = _state(values, f"{ids.BLOCK_DRAFT_KEEP}.{i}", ids.DRAFT_KEEP)
        picked = box.get("selected_options")
        keep = isinstance(picked, list) and any(
            isinstance(o, Mapping) and o.get("value") == _KEEP for o in picked
        )
        block = f"{ids.BLOCK_DRAFT_TASK}.{i}"
        side = (_state(values, block, ids.DRAFT_SIDE).get("selected_option") or {}).get("value")
        user = _state(values, block, ids.DRAFT_ASSIGNEE).get("selected_user")
        due = _date(_state(values, block, ids.DRAFT_DUE).get("selected_date"))
        if not keep:
            continue
        if side not in SIDES or due == "":
            return {ids.F_DRAFT_GOLIVE: "The form came back damaged: open the draft again."}
        choices[i] = Choice(
            keep=True,
            side=side,
            assignee_id=user if isinstance(user, str) and ids.USER_ID_RE.fullmatch(user) else None,
            due=due if isinstance(due, date) else None,
        )
    if errors:
        return errors
    return Review(title, golive if isinstance(golive, date) else None, choices)
