"""`/map managers …`, `/map pipeline …` and `/map timeline`: parsing and carrying out.

The pipeline and the managers are the seller team's: `storage.pipeline` and
`storage.managers` refuse anyone else (buyers cannot type our commands in Slack
Connect, but a guest of the seller's workspace can). The timeline is the channel's
plan, reached through `storage.access`, and buyer-safe.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.render.blocks import Message
from bot.render.pipeline import PAGE, pipeline_message
from bot.render.replies import text_message
from commands import syntax as c
from commands.template_commands import Refused
from storage import access, clock, managers, services, uploads
from storage.db import Database
from storage.pipeline import pipeline, scope_ids
from storage.rules import Actor

ReadMention = Callable[[str], str | None]  # commands.parser's: a mention's user id
NO_PLAN = "This channel has no action plan yet, so there is no timeline to draw."
# More plans than this are worked out after the ack (Slack waits 3 seconds for it):
# the worker posts the pipeline a moment later. About 0.3 s of work at this size.
SYNC_MAX_PLANS = 300


def parse_managers(rest: str, read_mention: ReadMention) -> c.Command:
    words = rest.split()
    if not words or words == ["list"]:
        return c.Managers("list")
    action = words[0].lower()
    if action in ("add", "remove") and len(words) == 2:
        user = read_mention(words[1])
        if user is not None:
            return c.Managers("add" if action == "add" else "remove", user)
    raise Refused("Say `/map managers`, `/map managers add @someone` or `remove @someone`.")


def parse_pipeline(rest: str, read_mention: ReadMention) -> c.Command:
    words = rest.split()
    csv = bool(words) and words[-1].lower() == "csv"
    words = words[:-1] if csv else words
    if not words:
        return c.Pipeline(c.PipelineFilter(), csv)
    head = words[0].lower().replace("_", "-")
    if head in ("mine", "stalled", "at-risk") and len(words) == 1:
        return c.Pipeline(c.PipelineFilter(head), csv)  # type: ignore[arg-type]
    if head == "at" and [w.lower() for w in words[1:]] == ["risk"]:
        return c.Pipeline(c.PipelineFilter("at-risk"), csv)
    if head == "owner" and len(words) == 2:
        owner = read_mention(words[1])
        if owner is not None:
            return c.Pipeline(c.PipelineFilter("owner", owner), csv)
    raise Refused(
        "Say `/map pipeline`, or narrow it: `mine`, `at-risk`, `stalled`, `owner @someone`; "
        "add `csv` for the whole list as a file."
    )


def run(
    db: Database,
    actor: Actor,
    channel_id: str,
    command: c.Managers | c.Pipeline | c.Timeline,
    look_up: Callable[[str], None] | None = None,
) -> Message:
    if isinstance(command, c.Managers):
        return _managers(db, actor, command, look_up)
    if isinstance(command, c.Pipeline):
        return _pipeline(db, actor, channel_id, command)
    with db.write() as s:
        plan = access.plan_in_channel(s, actor, channel_id)
        if plan is None:
            raise services.NotFound(NO_PLAN)
        uploads.request_timeline(s, plan, clock.now())
    return text_message("Drawing the timeline: it will be posted here in a moment.")


def _managers(
    db: Database, actor: Actor, cmd: c.Managers, look_up: Callable[[str], None] | None
) -> Message:
    if cmd.user_id is not None and look_up is not None:
        look_up(cmd.user_id)  # their side from Slack, before the setting relies on it
    with db.write() as s:
        if cmd.action == "add" and cmd.user_id:
            added = managers.add_manager(s, actor, cmd.user_id)
            said = "is now a manager" if added else "was a manager already"
            return text_message(f"<@{cmd.user_id}> {said}: they see every plan in the pipeline.")
        if cmd.action == "remove" and cmd.user_id:
            gone = managers.remove_manager(s, actor, cmd.user_id)
            said = "is no longer a manager" if gone else "wasn't a manager"
            return text_message(f"<@{cmd.user_id}> {said}.")
        names = managers.managers(s, actor)
    if not names:
        return text_message(
            "No managers yet: each seller sees their own plans in `/map pipeline`. "
            "Add one with `/map managers add @someone`."
        )
    return text_message("Managers (they see every plan): " + ", ".join(f"<@{u}>" for u in names))


def _pipeline(db: Database, actor: Actor, channel_id: str, cmd: c.Pipeline) -> Message:
    flt = cmd.filter
    if cmd.csv:
        with db.write() as s:
            uploads.request_pipeline_csv(s, actor, flt.kind, flt.owner, clock.now())
        return text_message("I'll send you the pipeline as a CSV file in a DM.")
    with db.read() as s:
        _everyone, ids = scope_ids(s, actor, flt.kind, flt.owner)
        if len(ids) <= SYNC_MAX_PLANS:
            return pipeline_message(pipeline(s, actor, flt.kind, flt.owner, rows=PAGE))
    with db.write() as s:
        uploads.request_pipeline_reply(s, actor, channel_id, flt.kind, flt.owner, clock.now())
    return text_message(
        f"Working out the pipeline of {len(ids)} plans: it will be here in a moment."
    )
