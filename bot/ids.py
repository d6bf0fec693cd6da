"""Every Block Kit id we send and listen for, in one place."""

from __future__ import annotations

import re
from datetime import date

# Buttons on the plan card, on `/map mine` and in App Home.
TASK_START = "task.start"
TASK_COMPLETE = "task.complete"
TASK_REOPEN = "task.reopen"
TASK_ACTIONS = (TASK_START, TASK_COMPLETE, TASK_REOPEN)
TASK_STATUS_FOR_ACTION = {
    TASK_START: "in_progress",
    TASK_COMPLETE: "completed",
    TASK_REOPEN: "not_started",
}

# The "are you sure?" of `/map remove`.
REMOVE_CONFIRM = "remove.confirm"
REMOVE_CANCEL = "remove.cancel"

# Matches every action id we own, for one listener.
TASK_ACTION_RE = re.compile(r"^task\.(start|complete|reopen)$")
REMOVE_ACTION_RE = re.compile(r"^remove\.(confirm|cancel)$")

# block_id prefixes (unique per message).
BLOCK_TASK = "task"
BLOCK_HEADER = "plan.header"
BLOCK_SUMMARY = "plan.summary"
BLOCK_MILESTONES = "plan.milestones"
BLOCK_MORE = "plan.more"

# The message shortcut "Add to action plan" (callback_id, also in manifest.yml).
SHORTCUT_ADD_FROM_MESSAGE = "plan.add_from_message"

# App Home block ids.
BLOCK_HOME_HEADER = "home.header"
BLOCK_HOME_NOTICE = "home.notice"
BLOCK_HOME_DEAL = "home.deal"  # + ".<plan id>"
BLOCK_HOME_MORE = "home.more"
BLOCK_HOME_PLANS = "home.plans"  # + ".<n>"


# Ids are INTEGER columns (signed 32-bit in PostgreSQL): a payload's id outside
# 1..ID_MAX names nothing, and must not reach a query (PostgreSQL would refuse it).
ID_MAX = 2**31 - 1
_DIGITS = re.compile(r"[0-9]{1,10}")  # ASCII only: str.isdigit and int() take "²", "١"


def parse_int(text: object, low: int = 1, high: int = ID_MAX) -> int | None:
    """A whole number from a payload (an id by default), or None."""
    if not isinstance(text, str) or not _DIGITS.fullmatch(text):
        return None
    n = int(text)
    return n if low <= n <= high else None


def fits_id(value: object) -> bool:
    """Whether a JSON value (from private_metadata) is an id."""
    return type(value) is int and 1 <= value <= ID_MAX


def task_value(plan_id: int, task_id: int) -> str:
    """A button's value: the plan and task ids, checked again on the server."""
    return f"{plan_id}:{task_id}"


def parse_task_value(value: object) -> tuple[int, int] | None:
    if not isinstance(value, str):
        return None
    plan, _, task = value.partition(":")
    plan_id, task_id = parse_int(plan), parse_int(task)
    return None if plan_id is None or task_id is None else (plan_id, task_id)


# --- modals: task and milestone forms, comments, full plan, overview, people ---

# Card and Full plan buttons; values carry ids that are checked again on the server.
PLAN_ADD_TASK = "plan.add_task"  # value: plan id
PLAN_FULL = "plan.full"  # value: plan id
PLAN_PAGE = "plan.page"  # value: "plan:page"
PLAN_ADD_MILESTONE = "plan.add_milestone"  # value: plan id
MILESTONE_EDIT = "milestone.edit"  # value: "plan:milestone"
PLAN_BUTTON_RE = re.compile(r"^(plan\.(add_task|full|page|add_milestone|summary)|milestone\.edit)$")

# The per-task overflow menu; an option's value is "<verb>:<plan>:<task>". Slack allows
# five options, so removing a task lives in its Edit form.
TASK_MENU = "task.menu"
TASK_MENU_VERBS = {
    "edit": "Edit…",
    "comment": "Comment…",
    "due": "Set due date…",
    "assign": "Assign…",
    "risk": "Mark at risk…",
}

# Modal callback ids.
VIEW_TASK = "view.task"
VIEW_MILESTONE = "view.milestone"
VIEW_COMMENT = "view.comment"
VIEW_FULL_PLAN = "view.full_plan"
VIEW_OVERVIEW = "view.overview"
VIEW_PEOPLE = "view.people"
VIEW_NOTICE = "view.notice"
VIEW_SUBMIT_RE = re.compile(r"^view\.(task|milestone|comment|overview|people)$")

# Form fields: each input block's block_id and its element's action_id.
F_TITLE = "f.title"
F_MILESTONE = "f.milestone"
F_OWNER = "f.owner"
F_ASSIGNEE = "f.assignee"
F_DUE = "f.due"
F_DUE_OFFSET = "f.due_offset"
F_INTERNAL = "f.internal"
F_RISK = "f.risk"
F_RISK_REASON = "f.risk_reason"
F_NOTES = "f.notes"
F_LINKS = "f.links"
F_REMOVE = "f.remove"
F_COMMENT = "f.comment"
F_LINK_URL = "f.link_url"
F_LINK_LABEL = "f.link_label"
F_MS_TITLE = "f.ms_title"
F_MS_DUE = "f.ms_due"
F_MS_STATUS = "f.ms_status"
F_WHY = "f.why"
F_GOALS = "f.goals"
F_SUCCESS = "f.success"
F_TARGET = "f.target"
F_PERSON = "f.person"
F_ROLE = "f.role"
F_SIDE = "f.side"


def menu_value(verb: str, plan_id: int, task_id: int) -> str:
    return f"{verb}:{plan_id}:{task_id}"


def parse_menu_value(value: object) -> tuple[str, int, int] | None:
    if not isinstance(value, str):
        return None
    verb, _, ids = value.partition(":")
    parsed = parse_task_value(ids)
    if verb not in TASK_MENU_VERBS or parsed is None:
        return None
    return verb, parsed[0], parsed[1]


# The go-live preview: Apply moves the dates, Cancel drops the preview.
GOLIVE_APPLY = "golive.apply"
GOLIVE_CANCEL = "golive.cancel"
GOLIVE_ACTION_RE = re.compile(r"^golive\.(apply|cancel)$")


def golive_value(plan_id: int, target: date) -> str:
    return f"{plan_id}:{target.isoformat()}"


def parse_golive_value(value: object) -> tuple[int, date] | None:
    if not isinstance(value, str):
        return None
    plan, _, when = value.partition(":")
    plan_id = parse_int(plan)
    try:
        return (plan_id, date.fromisoformat(when)) if plan_id is not None else None
    except ValueError:
        return None


# The create form (`/map create` alone).
CREATE_VIEW = "plan.create"
CREATE_TITLE = "create.title"
CREATE_TEMPLATE = "create.template"
CREATE_GOLIVE = "create.golive"

# Buttons on a nudge: snooze it, or mark the task done right there.
NUDGE_SNOOZE = "nudge.snooze"  # value: "<task id>:<days>" or "<task id>:due"
NUDGE_DONE = "nudge.done"  # value: task_value(plan, task)
NUDGE_ACTION_RE = re.compile(r"^nudge\.(snooze|done)(\.\w+)?$")


# The MAP summary and plan health (bot.render.summary): the card's Summary button
# (value: plan id, matched by PLAN_BUTTON_RE), its modal, and their blocks.
PLAN_SUMMARY = "plan.summary"
VIEW_SUMMARY = "view.summary"
BLOCK_SUMMARY_HEAD = "summary.head"
BLOCK_SUMMARY_BODY = "summary.body"  # + ".<n>"
BLOCK_HEALTH = "plan.health"  # the card's health line
