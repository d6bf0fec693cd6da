"""The pipeline rendered: an ephemeral message (`/map pipeline`), a section of App
Home, and the CSV file. Pure: a `PipelineView` in.

Within Slack's limits however many plans: a message shows the first PAGE rows
(one section each, 50 blocks at most), App Home the first HOME_ROWS, each with a
note of how many more there are and the CSV button for the whole list. Every
piece of user text (plan, milestone and task titles, health reasons that name a
milestone) is escaped; the CSV neutralises cells a spreadsheet would run.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot import ids
from bot.render.blocks import Message, context, progress_bar, short_date, to_dicts
from bot.text import escape, truncate, truncate_mrkdwn
from storage.pipeline import PipelineRow, PipelineView, filter_spec

PAGE = 20  # rows in the ephemeral message (each one section: far under 50 blocks)
HOME_ROWS = 8  # rows in App Home, which also lists the person's open tasks
HOME_MAX_PLANS = 300  # plans App Home may assess itself (storage.pipeline.pipeline_up_to)
HEALTH_ICON = {
    "on_track": ":large_green_circle:",
    "at_risk": ":warning:",
    "stalled": ":red_circle:",
}
FILTER_WORDS = {
    "all": "",
    "mine": "your plans",
    "at-risk": "at risk or stalled",
    "stalled": "stalled",
    "owner": "owned by",
}


def _ago(at: datetime | None, today: date) -> str:
    if at is None:
        return "no movement yet"
    days = (today - at.date()).days
    return "moved today" if days <= 0 else f"moved {days} day{'s' if days != 1 else ''} ago"


def row_text(row: PipelineRow) -> str:
    """One plan in mrkdwn: the heading line, then the facts line."""
    pct = round(100 * row.done / row.total) if row.total else 0
    head = (
        f"{HEALTH_ICON[row.health.state]} *{escape(truncate(row.title, 150))}* · "
        f"<#{row.channel_id}> · <@{row.owner_id}>"
    )
    health = escape(truncate(row.health.line(), 400))
    facts = [
        f"`{progress_bar(row.done, row.total)}` {pct}% ({row.done}/{row.total})",
        f"now: {escape(truncate(row.milestone, 100))}" if row.milestone else "all milestones done",
        f"target {short_date(row.target, row.today)}" if row.target else "no target date",
    ]
    if row.forecast is not None:
        facts.append(escape(truncate(row.forecast.line, 300)))
    step = row.next_buyer_step
    if step is not None:
        due = f" (due {short_date(step.due_date, row.today)})" if step.due_date else ""
        facts.append(f"next buyer step: `#{step.number}` {escape(truncate(step.title, 120))}{due}")
    facts.append(_ago(row.last_movement, row.today))
    return truncate_mrkdwn(f"{head}\n{health}\n{' · '.join(facts)}", 3000)


def _heading(view: PipelineView) -> str:
    scope = "every plan of the workspace" if view.everyone else "your plans"
    words = FILTER_WORDS.get(view.kind, "")
    if view.kind == "owner":
        words = f"owned by <@{view.owner}>"
    which = f" — {words}" if words else ""
    n = view.total
    return f"*Pipeline*{which}: {n} plan{'s' if n != 1 else ''} ({scope}), riskiest first"


def _csv_button(view: PipelineView, block_id: str) -> ActionsBlock:
    return ActionsBlock(
        block_id=block_id,
        elements=[
            ButtonElement(
                text="Download CSV",
                action_id=ids.PIPELINE_CSV,
                value=filter_spec(view.kind, view.owner),
            )
        ],
    )


def _rows_blocks(view: PipelineView, prefix: str, limit: int) -> list[Block]:
    blocks: list[Block] = [
        SectionBlock(
            block_id=f"{prefix}.{row.plan_id}", text=MarkdownTextObject(text=row_text(row))
        )
        for row in view.rows[:limit]
    ]
    hidden = view.total - min(limit, len(view.rows))
    if hidden > 0:
        blocks.append(
            context(
                f"+ {hidden} more plans not shown: the CSV has them all, or narrow the list "
                "(`/map pipeline at-risk`, `stalled`, `mine`, `owner @someone`).",
                f"{prefix}.more",
            )
        )
    return blocks


def pipeline_message(view: PipelineView) -> Message:
    """The ephemeral reply to `/map pipeline`."""
    blocks: list[Block] = [
        SectionBlock(
            block_id=f"{ids.BLOCK_PIPELINE}.head", text=MarkdownTextObject(text=_heading(view))
        )
    ]
    if not view.rows:
        blocks.append(context("No plans here yet.", f"{ids.BLOCK_PIPELINE}.empty"))
    blocks += _rows_blocks(view, ids.BLOCK_PIPELINE, PAGE)
    if view.rows:
        blocks.append(_csv_button(view, f"{ids.BLOCK_PIPELINE}.actions"))
    return Message(text=_heading(view).replace("*", ""), blocks=to_dicts(blocks))


def pipeline_home_blocks(view: PipelineView | int) -> list[Block]:
    """The Pipeline section of a seller's App Home; for a pipeline too costly to work
    out on this Home refresh (`view` is its number of plans), a pointer to it."""
    blocks: list[Block] = [
        DividerBlock(),
        HeaderBlock(block_id=f"{ids.BLOCK_HOME_PIPELINE}.header", text="Pipeline"),
    ]
    if isinstance(view, int):
        blocks.append(
            context(
                f"{view} plans: `/map pipeline` shows the riskiest (`at-risk`, `stalled`, "
                "`mine`, `owner @someone` narrow it), and the CSV has them all.",
                f"{ids.BLOCK_HOME_PIPELINE}.head",
            )
        )
        blocks.append(
            _csv_button(
                PipelineView("all", None, True, (), view), f"{ids.BLOCK_HOME_PIPELINE}.actions"
            )
        )
        return blocks
    blocks.append(context(_heading(view), f"{ids.BLOCK_HOME_PIPELINE}.head"))
    blocks += _rows_blocks(view, ids.BLOCK_HOME_PIPELINE, HOME_ROWS)
    if view.rows:
        blocks.append(_csv_button(view, f"{ids.BLOCK_HOME_PIPELINE}.actions"))
    return blocks


CSV_COLUMNS = (
    "plan",
    "channel",
    "owner",
    "current milestone",
    "done",
    "total",
    "health",
    "reasons",
    "target",
    "forecast p10",
    "forecast p50",
    "forecast p90",
    "forecast",
    "next buyer step",
    "next buyer step due",
    "last movement",
)


def _cell(value: object) -> str:
    """A cell a spreadsheet shows as text: a leading = + - @ (or tab, CR) would make
    it a formula (OWASP's CSV injection advice: prefix a quote)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def pipeline_csv(view: PipelineView) -> str:
    """Every row of the view (plain text: CSV is no mrkdwn, so nothing is escaped)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for r in view.rows:
        f, step = r.forecast, r.next_buyer_step
        writer.writerow(
            _cell(v)
            for v in (
                r.title,
                r.channel_id,
                r.owner_id,
                r.milestone or "",
                r.done,
                r.total,
                r.health.label,
                "; ".join(r.health.reasons),
                r.target.isoformat() if r.target else "",
                f.p10.isoformat() if f is not None and f.p10 else "",
                f.p50.isoformat() if f is not None and f.p50 else "",
                f.p90.isoformat() if f is not None and f.p90 else "",
                f.line if f is not None else "",
                f"#{step.number} {step.title}" if step is not None else "",
                step.due_date.isoformat() if step is not None and step.due_date else "",
                r.last_movement.isoformat(timespec="minutes") if r.last_movement else "",
            )
        )
    return out.getvalue()
