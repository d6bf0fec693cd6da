"""Every Block Kit id we send and listen for, in one place."""

from __future__ import annotations

import re

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


def task_value(plan_id: int, task_id: int) -> str:
    """A button's value: the plan and task ids, checked again on the server."""
    return f"{plan_id}:{task_id}"


def parse_task_value(value: str) -> tuple[int, int] | None:
    plan, _, task = value.partition(":")
    if not (plan.isdigit() and task.isdigit()):
        return None
    return int(plan), int(task)
