"""Modals: the task and milestone forms, comments, the full plan (paged), the
overview and the people on the deal — and reading their submitted values back.

Pure: read models in, validated view dicts out (every view passes
`slack_sdk.models.views.View.validate_json` and stays within 100 blocks). The
`read_*` functions turn `view.state.values` into form data or per-field errors
for `response_action: errors`; they trust nothing but the shapes they find.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    CheckboxesElement,
    DatePickerElement,
    DividerBlock,
    InputBlock,
    MarkdownTextObject,
    NumberInputElement,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
    StaticSelectElement,
    UrlInputElement,
    UserSelectElement,
)
from slack_sdk.models.views import View

from bot import ids
from bot.render.blocks import (
    SECTION_TEXT_MAX,
    SIDE_LABEL,
    VIEW_MAX_BLOCKS,
    chunk_lines,
    context,
    short_date,
    task_line,
    task_menu,
)
from bot.text import escape, link_text, mention, truncate, truncate_mrkdwn, view_error
from storage.collab_read import CommentView, Link, Overview, TaskDetail
from storage.collab_services import (
    MAX_COMMENT,
    MAX_LINK_LABEL,
    MAX_NOTES,
    MAX_OVERVIEW,
    MAX_REASON,
    MAX_ROLE,
    Due,
    FieldInvalid,
    LinkInput,
    TaskForm,
    clean_link,
)
from storage.readmodel import PlanView, TaskView
from storage.rules import OWNER_SIDES, RISK_LABEL, RISKS, STATUS_LABEL, STATUSES, Side
from storage.services import MAX_TITLE

TITLE_MAX = 24  # a modal's title
USER_ID = re.compile(r"^[UW][A-Z0-9]{2,20}$")  # rendered as <@…>: nothing else may pass
OPTION_TEXT_MAX = 75
SELECT_OPTIONS_MAX = 100

# Which fields each task modal shows: the overflow's quick actions are focused forms.
TASK_MODES: dict[str, tuple[str, ...]] = {
    "full": (
        "title",
        "milestone",
        "owner",
        "assignee",
        "due",
        "internal",
        "risk",
        "notes",
        "links",
        "remove",
    ),
    "due": ("due",),
    "assign": ("assignee",),
    "risk": ("risk",),
}

# Form field (as storage.collab_services names it) → the input block showing it.
FIELD_BLOCKS: dict[str, str] = {
    "title": ids.F_TITLE,
    "milestone": ids.F_MILESTONE,
    "owner": ids.F_OWNER,
    "assignee": ids.F_ASSIGNEE,
    "due": ids.F_DUE,
    "due_offset": ids.F_DUE_OFFSET,
    "internal": ids.F_INTERNAL,
    "risk": ids.F_RISK,
    "risk_reason": ids.F_RISK_REASON,
    "notes": ids.F_NOTES,
    "links": ids.F_LINKS,
    "remove": ids.F_REMOVE,
    "comment": ids.F_COMMENT,
    "ms_title": ids.F_MS_TITLE,
    "ms_status": ids.F_MS_STATUS,
    "why": ids.F_WHY,
    "goals": ids.F_GOALS,
    "success": ids.F_SUCCESS,
    "person": ids.F_PERSON,
    "role": ids.F_ROLE,
    "side": ids.F_SIDE,
}


# --- private_metadata ----------------------------------------------------------


@dataclass(frozen=True)
class Meta:
    """What a modal remembers about where it came from. Slack hands it back on
    submission, but anyone can craft it: every id is checked again."""

    plan: int
    task: int | None = None
    milestone: int | None = None
    mode: str = "full"
    channel: str = ""

    def dump(self) -> str:
        data = {"p": self.plan, "t": self.task, "m": self.milestone, "k": self.mode}
        if self.channel:
            data["c"] = self.channel
        return json.dumps({k: v for k, v in data.items() if v is not None}, separators=(",", ":"))

    @classmethod
    def load(cls, raw: str) -> Meta | None:
        try:
            data = json.loads(raw or "{}")
        except ValueError:
            return None
        if not isinstance(data, dict):
            return None

        def int_or_none(key: str) -> int | None:
            v = data.get(key)
            return v if ids.fits_id(v) else None

        plan = int_or_none("p")
        if plan is None:
            return None
        mode = data.get("k")
        channel = data.get("c")
        return cls(
            plan=plan,
            task=int_or_none("t"),
            milestone=int_or_none("m"),
            mode=mode if isinstance(mode, str) and mode in TASK_MODES else "full",
            channel=channel if isinstance(channel, str) else "",
        )


# --- helpers -------------------------------------------------------------------


def _option(value: str, text: str) -> Option:
    return Option(value=value, text=truncate(text, OPTION_TEXT_MAX))


def _select(
    choices: Sequence[tuple[str, str]], initial: str | None, action_id: str
) -> StaticSelectElement:
    options = [_option(v, t) for v, t in choices[:SELECT_OPTIONS_MAX]]
    chosen = next((o for o in options if o.value == initial), None)
    return StaticSelectElement(action_id=action_id, options=options, initial_option=chosen)


def _text_input(
    block_id: str,
    label: str,
    *,
    initial: str = "",
    multiline: bool = False,
    optional: bool = True,
    max_length: int | None = None,
    hint: str | None = None,
    placeholder: str | None = None,
) -> InputBlock:
    return InputBlock(
        block_id=block_id,
        label=label,
        optional=optional,
        hint=hint,
        element=PlainTextInputElement(
            action_id=block_id,
            initial_value=(truncate(initial, max_length) if max_length else initial) or None,
            multiline=multiline,
            max_length=max_length,
            placeholder=placeholder,
        ),
    )


def _date_input(
    block_id: str, label: str, initial: date | None, hint: str | None = None
) -> InputBlock:
    return InputBlock(
        block_id=block_id,
        label=label,
        optional=True,
        hint=hint,
        element=DatePickerElement(
            action_id=block_id, initial_date=initial.isoformat() if initial else None
        ),
    )


def _checkbox(
    block_id: str, label: str, text: str, checked: bool, description: str = ""
) -> InputBlock:
    option = Option(value="yes", text=text, description=description or None)
    return InputBlock(
        block_id=block_id,
        label=label,
        optional=True,
        element=CheckboxesElement(
            action_id=block_id, options=[option], initial_options=[option] if checked else None
        ),
    )


def modal(
    callback_id: str,
    title: str,
    blocks: Sequence[Block],
    *,
    submit: str | None = None,
    close: str = "Cancel",
    metadata: str = "",
) -> dict[str, Any]:
    """A validated modal view (slack_sdk raises on anything Slack would refuse)."""
    if len(blocks) > VIEW_MAX_BLOCKS:
        raise ValueError(f"a view has {len(blocks)} blocks; Slack allows {VIEW_MAX_BLOCKS}")
    view = View(
        type="modal",
        callback_id=callback_id,
        title=PlainTextObject(text=truncate(title, TITLE_MAX)),
        submit=PlainTextObject(text=submit) if submit else None,
        close=PlainTextObject(text=close if submit else "Close"),
        blocks=list(blocks),
        private_metadata=metadata or None,
    )
    view.validate_json()
    return view.to_dict()


def notice_view(title: str, text: str) -> dict[str, Any]:
    """A modal that only says something (a refusal where no ephemeral can go)."""
    return modal(
        ids.VIEW_NOTICE,
        title,
        [
            SectionBlock(
                block_id="notice", text=MarkdownTextObject(text=truncate_mrkdwn(text, 3000))
            )
        ],
    )


# --- the task form -------------------------------------------------------------


@dataclass(frozen=True)
class TaskModal:
    plan_id: int
    side: Side  # the viewer's: buyers never get the internal checkbox
    milestones: Sequence[tuple[int, str]]
    task: TaskDetail | None = None  # None: a new task
    mode: str = "full"
    target_date: date | None = None
    channel: str = ""
    title: str = ""  # prefilled for a new task (the message shortcut)
    links: Sequence[Link] = field(default_factory=tuple)
    today: date | None = None


def task_modal(m: TaskModal) -> dict[str, Any]:
    t = m.task
    shown = TASK_MODES.get(m.mode, TASK_MODES["full"])
    blocks: list[Block] = []
    if t is not None and m.mode != "full":
        blocks.append(
            SectionBlock(
                block_id="task.about",
                text=MarkdownTextObject(text=f"`#{t.number}` *{escape(truncate(t.title, 200))}*"),
            )
        )
    if "title" in shown:
        blocks.append(
            _text_input(
                ids.F_TITLE,
                "Task",
                initial=t.title if t else m.title,
                optional=False,
                max_length=MAX_TITLE,
                placeholder="Send the security questionnaire",
            )
        )
    if "milestone" in shown and m.milestones:
        blocks.append(
            InputBlock(
                block_id=ids.F_MILESTONE,
                label="Milestone",
                optional=t is None,
                hint="Empty: the milestone in progress." if t is None else None,
                element=_select(
                    [(str(i), title) for i, title in m.milestones],
                    str(t.milestone_id) if t else None,
                    ids.F_MILESTONE,
                ),
            )
        )
    if "owner" in shown:
        blocks.append(
            InputBlock(
                block_id=ids.F_OWNER,
                label="Owner side",
                element=_select(
                    [(s, SIDE_LABEL[s]) for s in OWNER_SIDES],
                    t.owner_side if t else "mutual",
                    ids.F_OWNER,
                ),
            )
        )
    if "assignee" in shown:
        blocks.append(
            InputBlock(
                block_id=ids.F_ASSIGNEE,
                label="Assignee",
                optional=True,
                element=UserSelectElement(
                    action_id=ids.F_ASSIGNEE, initial_user=t.assignee_id if t else None
                ),
            )
        )
    if "due" in shown:
        relative = t.days_before_golive if t else None
        golive = (
            f"Go-live is {short_date(m.target_date, m.today or m.target_date)}: "
            "the date follows it."
            if m.target_date
            else "No go-live date yet: the task gets its date when the plan has one."
        )
        blocks.append(
            _date_input(ids.F_DUE, "Due date", t.due_date if t and relative is None else None)
        )
        blocks.append(
            InputBlock(
                block_id=ids.F_DUE_OFFSET,
                label="…or business days before go-live",
                optional=True,
                hint=golive,
                element=NumberInputElement(
                    action_id=ids.F_DUE_OFFSET,
                    is_decimal_allowed=False,
                    min_value=0,
                    max_value=500,
                    initial_value=relative,
                ),
            )
        )
    if "internal" in shown and m.side == "seller":
        blocks.append(
            _checkbox(
                ids.F_INTERNAL,
                "Visibility",
                "Internal",
                bool(t and t.internal),
                "Only the seller team sees it: never in the channel.",
            )
        )
    if "risk" in shown:
        risk = t.risk if t else "on_track"
        if m.mode == "risk" and risk == "on_track":
            risk = "at_risk"  # "Mark at risk…" offers what it says
        blocks.append(
            InputBlock(
                block_id=ids.F_RISK,
                label="Risk",
                element=_select(
                    [(r, RISK_LABEL[r]) for r in RISKS],
                    risk,
                    ids.F_RISK,
                ),
            )
        )
        blocks.append(
            _text_input(
                ids.F_RISK_REASON,
                "Why (at risk or blocked)",
                initial=t.risk_reason if t else "",
                max_length=MAX_REASON,
            )
        )
    if "notes" in shown:
        blocks.append(
            _text_input(
                ids.F_NOTES,
                "Notes",
                initial=t.notes if t else "",
                multiline=True,
                max_length=MAX_NOTES,
            )
        )
    if "links" in shown:
        current = t.links if t else tuple(m.links)
        blocks.append(
            _text_input(
                ids.F_LINKS,
                "Links",
                initial="\n".join(f"{u} {lbl}".strip() for u, lbl in current),
                multiline=True,
                max_length=3000,
                hint="Documents, recordings: one a line, the URL then an optional label.",
            )
        )
    if "remove" in shown and t is not None:
        blocks.append(
            _checkbox(
                ids.F_REMOVE, "Remove", "Remove this task", False, "Saving removes it for good."
            )
        )
    if t is None:
        title, submit = "New task", "Add"
    else:
        verb = {"full": "Edit", "due": "Due date", "assign": "Assign", "risk": "Risk"}[m.mode]
        title, submit = f"{verb} #{t.number}", "Save"
    meta = Meta(plan=m.plan_id, task=t.id if t else None, mode=m.mode, channel=m.channel)
    return modal(ids.VIEW_TASK, title, blocks, submit=submit, metadata=meta.dump())


# --- reading submitted values --------------------------------------------------

Values = Mapping[str, Mapping[str, Mapping[str, Any]]]


def _state(values: Values, block_id: str) -> Mapping[str, Any] | None:
    block = values.get(block_id)
    if not isinstance(block, Mapping):
        return None
    state = block.get(block_id)
    return state if isinstance(state, Mapping) else None


def _str(values: Values, block_id: str) -> str:
    state = _state(values, block_id) or {}
    value = state.get("value")
    return value if isinstance(value, str) else ""


def _selected(values: Values, block_id: str) -> str | None:
    option = (_state(values, block_id) or {}).get("selected_option")
    value = option.get("value") if isinstance(option, Mapping) else None
    return value if isinstance(value, str) else None


def _checked(values: Values, block_id: str) -> bool:
    options = (_state(values, block_id) or {}).get("selected_options")
    return bool(options) and isinstance(options, list)


def _user(values: Values, block_id: str, errors: dict[str, str]) -> str | None:
    user = (_state(values, block_id) or {}).get("selected_user")
    if user is None or user == "":
        return None
    if not isinstance(user, str) or not USER_ID.match(user):
        errors[block_id] = "Pick a person."
        return None
    return user


def _date(values: Values, block_id: str, errors: dict[str, str]) -> date | None:
    raw = (_state(values, block_id) or {}).get("selected_date")
    if not raw:
        return None
    try:
        return date.fromisoformat(str(raw))
    except ValueError:
        errors[block_id] = "That isn't a date."
        return None


def parse_links(text: str) -> tuple[LinkInput, ...]:
    """One link a line: the URL, then an optional label."""
    out = []
    for line in text.splitlines():
        if not line.strip():
            continue
        url, _, label = line.strip().partition(" ")
        out.append(clean_link(url, label))
    return tuple(out)


def read_task_form(values: Values) -> TaskForm | dict[str, str]:
    """The submitted task form, or errors by block id. Only the fields the
    submission carries are set; a focused form leaves the others alone."""
    errors: dict[str, str] = {}
    present = {f for f, b in FIELD_BLOCKS.items() if b in values}
    fields: set[str] = set()
    kw: dict[str, Any] = {}
    if "title" in present:
        fields.add("title")
        kw["title"] = _str(values, ids.F_TITLE)
        if not kw["title"].strip():
            errors[ids.F_TITLE] = "The task needs a title."
        elif len(kw["title"]) > MAX_TITLE:
            errors[ids.F_TITLE] = f"At most {MAX_TITLE} characters."
    if "milestone" in present:
        raw = _selected(values, ids.F_MILESTONE)
        if raw is not None:
            milestone_id = ids.parse_int(raw)
            if milestone_id is not None:
                fields.add("milestone")
                kw["milestone_id"] = milestone_id
            else:
                errors[ids.F_MILESTONE] = "Pick a milestone of this plan."
    if "owner" in present:
        fields.add("owner")
        kw["owner_side"] = _selected(values, ids.F_OWNER) or "mutual"
    if "assignee" in present:
        fields.add("assignee")
        kw["assignee_id"] = _user(values, ids.F_ASSIGNEE, errors)
    if "due" in present or "due_offset" in present:
        fields.add("due")
        on = _date(values, ids.F_DUE, errors)
        raw = _str(values, ids.F_DUE_OFFSET).strip()
        before: int | None = None
        if raw:
            try:
                before = int(raw)
            except ValueError:
                errors[ids.F_DUE_OFFSET] = "A whole number of business days."
        if on is not None and before is not None:
            errors[ids.F_DUE_OFFSET] = "Pick a date or a number of business days, not both."
        kw["due"] = Due(on=on, business_days_before=before)
    if "internal" in present:
        fields.add("internal")
        kw["internal"] = _checked(values, ids.F_INTERNAL)
    if "risk" in present:
        fields.add("risk")
        kw["risk"] = _selected(values, ids.F_RISK) or "on_track"
        kw["risk_reason"] = _str(values, ids.F_RISK_REASON)
    if "notes" in present:
        fields.add("notes")
        kw["notes"] = _str(values, ids.F_NOTES)
    if "links" in present:
        fields.add("links")
        try:
            kw["links"] = parse_links(_str(values, ids.F_LINKS))
        except FieldInvalid as e:
            errors[ids.F_LINKS] = view_error(e.message)
    if "remove" in present:
        fields.add("remove")
        kw["remove"] = _checked(values, ids.F_REMOVE)
    if errors:
        return errors
    return TaskForm(fields=frozenset(fields), **kw)


def errors_for(
    e: FieldInvalid | Exception,
    view_blocks: Sequence[Mapping[str, Any]],
    *,
    field_blocks: Mapping[str, str] = FIELD_BLOCKS,
) -> dict[str, str]:
    """`response_action: errors` for a refusal: on its field's block when the
    view shows it, else on the view's first input (Slack needs a block it shows)."""
    message = getattr(e, "message", str(e))
    shown = [b.get("block_id") for b in view_blocks if b.get("type") == "input"]
    block = field_blocks.get(getattr(e, "field", ""), "")
    if block not in shown:
        block = next((b for b in shown if isinstance(b, str)), ids.F_TITLE)
    return {block: view_error(message)}


# --- milestones ----------------------------------------------------------------


@dataclass(frozen=True)
class MilestoneForm:
    title: str
    due: date | None
    status: str | None  # None: follows its tasks


def milestone_modal(
    plan_id: int,
    *,
    milestone_id: int | None = None,
    title: str = "",
    due: date | None = None,
    status: str | None = None,
) -> dict[str, Any]:
    blocks: list[Block] = [
        _text_input(
            ids.F_MS_TITLE, "Milestone", initial=title, optional=False, max_length=MAX_TITLE
        ),
        _date_input(ids.F_MS_DUE, "Due date", due),
        InputBlock(
            block_id=ids.F_MS_STATUS,
            label="Status",
            element=_select(
                [("auto", "Follows its tasks")]
                + [(s, f"{STATUS_LABEL[s]} (by hand)") for s in STATUSES],
                status or "auto",
                ids.F_MS_STATUS,
            ),
        ),
    ]
    meta = Meta(plan=plan_id, milestone=milestone_id)
    return modal(
        ids.VIEW_MILESTONE,
        "New milestone" if milestone_id is None else "Edit milestone",
        blocks,
        submit="Add" if milestone_id is None else "Save",
        metadata=meta.dump(),
    )


def read_milestone_form(values: Values) -> MilestoneForm | dict[str, str]:
    errors: dict[str, str] = {}
    title = _str(values, ids.F_MS_TITLE)
    if not title.strip():
        errors[ids.F_MS_TITLE] = "The milestone needs a title."
    due = _date(values, ids.F_MS_DUE, errors)
    status = _selected(values, ids.F_MS_STATUS) or "auto"
    if status != "auto" and status not in STATUSES:
        errors[ids.F_MS_STATUS] = "Pick a status."
    if errors:
        return errors
    return MilestoneForm(title=title, due=due, status=None if status == "auto" else status)


# --- comments ------------------------------------------------------------------


@dataclass(frozen=True)
class CommentForm:
    body: str
    link: LinkInput | None


def comment_modal(
    plan_id: int,
    task: TaskView,
    today: date,
    *,
    links: Sequence[Link] = (),
    recent: Sequence[CommentView] = (),
    channel: str = "",
) -> dict[str, Any]:
    blocks: list[Block] = [
        SectionBlock(block_id="task.about", text=MarkdownTextObject(text=task_line(task, today)))
    ]
    if links:
        blocks.append(
            context(" · ".join("🔗 " + link_text(u, lbl) for u, lbl in links[:10]), "task.links")
        )
    for i, c in enumerate(recent):
        blocks.append(
            context(
                f"{mention(c.author_id)} ({SIDE_LABEL.get(c.author_side, c.author_side)}): "
                + escape(truncate(c.body, 500)),
                f"comment.{i}",
            )
        )
    blocks += [
        _text_input(ids.F_COMMENT, "Comment", multiline=True, max_length=MAX_COMMENT),
        InputBlock(
            block_id=ids.F_LINK_URL,
            label="Attach a link",
            optional=True,
            hint="A document or a recording: it shows on the task.",
            element=UrlInputElement(action_id=ids.F_LINK_URL),
        ),
        _text_input(ids.F_LINK_LABEL, "Link label", max_length=MAX_LINK_LABEL),
    ]
    meta = Meta(plan=plan_id, task=task.id, channel=channel)
    return modal(
        ids.VIEW_COMMENT, f"Comment on #{task.number}", blocks, submit="Post", metadata=meta.dump()
    )


def read_comment_form(values: Values) -> CommentForm | dict[str, str]:
    body = _str(values, ids.F_COMMENT).strip()
    url = _str(values, ids.F_LINK_URL).strip()
    label = _str(values, ids.F_LINK_LABEL)
    if not body and not url:
        return {ids.F_COMMENT: "Write a comment or attach a link."}
    if len(body) > MAX_COMMENT:
        return {ids.F_COMMENT: f"At most {MAX_COMMENT} characters."}
    link = None
    if url:
        try:
            link = clean_link(url, label)
        except FieldInvalid as e:
            return {ids.F_LINK_URL: view_error(e.message)}
    return CommentForm(body=body, link=link)


def comment_post(
    task: TaskView, author_id: str, author_side: str, body: str, link: LinkInput | None
) -> tuple[str, list[dict[str, Any]]]:
    """The thread reply carrying a comment: who, which side, on which task."""
    who = f"{mention(author_id)} ({SIDE_LABEL.get(author_side, author_side)})"
    head = f"💬 {who} on `#{task.number}` *{escape(truncate(task.title, 150))}*"
    text = head + (f"\n{escape(body)}" if body else "")
    if link is not None:
        text += "\n🔗 " + link_text(link.url, link.label)
    text = truncate_mrkdwn(text, SECTION_TEXT_MAX)
    block = SectionBlock(block_id="comment", text=MarkdownTextObject(text=text))
    block.validate_json()
    return truncate(f"Comment on #{task.number}", 150), [block.to_dict()]


# --- the full plan (paged) -----------------------------------------------------


@dataclass(frozen=True)
class PersonLine:
    user_id: str
    name: str
    side: Side
    side_by_hand: bool
    role: str = ""
    title: str = ""
    email: str = ""
    phone: str = ""
    tz: str | None = None


def person_text(p: PersonLine, *, contact: bool = True) -> str:
    parts = [mention(p.user_id), SIDE_LABEL[p.side] + (" (set by hand)" if p.side_by_hand else "")]
    if p.role:
        parts.append(f"*{escape(p.role)}*")
    if contact:
        parts += [escape(x) for x in (p.title, p.email, p.phone) if x]
        if p.tz:
            parts.append(escape(p.tz))
    return " · ".join(parts)


@dataclass(frozen=True)
class FullPlan:
    plan: PlanView  # made for the viewer's side: a buyer's has no internal tasks
    overview: Overview
    people: Sequence[PersonLine]
    links: Mapping[int, Sequence[Link]]
    today: date
    can_edit: bool


@dataclass(frozen=True)
class _Item:
    block: Block
    milestone: str | None = None  # a task's milestone title, to repeat on a new page


def _overview_blocks(data: FullPlan) -> list[_Item]:
    o = data.overview
    target = short_date(o.target_date, data.today) if o.target_date else "not set"
    lines = [f"*Target go-live:* {target}"]
    for label, value in (("Why", o.why), ("Goals", o.goals), ("Success criteria", o.success)):
        lines.append(f"*{label}:* {escape(value) if value.strip() else '_not written yet_'}")
    items = [
        _Item(SectionBlock(block_id=f"overview.{i}", text=MarkdownTextObject(text=chunk)))
        for i, chunk in enumerate(chunk_lines(lines))
    ]
    people = [f"• {person_text(p)}" for p in data.people] or ["_Nobody yet._"]
    items.append(_Item(context("*Stakeholders*", "people.head")))
    items += [
        _Item(SectionBlock(block_id=f"people.{i}", text=MarkdownTextObject(text=chunk)))
        for i, chunk in enumerate(chunk_lines(people))
    ]
    if data.can_edit:
        items.append(
            _Item(
                ActionsBlock(
                    block_id="plan.edit",
                    elements=[
                        ButtonElement(
                            text="+ Task", action_id=ids.PLAN_ADD_TASK, value=str(data.plan.id)
                        ),
                        ButtonElement(
                            text="+ Milestone",
                            action_id=ids.PLAN_ADD_MILESTONE,
                            value=str(data.plan.id),
                        ),
                    ],
                )
            )
        )
    return items


def _task_text(task: TaskView, links: Sequence[Link], today: date) -> str:
    text = task_line(task, today)
    if links:
        text += "\n" + " · ".join("🔗 " + link_text(u, lbl) for u, lbl in links)
    return truncate_mrkdwn(text, SECTION_TEXT_MAX)


def _plan_items(data: FullPlan) -> list[_Item]:
    items = _overview_blocks(data)
    plan = data.plan
    for m in plan.milestones:
        items.append(_Item(DividerBlock(block_id=f"ms.{m.id}.divider")))
        due = f" · due {short_date(m.due_date, data.today)}" if m.due_date else ""
        hand = " · _status set by hand_" if m.manual else ""
        head = (
            f"*{escape(truncate(m.title, 200))}* · {STATUS_LABEL[m.status]} · "
            f"{m.done_count}/{len(m.tasks)}{due}{hand}"
        )
        items.append(
            _Item(
                SectionBlock(
                    block_id=f"ms.{m.id}",
                    text=MarkdownTextObject(text=head),
                    accessory=ButtonElement(
                        text="Edit", action_id=ids.MILESTONE_EDIT, value=f"{plan.id}:{m.id}"
                    )
                    if data.can_edit
                    else None,
                )
            )
        )
        if not m.tasks:
            items.append(_Item(context("_No tasks yet._", f"ms.{m.id}.empty")))
        for t in m.tasks:
            items.append(
                _Item(
                    SectionBlock(
                        block_id=f"task.{t.id}",
                        text=MarkdownTextObject(
                            text=_task_text(t, data.links.get(t.id, ()), data.today)
                        ),
                        accessory=task_menu(plan.id, t),
                    ),
                    milestone=m.title,
                )
            )
    if not plan.milestones:
        items.append(_Item(context("_No milestones yet._", "ms.none")))
    return items


def paginate(items: Sequence[_Item], per_page: int) -> list[list[Block]]:
    """Pages of at most `per_page` blocks; a page that starts inside a milestone
    says which one it continues."""
    pages: list[list[Block]] = []
    current: list[Block] = []
    for item in items:
        if len(current) >= per_page:
            pages.append(current)
            current = []
        if not current and item.milestone is not None and pages:
            current.append(
                context(f"*{escape(truncate(item.milestone, 200))}* (continued)", "ms.continued")
            )
        current.append(item.block)
    if current or not pages:
        pages.append(current)
    return pages


def full_plan_view(data: FullPlan, page: int = 0) -> tuple[dict[str, Any], int]:
    """One page of the whole plan, and how many pages there are. The last two
    blocks of a page are kept for the page line and Previous/Next."""
    pages = paginate(_plan_items(data), VIEW_MAX_BLOCKS - 2)
    page = max(0, min(page, len(pages) - 1))
    blocks = list(pages[page])
    if len(pages) > 1:
        blocks.append(context(f"Page {page + 1} of {len(pages)}", "plan.page"))
        nav = []
        if page > 0:
            nav.append(
                ButtonElement(
                    text="◀ Previous", action_id=ids.PLAN_PAGE, value=f"{data.plan.id}:{page - 1}"
                )
            )
        if page < len(pages) - 1:
            nav.append(
                ButtonElement(
                    text="Next ▶", action_id=ids.PLAN_PAGE, value=f"{data.plan.id}:{page + 1}"
                )
            )
        blocks.append(ActionsBlock(block_id="plan.nav", elements=nav))
    view = modal(
        ids.VIEW_FULL_PLAN,
        data.plan.title,
        blocks,
        metadata=Meta(plan=data.plan.id).dump(),
    )
    return view, len(pages)


# --- overview and people -------------------------------------------------------


@dataclass(frozen=True)
class OverviewForm:
    why: str
    goals: str
    success: str
    target: date | None


def overview_modal(plan_id: int, o: Overview) -> dict[str, Any]:
    blocks: list[Block] = [
        _text_input(
            ids.F_WHY, "Why this project", initial=o.why, multiline=True, max_length=MAX_OVERVIEW
        ),
        _text_input(ids.F_GOALS, "Goals", initial=o.goals, multiline=True, max_length=MAX_OVERVIEW),
        _text_input(
            ids.F_SUCCESS,
            "Success criteria",
            initial=o.success,
            multiline=True,
            max_length=MAX_OVERVIEW,
        ),
        _date_input(
            ids.F_TARGET,
            "Target go-live",
            o.target_date,
            "Tasks due relative to go-live move with it.",
        ),
    ]
    return modal(
        ids.VIEW_OVERVIEW,
        "Plan overview",
        blocks,
        submit="Save",
        metadata=Meta(plan=plan_id).dump(),
    )


def read_overview_form(values: Values) -> OverviewForm | dict[str, str]:
    errors: dict[str, str] = {}
    texts = {}
    for block in (ids.F_WHY, ids.F_GOALS, ids.F_SUCCESS):
        texts[block] = _str(values, block).strip()
        if len(texts[block]) > MAX_OVERVIEW:
            errors[block] = f"At most {MAX_OVERVIEW} characters."
    target = _date(values, ids.F_TARGET, errors)
    if errors:
        return errors
    return OverviewForm(texts[ids.F_WHY], texts[ids.F_GOALS], texts[ids.F_SUCCESS], target)


@dataclass(frozen=True)
class PersonForm:
    user_id: str
    role: str
    side: str | None  # None: automatic


PEOPLE_SHOWN = 60


def people_modal(plan_id: int, people: Sequence[PersonLine], *, can_edit: bool) -> dict[str, Any]:
    lines = [f"• {person_text(p)}" for p in people[:PEOPLE_SHOWN]] or ["_Nobody yet._"]
    if len(people) > PEOPLE_SHOWN:
        lines.append(f"+ {len(people) - PEOPLE_SHOWN} more")
    blocks: list[Block] = [
        SectionBlock(block_id=f"people.{i}", text=MarkdownTextObject(text=chunk))
        for i, chunk in enumerate(chunk_lines(lines))
    ]
    if can_edit:
        blocks += [
            DividerBlock(block_id="people.divider"),
            context(
                "Put someone on the deal: their role, and a side by hand if Slack's guess is wrong."
            ),
            InputBlock(
                block_id=ids.F_PERSON,
                label="Person",
                element=UserSelectElement(action_id=ids.F_PERSON),
            ),
            _text_input(
                ids.F_ROLE, "Role on the deal", max_length=MAX_ROLE, placeholder="Economic buyer"
            ),
            InputBlock(
                block_id=ids.F_SIDE,
                label="Side",
                element=_select(
                    [
                        ("auto", "Automatic (by workspace)"),
                        ("buyer", "Buyer"),
                        ("seller", "Seller"),
                    ],
                    "auto",
                    ids.F_SIDE,
                ),
            ),
        ]
    return modal(
        ids.VIEW_PEOPLE,
        "People on the deal",
        blocks,
        submit="Save" if can_edit else None,
        metadata=Meta(plan=plan_id).dump(),
    )


def read_person_form(values: Values) -> PersonForm | dict[str, str]:
    errors: dict[str, str] = {}
    user = _user(values, ids.F_PERSON, errors)
    if user is None:
        return {ids.F_PERSON: "Pick a person."}
    role = _str(values, ids.F_ROLE).strip()
    if len(role) > MAX_ROLE:
        return {ids.F_ROLE: f"At most {MAX_ROLE} characters."}
    side = _selected(values, ids.F_SIDE) or "auto"
    if side not in ("auto", "buyer", "seller"):
        return {ids.F_SIDE: "Pick a side."}
    return PersonForm(user_id=user, role=role, side=None if side == "auto" else side)
