"""Sending the upload rows of the outbox (`storage.uploads`) with slack_sdk's
`files_upload_v2` (files.getUploadURLExternal, the bytes, files.completeUploadExternal).

Rendered from the database when sent, like a card: the timeline from the plan's
buyer-side view and buyer-side facts (it goes into the shared channel, so no
internal task shapes it), the CSV for the person it goes to, on their side now.
A failed upload is tried again by the worker. Sharing is `files_upload_v2`'s three
steps taken one by one (`share`), so the file's id is kept on the row before it is
shared: a retry after a crash or an unanswered completion looks for the share's
message in the conversation (`recovery.look_up`, by that id) and shares again only
once the window was read through without it — never twice.
"""

from __future__ import annotations

from datetime import date

from slack_sdk import WebClient
from sqlalchemy import update

from bot.identity import resolve_actor
from bot.render.pipeline import PAGE, pipeline_csv, pipeline_message
from bot.render.timeline_png import ForecastRange, Timeline, alt_text, render_png, timeline_of
from bot.text import escape
from reminders.delivery import Claimed, recovery
from reminders.delivery.outbox import found_in_slack
from reminders.forecast import forecast
from storage import access, clock, plan_export, services
from storage.clock import today_in
from storage.db import Database
from storage.models import Outbox, Plan
from storage.pipeline import FORECAST_RUNS, FORECAST_SEED, parse_spec, pipeline
from storage.plan_facts import PlanFacts, plan_facts
from storage.readmodel import plan_view
from storage.uploads import channel_of_key, plan_of_key


def plan_timeline(db: Database, plan_id: int, team_id: str) -> Timeline | None:
    """The timeline of a plan of `team_id` as the channel may see it, or None."""
    with db.read() as s:
        plan = s.get(Plan, plan_id)
        if plan is None or plan.archived or plan.team_id != team_id:
            return None
        view = plan_view(s, plan, "buyer")
        facts = plan_facts(s, [plan_id])[plan_id].for_side("buyer")
    today = today_in(facts.tz)
    return timeline_of(view, today, _started(facts, today), _range(facts, today))


def _started(facts: PlanFacts, today: date) -> date:
    dues = [t.due_date for t in facts.tasks if t.due_date is not None]
    created = facts.created_at.date()
    return min([created, *dues]) if dues else min(created, today)


def _range(facts: PlanFacts, today: date) -> ForecastRange | None:
    f = forecast(facts, today, runs=FORECAST_RUNS, seed=FORECAST_SEED)
    if f.p10 is None or f.p50 is None or f.p90 is None:
        return None  # too little history: the picture says nothing it cannot back
    return ForecastRange(f.p10, f.p50, f.p90)


def share(
    db: Database,
    client: WebClient,
    item: Claimed,
    *,
    channel: str,
    content: bytes,
    filename: str,
    title: str,
    comment: str,
    alt_txt: str | None = None,
) -> None:
    """Upload `content` and share it in `channel` (a channel or DM id) once."""
    if (
        item.posting_since is not None
        and item.posting_file
        and _shared_already(client, item, channel)
    ):
        _shared(db, item)
        return
    url = client.files_getUploadURLExternal(filename=filename, length=len(content), alt_txt=alt_txt)
    file_id = str(url["file_id"])
    # From here until the answer is recorded the file may be shared: the row says
    # which file and since when, for the lookup a retry makes first.
    with db.write() as s:
        s.execute(
            update(Outbox)
            .where(Outbox.id == item.id)
            .values(posting_since=clock.wall(), posting_file=file_id)
        )
    sent = client._upload_file(  # slack_sdk's own step 2 of files_upload_v2
        url=str(url["upload_url"]),
        data=content,
        logger=client.logger,
        timeout=client.timeout,
        proxy=client.proxy,
        ssl=client.ssl,
    )
    if sent.status != 200:  # nothing shared yet: tried again (after the lookup)
        raise ConnectionError(f"upload URL answered {sent.status}")
    client.files_completeUploadExternal(
        files=[{"id": file_id, "title": title}], channel_id=channel, initial_comment=comment
    )
    _shared(db, item)


def _shared_already(client: WebClient, item: Claimed, channel: str) -> bool:
    """Whether the file a send began sharing is in the conversation."""
    assert item.posting_file
    return found_in_slack(client, item, channel, recovery.file_key(item.posting_file)) is not None


def _shared(db: Database, item: Claimed) -> None:
    with db.write() as s:
        s.execute(
            update(Outbox).where(Outbox.id == item.id).values(posting_since=None, posting_file=None)
        )


def send_timeline(db: Database, client: WebClient, item: Claimed) -> None:
    plan_id = plan_of_key(item.key)
    timeline = plan_timeline(db, plan_id, item.team_id) if plan_id is not None else None
    if timeline is None:
        return  # the plan is gone or archived: nothing to show
    share(
        db,
        client,
        item,
        channel=item.recipient,
        content=render_png(timeline),
        filename=f"timeline-{plan_id}-{timeline.today.isoformat()}.png",
        title=f"Timeline: {timeline.title}",
        alt_txt=alt_text(timeline),
        comment=f"Timeline of *{escape(timeline.title)}* :world_map:",
    )


def send_pipeline_csv(db: Database, client: WebClient, item: Claimed) -> None:
    spec = parse_spec(item.text) or ("all", None)
    actor, tz = resolve_actor(db, client, item.team_id, item.recipient, None)
    try:
        with db.read() as s:  # for the person it goes to, on their side now
            view = pipeline(s, actor, *spec)
    except services.DomainError:
        return  # no longer on the seller side: nothing is sent
    dm = client.conversations_open(users=item.recipient)["channel"]["id"]
    day = today_in(tz)
    share(
        db,
        client,
        item,
        channel=dm,
        content=pipeline_csv(view).encode(),
        filename=f"pipeline-{day.isoformat()}.csv",
        title="Pipeline",
        comment=f"Your pipeline: {len(view.rows)} plans, riskiest first.",
    )


def send_pipeline_reply(db: Database, client: WebClient, item: Claimed) -> None:
    """The pipeline asked for with `/map pipeline` when it was too big to answer in the
    ack: ephemeral where it was asked, for the asker on their side now."""
    spec = parse_spec(item.text) or ("all", None)
    actor, _tz = resolve_actor(db, client, item.team_id, item.recipient, None)
    try:
        with db.read() as s:
            view = pipeline(s, actor, *spec, rows=PAGE)
    except services.DomainError:
        return
    message = pipeline_message(view)
    client.chat_postEphemeral(
        channel=channel_of_key(item.key),
        user=item.recipient,
        text=message.text,
        blocks=message.blocks,
    )


def send_export(db: Database, client: WebClient, item: Claimed) -> None:
    """`/map export`: the plan as the asker may see it now (internal tasks only for
    the seller side), uploaded to their DM with the app."""
    plan_id = plan_of_key(item.key)
    actor, _tz = resolve_actor(db, client, item.team_id, item.recipient, None)
    if plan_id is None:
        return
    try:
        with db.read() as s:
            found = s.get(Plan, plan_id)
            if found is None:
                return
            plan = access.plan_for(s, actor, plan_id, found.channel_id)
            view = plan_view(s, plan, actor.side)
    except services.DomainError:
        return  # no longer theirs to read: nothing is sent
    fmt = "json" if item.text == "json" else "csv"
    data = plan_export.to_json(view) if fmt == "json" else plan_export.to_csv(view)
    dm = client.conversations_open(users=item.recipient)["channel"]["id"]
    share(
        db,
        client,
        item,
        channel=dm,
        content=data,
        filename=f"plan-{plan_id}-{today_in(view.tz).isoformat()}.{fmt}",
        title=view.title,
        comment="The plan as you see it"
        + ("" if actor.side != "seller" else ", internal tasks included")
        + ".",
    )
