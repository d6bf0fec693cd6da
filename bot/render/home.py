"""The App Home tab: my open tasks across every deal (overdue first, grouped by
deal, with the card's buttons) and my plans with their progress.

Pure: a `HomeView` in, a `views.publish` view out, always within Slack's 100
blocks however many deals and tasks. A buyer's `HomeView` holds only their own
visible tasks, so nothing internal can reach this renderer for them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot import ids
from bot.render.blocks import (
    VIEW_MAX_BLOCKS,
    chunk_lines,
    context,
    plan_task_blocks,
    progress_bar,
    short_date,
    to_dicts,
)
from bot.text import escape, truncate
from storage.home_readmodel import HomeView, PlanLine
from storage.rules import can_set_task_status

MAX_PLAN_SECTIONS = 3  # "My plans" never takes more than this many blocks of text
MAX_PLANS_LISTED = 60


def deal_heading(plan: PlanLine) -> str:
    parts = [f"*{escape(truncate(plan.title, 150))}*", f"<#{plan.channel_id}>"]
    if plan.overdue:
        parts.append(f"*{plan.overdue} overdue*")
    return " · ".join(parts)


def plan_line(plan: PlanLine, home: HomeView) -> str:
    """Progress as the card shows it (shared tasks), internal ones apart."""
    pct = round(100 * plan.done / plan.total) if plan.total else 0
    parts = [
        f"`{progress_bar(plan.done, plan.total)}` {pct}%",
        f"*{escape(truncate(plan.title, 120))}*",
        f"<#{plan.channel_id}>",
        f"{plan.done}/{plan.total} done",
    ]
    if plan.internal:  # the card shows none of these: say them apart, so counts agree
        parts.append(f"+ {plan.internal} internal ({plan.internal_done} done)")
    if plan.target_date is not None:
        parts.append(f"go-live {short_date(plan.target_date, home.today)}")
    if plan.overdue:
        parts.append(f"*{plan.overdue} overdue*")
    return " · ".join(parts)


def _plans_part(home: HomeView) -> list[Block]:
    blocks: list[Block] = [DividerBlock(), HeaderBlock(text="My plans")]
    if not home.plans:
        empty = (
            "No plans yet. In a deal channel: `/map create &lt;title&gt; go-live &lt;date&gt;`."
            if home.side == "seller"
            else "No plans with tasks for you yet."
        )
        blocks.append(context(empty, f"{ids.BLOCK_HOME_PLANS}.0"))
        return blocks
    listed = home.plans[:MAX_PLANS_LISTED]
    chunks = chunk_lines([plan_line(p, home) for p in listed])
    shown = chunks[:MAX_PLAN_SECTIONS]
    for i, chunk in enumerate(shown):
        blocks.append(
            SectionBlock(
                block_id=f"{ids.BLOCK_HOME_PLANS}.{i}", text=MarkdownTextObject(text=chunk)
            )
        )
    hidden = len(home.plans) - sum(c.count("\n") + 1 for c in shown)
    if hidden > 0:
        blocks.append(context(f"+ {hidden} more plans", f"{ids.BLOCK_HOME_PLANS}.more"))
    return blocks


def render_home(
    home: HomeView, notice: str | None = None, extra: Sequence[Block] = ()
) -> dict[str, Any]:
    """The Home tab view; `notice` (already escaped) is shown on top, e.g. a refused click;
    `extra` at the bottom (a seller's pipeline), its blocks kept out of the tasks' budget."""
    head: list[Block] = [HeaderBlock(block_id=ids.BLOCK_HOME_HEADER, text="My open tasks")]
    if notice:
        head.append(context(notice, ids.BLOCK_HOME_NOTICE))
    if home.side == "buyer":
        head.append(context("Tasks assigned to you in the deals you share with us."))
    tail = _plans_part(home) + list(extra)
    budget = VIEW_MAX_BLOCKS - len(head) - len(tail) - 1  # one spare for "+ N more"
    body: list[Block] = []
    shown = 0
    for deal in home.deals:
        if budget - len(body) < 3:  # its heading and at least one task
            break
        body.append(
            SectionBlock(
                block_id=f"{ids.BLOCK_HOME_DEAL}.{deal.plan.id}",
                text=MarkdownTextObject(text=deal_heading(deal.plan)),
            )
        )
        for task in deal.tasks:
            may_click = can_set_task_status(home.side, task.owner_side, task.internal) is None
            blocks = plan_task_blocks(
                deal.plan.id, task, home.today, show_milestone=True, buttons=may_click
            )
            if len(body) + len(blocks) > budget:
                break
            body.extend(blocks)
            shown += 1
    if not home.deals:
        body.append(context("Nothing open for you. :tada:"))
    hidden = home.open_count - shown
    if hidden > 0:
        body.append(context(f"+ {hidden} more open tasks", ids.BLOCK_HOME_MORE))
    blocks = head + body + tail
    view = View(type="home", blocks=to_dicts(blocks))
    view.validate_json()
    return view.to_dict()
