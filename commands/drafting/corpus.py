"""The notes set (`tests/fixtures/drafting/*.yaml`): each case's notes, who was on
the call, and the plan a person expected. Read by the benchmark and its test."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from commands.drafting.model import DraftContext, Known
from commands.drafting.score import Expected

CORPUS = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "drafting"


@dataclass(frozen=True)
class Case:
    name: str
    kind: str
    style: str
    notes: str
    ctx: DraftContext
    expected: list[Expected]
    golive: date | None


def _date(value: Any) -> date | None:
    if value is None:
        return None
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def load(path: Path) -> Case:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    ctx = DraftContext(
        call_date=_date(data["call_date"]) or date.today(),
        day_first=bool(data.get("day_first")),
        people=tuple(Known(p["id"], p["name"], p["side"]) for p in data.get("people", [])),
        seller_orgs=tuple(data.get("seller_orgs", [])),
        buyer_orgs=tuple(data.get("buyer_orgs", [])),
    )
    want = data["expected"]
    expected = [
        Expected(t["title"], t["side"], t.get("assignee"), _date(t.get("due")))
        for t in want["tasks"]
    ]
    golive = _date(want.get("golive"))
    return Case(path.stem, data["kind"], data["style"], data["notes"], ctx, expected, golive)


def cases(folder: Path = CORPUS) -> list[Case]:
    return [load(p) for p in sorted(folder.glob("*.yaml"))]
