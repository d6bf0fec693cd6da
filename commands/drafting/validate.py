"""A proposal as JSON and back, checked like any input: what we store, and what an
LLM answers, both come back through `from_data`, which refuses anything but the
shape below (`Malformed` says what was wrong).

    {"title": str, "golive": "YYYY-MM-DD" | null, "notes": [str],
     "tasks": [{"title": str, "milestone": str, "side": "buyer"|"seller"|"mutual",
                "assignee": "U…" | null, "due": "YYYY-MM-DD" | null}]}
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from datetime import date, timedelta
from typing import Any

from bot.text import clean_text, truncate
from commands.drafting.extract import DEFAULT_MILESTONE, milestone_for
from commands.drafting.model import MAX_TASKS, SIDES, TITLE_MAX, DraftTask, Proposal

_USER_ID = re.compile(r"[UW][A-Z0-9]{2,20}")
MILESTONE_MAX = 80
PLAN_TITLE_MAX = 150
# A date this far from the call is a misreading, not a plan.
_PAST = timedelta(days=366)
_FUTURE = timedelta(days=3 * 366)


class Malformed(ValueError):
    """The data is not a proposal; `str(e)` says why."""


def to_data(p: Proposal) -> dict[str, Any]:
    return {
        "title": p.title,
        "golive": p.golive.isoformat() if p.golive else None,
        "notes": list(p.notes),
        "tasks": [
            {
                "title": t.title,
                "milestone": t.milestone,
                "side": t.side,
                "assignee": t.assignee_id,
                "due": t.due.isoformat() if t.due else None,
            }
            for t in p.tasks
        ],
    }


def dumps(p: Proposal) -> str:
    return json.dumps(to_data(p), ensure_ascii=False)


def _text(value: object, what: str, limit: int, *, required: bool = False) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise Malformed(f"{what} is not text")
    text = " ".join(clean_text(value).split())
    if required and not text:
        raise Malformed(f"{what} is empty")
    return truncate(text, limit)


def _date(value: object, what: str, call_date: date) -> date | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise Malformed(f"{what} is not a date")
    try:
        when = date.fromisoformat(value)
    except ValueError:
        raise Malformed(f"{what} is not a YYYY-MM-DD date") from None
    if not call_date - _PAST <= when <= call_date + _FUTURE:
        raise Malformed(f"{what} is too far from the call")
    return when


def _task(item: object, i: int, call_date: date, known: Collection[str] | None) -> DraftTask:
    if not isinstance(item, dict):
        raise Malformed(f"task {i + 1} is not an object")
    title = _text(item.get("title"), f"task {i + 1}'s title", TITLE_MAX, required=True)
    milestone = _text(item.get("milestone"), f"task {i + 1}'s milestone", MILESTONE_MAX)
    side = item.get("side")
    if side not in SIDES:
        raise Malformed(f"task {i + 1}'s side is not buyer, seller or mutual")
    assignee = item.get("assignee")
    if assignee is not None and not (isinstance(assignee, str) and _USER_ID.fullmatch(assignee)):
        raise Malformed(f"task {i + 1}'s assignee is not a Slack user id")
    if assignee is not None and known is not None and assignee not in known:
        assignee = None  # someone we don't know of is nobody's business to be given work
    return DraftTask(
        title=title,
        milestone=milestone or milestone_for(title) or DEFAULT_MILESTONE,
        side=side,
        assignee_id=assignee,
        due=_date(item.get("due"), f"task {i + 1}'s due date", call_date),
    )


def from_data(data: object, call_date: date, known_ids: Collection[str] | None = None) -> Proposal:
    """`data` (parsed JSON) as a proposal; `known_ids`: the people an assignee may
    be (None: any id, for what we stored ourselves)."""
    if not isinstance(data, dict):
        raise Malformed("the answer is not a JSON object")
    tasks = data.get("tasks")
    if not isinstance(tasks, list):
        raise Malformed("“tasks” is not a list")
    if len(tasks) > MAX_TASKS:
        raise Malformed(f"more than {MAX_TASKS} tasks")
    notes = data.get("notes") or []
    if not isinstance(notes, list) or not all(isinstance(n, str) for n in notes):
        raise Malformed("“notes” is not a list of text")
    return Proposal(
        title=_text(data.get("title"), "the title", PLAN_TITLE_MAX),
        golive=_date(data.get("golive"), "the go-live", call_date),
        tasks=tuple(_task(t, i, call_date, known_ids) for i, t in enumerate(tasks)),
        notes=tuple(_text(n, "a note", 300) for n in notes[:5]),
    )


def loads(text: str, call_date: date) -> Proposal:
    try:
        return from_data(json.loads(text), call_date)
    except json.JSONDecodeError as e:
        raise Malformed(f"not JSON ({e.msg})") from None
