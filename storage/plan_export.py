"""A plan as a file (`/map export csv|json`): every task the asker may see, one
row each, with its milestone. Pure: the rows come from the read model for the
asker's side, so a buyer's export never holds an internal task.

CSV cells that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab,
CR at the start) are prefixed with `'` (OWASP's advice for CSV injection): a
task title typed by anyone in the channel must not execute on a seller's laptop.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from storage.readmodel import PlanView

SCHEMA_VERSION = 1
COLUMNS = (
    "milestone",
    "task",
    "title",
    "owner",
    "assignee",
    "status",
    "due",
    "internal",
    "completed_at",
)
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def rows(view: PlanView) -> list[dict[str, Any]]:
    return [
        {
            "milestone": m.title,
            "task": t.number,
            "title": t.title,
            "owner": t.owner_side,
            "assignee": view.names.get(t.assignee_id or "", t.assignee_id or ""),
            "status": t.status,
            "due": t.due_date.isoformat() if t.due_date else "",
            "internal": t.internal,
            "completed_at": t.completed_at.isoformat() if t.completed_at else "",
        }
        for m in view.milestones
        for t in m.tasks
    ]


def _cell(value: Any) -> str:
    text = "yes" if value is True else "no" if value is False else str(value)
    return "'" + text if text.startswith(_FORMULA) else text


def to_csv(view: PlanView) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for row in rows(view):
        writer.writerow([_cell(row[c]) for c in COLUMNS])
    return out.getvalue().encode("utf-8-sig")  # the BOM makes Excel read UTF-8


def to_json(view: PlanView) -> bytes:
    doc = {
        "schema_version": SCHEMA_VERSION,
        "plan": {
            "id": view.id,
            "title": view.title,
            "target_date": view.target_date.isoformat() if view.target_date else None,
            "time_zone": view.tz,
        },
        "milestones": [
            {
                "title": m.title,
                "status": m.status,
                "due": m.due_date.isoformat() if m.due_date else None,
            }
            for m in view.milestones
        ],
        "tasks": rows(view),
    }
    return json.dumps(doc, ensure_ascii=False, indent=2).encode()
