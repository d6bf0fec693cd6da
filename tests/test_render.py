"""Rendering: the plan card and replies are valid Block Kit within Slack's limits."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from slack_sdk.models.blocks import Block

from bot.render.blocks import MESSAGE_MAX_BLOCKS, SECTION_TEXT_MAX, progress_bar
from bot.render.card import render_card
from bot.render.replies import confirm_remove_message, mine_message, text_message
from storage.readmodel import MilestoneView, PlanView, TaskView

TODAY = date(2026, 11, 23)


def _task(i: int, milestone: int, title: str, **kw: Any) -> TaskView:
    fields: dict[str, Any] = dict(
        id=i,
        number=i,
        title=title,
        owner_side=("buyer", "seller", "mutual")[i % 3],
        assignee_id=f"U{i:04d}" if i % 2 else None,
        assignee_name=None,
        status="not_started",
        internal=False,
        due_date=TODAY + timedelta(days=i - 5),
        relative=False,
        risk="on_track",
        milestone_id=milestone,
        milestone_title=f"Milestone {milestone}",
        completed_at=None,
    )
    fields.update(kw)
    return TaskView(**fields)


def _plan(milestones: int, tasks_each: int, title_len: int = 250, side: str = "buyer") -> PlanView:
    ms = []
    n = 0
    for m in range(1, milestones + 1):
        tasks = []
        for _ in range(tasks_each):
            n += 1
            tasks.append(_task(n, m, ("Long <title> & " * 40)[:title_len]))
        ms.append(
            MilestoneView(
                id=m,
                position=m,
                title=("Milestone with a very long name " * 10)[:250],
                due_date=TODAY + timedelta(days=m),
                status="in_progress" if m == 1 else "not_started",
                manual=m == 2,
                tasks=tuple(tasks),
            )
        )
    return PlanView(
        id=1,
        team_id="T1",
        channel_id="C1",
        title="P" * 400,
        target_date=TODAY + timedelta(days=60),
        tz="America/New_York",
        card_channel=None,
        card_ts=None,
        side=side,  # type: ignore[arg-type]
        milestones=tuple(ms),
    )


def _check(blocks: list[dict[str, Any]]) -> None:
    """Each block parses and validates with slack_sdk, within the message limits."""
    assert 0 < len(blocks) <= MESSAGE_MAX_BLOCKS
    ids = [b["block_id"] for b in blocks if "block_id" in b]
    assert len(ids) == len(set(ids)), "block_ids must be unique in a message"
    for b in blocks:
        parsed = Block.parse(b)
        assert parsed is not None
        parsed.validate_json()
        if b["type"] == "section":
            assert len(b["text"]["text"]) <= SECTION_TEXT_MAX


def test_big_plan_card_stays_within_limits() -> None:
    msg = render_card(_plan(12, 10), TODAY)
    _check(msg.blocks)
    # The card says how many open tasks it could not show.
    more = [b for b in msg.blocks if b.get("block_id") == "plan.more"]
    assert more and "more open tasks" in more[0]["elements"][0]["text"]


@settings(max_examples=40, deadline=None)
@given(milestones=st.integers(0, 30), tasks_each=st.integers(0, 15), title_len=st.integers(1, 300))
def test_any_plan_size_renders_valid(milestones: int, tasks_each: int, title_len: int) -> None:
    _check(render_card(_plan(milestones, tasks_each, title_len), TODAY).blocks)


def test_user_text_is_escaped() -> None:
    plan = _plan(1, 0)
    evil = _task(1, 1, "<!channel> <https://evil.example|click> & co")
    plan = PlanView(
        **{
            **plan.__dict__,
            "milestones": (MilestoneView(**{**plan.milestones[0].__dict__, "tasks": (evil,)}),),
        }
    )
    text = str(render_card(plan, TODAY).blocks)
    assert "<!channel>" not in text and "<https://evil" not in text
    assert "&lt;!channel&gt; &lt;https://evil.example|click&gt; &amp; co" in text


def test_card_shows_overdue_first_and_buttons_by_status() -> None:
    plan = _plan(1, 0)
    tasks = (
        _task(1, 1, "Later", due_date=TODAY + timedelta(days=3)),
        _task(2, 1, "Late", due_date=TODAY - timedelta(days=2), status="in_progress"),
        _task(3, 1, "Done", status="completed"),
    )
    plan = PlanView(
        **{
            **plan.__dict__,
            "milestones": (MilestoneView(**{**plan.milestones[0].__dict__, "tasks": tasks}),),
        }
    )
    blocks = render_card(plan, TODAY).blocks
    lines = [b["text"]["text"] for b in blocks if b.get("block_id", "").endswith(".line")]
    assert ["Late" in lines[0], "Later" in lines[1], "Done" in lines[2]] == [True, True, True]
    assert "*overdue* since Nov 21" in lines[0]
    buttons = {
        b["block_id"]: [e["action_id"] for e in b["elements"]]
        for b in blocks
        if b["type"] == "actions"
    }
    assert buttons == {
        "task.2.buttons": ["task.complete"],
        "task.1.buttons": ["task.start", "task.complete"],
        "task.3.buttons": ["task.reopen"],
    }


def test_progress_bar() -> None:
    assert progress_bar(0, 0) == "▱" * 10
    assert progress_bar(3, 10) == "▰▰▰▱▱▱▱▱▱▱"
    assert progress_bar(10, 10) == "▰" * 10


def test_replies_are_valid() -> None:
    _check(text_message("line\n" * 2000).blocks)
    _check(confirm_remove_message("task #1 *" + "x" * 900 + "*", "1:task:1").blocks)
    plan = _plan(3, 30, side="seller")
    mine = mine_message(plan, "U0001", TODAY)
    assert mine.text == "Your open tasks: 1"
    # Everyone's tasks assigned to one person: the list is capped, still valid.
    for m in plan.milestones:
        object.__setattr__(
            m, "tasks", tuple(TaskView(**{**t.__dict__, "assignee_id": "U0001"}) for t in m.tasks)
        )
    everything = mine_message(plan, "U0001", TODAY)
    _check(everything.blocks)
    assert everything.text == "Your open tasks: 90"
    assert "+ 70 more" in str(everything.blocks[-1])


def test_task_links_show_on_the_line_within_limits() -> None:
    plan = _plan(1, 0)
    tasks = (
        _task(
            1,
            1,
            "Security questionnaire",
            links=(("https://docs.example/q", "Questionnaire <v2>"), ("https://x.example", "")),
        ),
        _task(
            2, 1, "Recording", links=(("https://video.example/" + "a" * 1990, "Call recording"),)
        ),
    )
    plan = PlanView(
        **{
            **plan.__dict__,
            "milestones": (MilestoneView(**{**plan.milestones[0].__dict__, "tasks": tasks}),),
        }
    )
    blocks = render_card(plan, TODAY).blocks
    _check(blocks)
    lines = [b["text"]["text"] for b in blocks if b.get("block_id", "").endswith(".line")]
    assert "📎 <https://docs.example/q|Questionnaire &lt;v2&gt;> +1" in lines[0]
    assert "📎 Call recording" in lines[1] and "video.example" not in lines[1]
