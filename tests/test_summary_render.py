"""The summary's renderers, pure: user text escaped on every line (a title of
`<!channel>` pings nobody), and Slack's limits kept however big the plan."""

from __future__ import annotations

import json
from datetime import date, timedelta

from slack_sdk.models.views import View

from bot.render.blocks import MESSAGE_MAX_BLOCKS, SECTION_TEXT_MAX
from bot.render.summary import health_line, summary_message, summary_modal
from reminders.health import Health
from storage.plan_facts import MilestoneFact
from tests.facts_builder import facts, task

TODAY = date(2026, 12, 1)


def test_user_text_is_escaped_in_the_health_line_and_the_summary() -> None:
    line = health_line(Health("at_risk", ("<!channel> review 2 business days late",)))
    assert "<!channel>" not in line and "&lt;!channel&gt; review" in line
    plan = facts(
        [
            task(1, title="<!here> & <https://evil.example|click>", due=TODAY + timedelta(days=2)),
            task(2, assignee="W0MIKE", due=TODAY - timedelta(days=3)),
        ],
        milestones=[MilestoneFact(1, 1, "<!everyone> sign-off", TODAY - timedelta(days=5), None)],
        names=(("W0MIKE", "<@U0BOSS>"),),
    )
    shared = json.dumps(summary_message(plan.for_side("buyer"), TODAY, shared=True).blocks)
    for raw in ("<!here>", "<https://evil", "<!everyone>", "<@U0BOSS>", "<@W0MIKE>"):
        assert raw not in shared, raw
    assert "&lt;!here&gt; &amp; &lt;https://evil.example|click&gt;" in shared
    assert "&lt;!everyone&gt; sign-off 3 business days late" in shared  # the health reason


def test_a_huge_plan_s_summary_keeps_within_slack_s_limits() -> None:
    tasks = [
        task(
            i,
            milestone=1 + i % 40,
            side=("buyer", "seller", "mutual")[i % 3],
            assignee=f"U{i % 60:04d}",
            title="x" * 500,
            due=TODAY + timedelta(days=i % 30 - 10),
            done=TODAY - timedelta(days=i % 9) if i % 4 == 0 else None,
        )
        for i in range(1, 501)
    ]
    milestones = [MilestoneFact(m, m, "M" * 300, None, None) for m in range(1, 41)]
    plan = facts(tasks, milestones=milestones, target=TODAY + timedelta(days=20))
    message = summary_message(plan, TODAY)  # to_dicts validates every block
    assert len(message.blocks) <= MESSAGE_MAX_BLOCKS
    assert all(
        len(b["text"]["text"]) <= SECTION_TEXT_MAX for b in message.blocks if b["type"] == "section"
    )
    assert "… and" in json.dumps(message.blocks, ensure_ascii=False), "long lists say how many more"
    View(**summary_modal(plan, TODAY)).validate_json()
