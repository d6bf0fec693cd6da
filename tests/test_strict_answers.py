"""The app copes with the answers a strict Slack gives (the stand-in gives them since
it answers as Slack does): a stale view `hash` after a double click, a 3-view stack."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from bot import error_reply, ids
from storage import services
from storage.db import Database
from storage.models import Plan
from storage.rules import Actor
from tests.harness import SELLER_TEAM, Harness
from tests.test_modals import BUYER, button, click, last_view, plan_id, setup_plan


def _big_plan(h: Harness, db: Database) -> int:
    setup_plan(h)
    seller = Actor("U0LEX", "seller", SELLER_TEAM)
    with db.write() as s:
        plan = s.get(Plan, plan_id(db))
        assert plan is not None
        for m in range(4):
            ms = services.add_milestone(s, seller, plan, f"Phase {m}")
            for n in range(40):
                services.add_task(s, seller, plan, f"Step {m}.{n}", milestone=ms)
    return plan_id(db)


def _next(page: dict[str, Any]) -> dict[str, Any]:
    nav = [b for b in page["blocks"] if b.get("block_id") == "plan.nav"]
    (found,) = [e for b in nav for e in b["elements"] if e["text"]["text"].startswith("Next")]
    return button(ids.PLAN_PAGE, found["value"])


def test_a_double_click_on_next_page_is_no_error(
    h: Harness, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    # The second click carries the view as it was (its old hash): Slack answers
    # hash_conflict (https://docs.slack.dev/reference/methods/views.update); the page
    # has moved on already, so there is nothing to do and nothing went wrong.
    pid = _big_plan(h, db)
    click(h, button(ids.PLAN_FULL, str(pid)), BUYER)
    page = last_view(h)
    caplog.set_level(logging.INFO)
    for _ in range(2):
        assert click(h, _next(page), BUYER, container_view=page).status == 200
    first, second = h.local.calls_to("views.update")[-2:]
    assert first.ok and second.result["error"] == "hash_conflict"
    assert not [r for r in caplog.records if r.name == error_reply.__name__]
    assert not any(e.text == error_reply.SORRY for e in h.local.ephemerals(user=BUYER[0]))
