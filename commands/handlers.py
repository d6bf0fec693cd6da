"""Carrying out `/map …`: parse, run one transaction through the services, reply.

Knows nothing of HTTP: the Slack edge (`bot.listeners.slash`) passes the text
and who is asking, and sends back the `Reply`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date

from sqlalchemy.orm import Session

from bot import ids
from bot.render.blocks import Message, context, to_dicts
from bot.render.replies import (
    code_message,
    confirm_golive_message,
    confirm_remove_message,
    error_message,
    mine_message,
    text_message,
)
from bot.text import escape, truncate
from commands import (
    crm_commands,
    insight_commands,
    pipeline_commands,
    remind_commands,
    template_commands,
    webhook_commands,
)
from commands import syntax as c
from commands.dates import Reading, day_first_in, format_date, how_read
from commands.parser import parse
from commands.usage import overview, usage_for
from reminders.delivery import refreshes
from storage import access, channel_posts, lookup, services, template_store
from storage.clock import today_in
from storage.db import Database
from storage.models import Plan, Task
from storage.readmodel import plan_view
from storage.rules import Actor

NO_PLAN = (
    "This channel has no action plan yet. "
    "Start one with `/map create &lt;title&gt; go-live &lt;date&gt;`."
)


@dataclass(frozen=True)
class Request:
    actor: Actor
    channel_id: str
    text: str
    user_tz: str = "UTC"  # the asker's IANA zone, for a plan that doesn't exist yet
    # Asks Slack about a mentioned person we don't know yet (users.info, recorded),
    # so they are placed on a side by their own team, not by default.
    look_up: Callable[[str], None] | None = None


@dataclass(frozen=True)
class Reply:
    """An ephemeral reply, and what the card needs afterwards (a change queues its
    card's refresh itself, in its own transaction: `storage.services`)."""

    message: Message
    repost_plan: int | None = None  # `/map status`: post the card anew at the bottom
    repost_waiting: bool = False  # …and a repost already waits to be sent (no write)
    dialog: c.Dialog | None = None  # open this modal (bot.listeners.modals) instead
    create_dialog: bool = False  # open the create form (bot.listeners.create)
    draft_dialog: bool = False  # open the notes form (bot.listeners.drafting)


_STATUS_TOPIC = {"in_progress": "start", "completed": "done", "not_started": "reopen"}


def _verb_of(command: object) -> str:
    """The help topic for a command, for usage after a refused change."""
    if isinstance(command, c.SetStatus):  # start, done and reopen: each its own usage
        return _STATUS_TOPIC[command.status]
    return {
        c.Create: "create",
        c.MilestoneAdd: "milestone",
        c.MilestoneStatus: "milestone",
        c.Add: "add",
        c.Assign: "assign",
        c.Due: "due",
        c.GoLive: "golive",
        c.Move: "move",
        c.RenameTask: "rename",
        c.RenameMilestone: "rename",
        c.RenamePlan: "rename",
        c.RemoveTask: "remove",
        c.RemoveMilestone: "remove",
        c.AddDialog: "add",
        c.Overview: "overview",
        c.People: "people",
        c.TemplateCommand: "template",
        c.Extend: "extend",
        c.Country: "country",
        c.Remind: "remind",
        c.MuteDigests: "mute",
        c.DraftDialog: "draft",
        c.Managers: "managers",
        c.Pipeline: "pipeline",
        c.Timeline: "timeline",
        c.WebhookCommand: "webhook",
        c.CalendarCommand: "calendar",
        c.Summary: "summary",
        c.HealthCommand: "health",
        c.Crm: "crm",
        c.Export: "export",
    }.get(type(command), "help")


def handle(db: Database, req: Request) -> Reply:
    """Run one `/map` line. Never raises for anything a person can type; raises
    `access.MembersUnknown` when the channel's members must be fetched first."""
    with db.read() as s:  # who may see this channel's plan: `storage.access`
        plan = access.plan_in_channel(s, req.actor, req.channel_id)
        key = (plan.id, plan.tz, plan.country) if plan is not None else None
        today = today_in(key[1] if key is not None else req.user_tz)
        on = Reading(today, day_first_in(key[2] if key is not None else None))
        command = parse(req.text, on.today, day_first=on.day_first)
        # `/map status`, the hot path on calls: whether its repost waits already,
        # looked up in this read (one session for the whole request).
        waiting = (
            key is not None and isinstance(command, c.Status) and _repost_waiting(s, req, key[0])
        )
    if isinstance(command, c.ParseError):
        return Reply(error_message(command.message, usage_for(command.verb)))
    mentioned = _mentioned(command)
    if mentioned is not None and req.look_up is not None:
        req.look_up(mentioned)
    try:
        if isinstance(command, c.Status):  # the hot path on calls: no second lookup
            if key is None:
                raise services.NotFound(NO_PLAN)
            message = text_message("Here's the plan :point_down:")
            return Reply(message, repost_plan=key[0], repost_waiting=waiting)
        return _with_notes(
            _dispatch(db, req, command, today), how_read(req.text, on, _dates(command))
        )
    except services.DomainError as e:
        return Reply(error_message(e.message, usage_for(_verb_of(command))))


def _repost_waiting(s: Session, req: Request, plan_id: int) -> bool:
    target = refreshes.card_target(plan_id)
    return refreshes.asked_already(s, refreshes.CARD, req.actor.team_id, target, refreshes.REPOST)


def _mentioned(command: c.Command) -> str | None:
    """The person a command assigns, to look up before anything gives them a side."""
    if isinstance(command, c.Add):
        return command.assignee
    return command.user_id if isinstance(command, c.Assign) else None


def _dates(command: c.Command) -> tuple[date | None, ...]:
    """The dates a command sets, to say how an ambiguous `03/04` among them was read."""
    if isinstance(command, c.Add | c.Due | c.MilestoneAdd):
        return (command.due,)
    if isinstance(command, c.GoLive):
        return (command.target,)
    if isinstance(command, c.Create):
        return (command.golive,)
    return ()


def _with_notes(reply: Reply, notes: list[str]) -> Reply:
    """The reply with the notes (already escaped) under it, buttons and all."""
    if not notes or reply.dialog is not None or reply.create_dialog:
        return reply
    note = "\n".join(notes)
    message = Message(
        text=truncate(f"{reply.message.text}\n{note}", 3000),
        blocks=[*reply.message.blocks, *to_dicts([context(note, "reply.note")])],
    )
    return replace(reply, message=message)


def _dispatch(db: Database, req: Request, command: c.Command, today: date) -> Reply:
    if isinstance(command, c.Help):
        return Reply(text_message(usage_for(command.topic) if command.topic else overview()))
    if isinstance(command, c.Create):
        return _create(db, req, command, today)
    if isinstance(command, c.Mine):
        with db.read() as s:
            plan = _require_plan(s, req)
            view = plan_view(s, plan, req.actor.side)
        return Reply(mine_message(view, req.actor.user_id, today))
    if isinstance(command, c.CreateDialog):
        return Reply(Message(text=""), create_dialog=True)
    if isinstance(command, c.DraftDialog):  # checked again when the notes come back
        return Reply(Message(text=""), draft_dialog=True)
    if isinstance(command, c.AddDialog | c.Overview | c.People):
        _plan_id(db, req)  # a modal needs the channel's plan: say so when there is none
        return Reply(Message(text=""), dialog=command)
    if isinstance(command, c.RemoveTask | c.RemoveMilestone):
        return _ask_remove(db, req, command)
    if isinstance(command, c.TemplateCommand):
        return _template(db, req, command, today)
    if isinstance(command, c.WebhookCommand):  # the workspace's, not one plan's
        return Reply(text_message(webhook_commands.run_webhook(db, req.actor, command)))
    if isinstance(command, c.CalendarCommand):
        text = webhook_commands.run_calendar(db, req.actor, req.channel_id, command)
        return Reply(text_message(text))
    if isinstance(command, c.Summary | c.HealthCommand):
        # A threshold changed is an activity row: its card's refresh is queued with it.
        message, _changed = insight_commands.run(
            db, req.actor, lambda s: _require_plan(s, req), command, today
        )
        return Reply(message)
    if isinstance(command, c.MuteDigests):  # about me, not the plan: works anywhere
        with db.write() as s:
            return Reply(text_message(remind_commands.run_mute(s, req.actor, None, command, today)))
    if isinstance(command, c.Managers | c.Pipeline | c.Timeline):  # the deals at a glance
        run = pipeline_commands.run
        return Reply(run(db, req.actor, req.channel_id, command, req.look_up))
    if isinstance(command, c.Export):  # the plan as a file, by DM
        return Reply(text_message(crm_commands.run_export(db, req.actor, req.channel_id, command)))
    if isinstance(command, c.Crm):  # the workspace's CRM; `link` needs this channel's plan
        return Reply(text_message(crm_commands.run_crm(db, req.actor, req.channel_id, command)))
    if isinstance(command, c.GoLive) and command.target is not None:
        preview = _golive_preview(db, req, command.target, today)
        if preview is not None:
            return preview
    handler = _CHANGES.get(type(command))
    if handler is None:  # pragma: no cover - every command type is mapped above
        return Reply(text_message(overview()))
    with db.write() as s:
        plan = _require_plan(s, req)
        summary = handler(s, req.actor, plan, command, today)
    return Reply(text_message(summary))


def _plan_id(db: Database, req: Request) -> int:
    with db.read() as s:
        return _require_plan(s, req).id


def _require_plan(s: Session, req: Request) -> Plan:
    plan = access.plan_in_channel(s, req.actor, req.channel_id)
    if plan is None:
        raise services.NotFound(NO_PLAN)
    return plan


def _create(db: Database, req: Request, cmd: c.Create, today: date) -> Reply:
    when = f" for go-live on {format_date(cmd.golive, today)}" if cmd.golive else ""
    with db.write() as s:
        if cmd.template is not None:
            laid = template_store.create_from_template(
                s,
                req.actor,
                req.channel_id,
                cmd.title,
                cmd.template,
                cmd.golive,
                req.user_tz,
                today,
            )
            text = f"Created *{escape(cmd.title)}*{when}. " + template_commands.laid_out_summary(
                laid, cmd.template, today
            )
            plan_id = laid.plan.id
        else:
            plan = services.create_plan(
                s, req.actor, req.channel_id, cmd.title, target_date=cmd.golive, tz=req.user_tz
            )
            plan_id = plan.id
            text = (
                f"Created *{escape(cmd.title)}*{when}. Next: `/map milestone add &lt;title&gt;` "
                "and `/map add &lt;task&gt;` — or lay it out from a template: `/map template list`."
            )
        refreshes.mark_card(s, req.actor.team_id, plan_id, repost=True)  # the new plan's card
    return Reply(text_message(text))


def _task(s: Session, req_actor: Actor, plan: Plan, ref: c.TaskRef) -> Task:
    return lookup.find_task(s, plan, number=ref.number, words=ref.words, side=req_actor.side)


def _label(task: Task) -> str:
    return f"#{task.number} *{escape(truncate(task.title, 200))}*"


Change = Callable[[Session, Actor, Plan, object, date], str]


def _past_note(due: date | None, today: date) -> str:
    """A date before today is taken as typed (catching up on a plan is real), but said."""
    if due is None or due >= today:
        return ""
    return f"\n:warning: {format_date(due, today)} is in the past: it shows as overdue."


def _milestone_add(s: Session, actor: Actor, plan: Plan, cmd: c.MilestoneAdd, today: date) -> str:
    m = services.add_milestone(s, actor, plan, cmd.title, due=cmd.due)
    return f"Added milestone *{escape(m.title)}*.{_past_note(cmd.due, today)}"


def _milestone_status(
    s: Session, actor: Actor, plan: Plan, cmd: c.MilestoneStatus, today: date
) -> str:
    m = lookup.find_milestone(s, plan, cmd.milestone)
    services.set_milestone_status(s, actor, plan, m, cmd.status)
    if cmd.status is None:
        return f"*{escape(m.title)}* follows its tasks again."
    return f"*{escape(m.title)}* set to {cmd.status.replace('_', ' ')} by hand."


def _add(s: Session, actor: Actor, plan: Plan, cmd: c.Add, today: date) -> str:
    milestone = lookup.find_milestone(s, plan, cmd.milestone) if cmd.milestone else None
    task = services.add_task(
        s,
        actor,
        plan,
        cmd.title,
        milestone=milestone,
        owner_side=cmd.owner or "mutual",
        assignee_id=cmd.assignee,
        due=cmd.due,
        internal=cmd.internal,
    )
    extra = f", for <@{cmd.assignee}>" if cmd.assignee else ""
    extra += " (internal: only your team sees it)" if task.internal else ""
    return f"Added {_label(task)}{extra}.{_past_note(cmd.due, today)}"


def _assign(s: Session, actor: Actor, plan: Plan, cmd: c.Assign, today: date) -> str:
    task = _task(s, actor, plan, cmd.task)
    services.assign_task(s, actor, plan, task, cmd.user_id)
    return f"{_label(task)} is now " + (f"<@{cmd.user_id}>'s." if cmd.user_id else "unassigned.")


def _set_status(s: Session, actor: Actor, plan: Plan, cmd: c.SetStatus, today: date) -> str:
    task = _task(s, actor, plan, cmd.task)
    changed = services.set_task_status(s, actor, plan, task, cmd.status)
    label = {"in_progress": "in progress", "completed": "completed", "not_started": "reopened"}
    if not changed:
        return f"{_label(task)} was already {label[cmd.status]}."
    return f"{_label(task)} is {label[cmd.status]}."


def _due(s: Session, actor: Actor, plan: Plan, cmd: c.Due, today: date) -> str:
    task = _task(s, actor, plan, cmd.task)
    services.set_task_due(s, actor, plan, task, cmd.due)
    if cmd.due is None:
        return f"{_label(task)} has no due date now."
    return f"{_label(task)} is due {format_date(cmd.due, today)}.{_past_note(cmd.due, today)}"


def _golive(s: Session, actor: Actor, plan: Plan, cmd: c.GoLive, today: date) -> str:
    moved = services.set_target_date(s, actor, plan, cmd.target)
    if cmd.target is None:
        return "The target go-live date is cleared."
    tail = f" {len(moved)} relative task dates moved with it." if moved else ""
    return f"Target go-live is now {format_date(cmd.target, today)}.{tail}"


def _move(s: Session, actor: Actor, plan: Plan, cmd: c.Move, today: date) -> str:
    task = _task(s, actor, plan, cmd.task)
    milestone = lookup.find_milestone(s, plan, cmd.milestone)
    services.move_task(s, actor, plan, task, milestone)
    return f"Moved {_label(task)} to *{escape(milestone.title)}*."


def _rename_task(s: Session, actor: Actor, plan: Plan, cmd: c.RenameTask, today: date) -> str:
    task = _task(s, actor, plan, cmd.task)
    services.rename_task(s, actor, plan, task, cmd.title)
    return f"Renamed to {_label(task)}."


def _rename_milestone(
    s: Session, actor: Actor, plan: Plan, cmd: c.RenameMilestone, today: date
) -> str:
    m = lookup.find_milestone(s, plan, cmd.milestone)
    services.rename_milestone(s, actor, plan, m, cmd.title)
    return f"Milestone renamed to *{escape(m.title)}*."


def _rename_plan(s: Session, actor: Actor, plan: Plan, cmd: c.RenamePlan, today: date) -> str:
    services.rename_plan(s, actor, plan, cmd.title)
    return f"Plan renamed to *{escape(plan.title)}*."


def _template(db: Database, req: Request, cmd: c.TemplateCommand, today: date) -> Reply:
    """Template commands work anywhere; `save` needs this channel's plan."""
    with db.write() as s:
        if cmd.action == "export":
            yaml_text = template_commands.export_yaml(s, req.actor, cmd.name or "")
            title = f"Template `{escape(cmd.name or '')}` — copy it into `/map template import`:"
            return Reply(code_message(title, yaml_text))
        plan = access.plan_in_channel(s, req.actor, req.channel_id)
        return Reply(text_message(template_commands.run_template(s, req.actor, plan, cmd, today)))


def _golive_preview(db: Database, req: Request, target: date, today: date) -> Reply | None:
    """When moving go-live would move relative task dates, show what first."""
    with db.read() as s:
        plan = _require_plan(s, req)
        services.require_edit(plan, req.actor)
        preview = template_store.preview_target(s, plan, target, today)
        plan_id = plan.id
    if not preview.moves:
        return None
    message = confirm_golive_message(
        template_commands.preview_text(preview, target, today),
        ids.golive_value(plan_id, target),
    )
    return Reply(message)


def apply_golive(db: Database, actor: Actor, channel_id: str, value: str) -> Reply:
    """The Apply button of the preview: re-check, move, and say what moved in the
    channel (an outbox row, written with the move)."""
    parsed = ids.parse_golive_value(value)
    if parsed is None:
        raise services.NotFound("That button is no longer valid.")
    plan_id, target = parsed
    if not channel_id:  # the preview is a message in the plan's channel
        raise services.NotFound(access.NOT_FOUND)
    with db.write() as s:
        plan = access.plan_for(s, actor, plan_id, channel_id)
        today = today_in(plan.tz)
        preview = template_store.preview_target(s, plan, target, today)
        moved = services.set_target_date(s, actor, plan, target)
        # The channel is buyer-visible: moved_summary keeps to what a buyer may see.
        summary = template_commands.moved_summary(preview.moves, target, actor.user_id, today)
        channel_posts.announce(s, plan, summary)
    when = format_date(target, today)
    reply = text_message(f"Go-live is now {when}; {len(moved)} task dates moved.")
    return Reply(reply)


_CHANGES: dict[type, Callable[..., str]] = {
    c.MilestoneAdd: _milestone_add,
    c.MilestoneStatus: _milestone_status,
    c.Add: _add,
    c.Assign: _assign,
    c.SetStatus: _set_status,
    c.Due: _due,
    c.GoLive: _golive,
    c.Move: _move,
    c.RenameTask: _rename_task,
    c.RenameMilestone: _rename_milestone,
    c.RenamePlan: _rename_plan,
    c.Extend: template_commands.run_extend,
    c.Country: template_commands.run_country,
    c.Remind: remind_commands.run_remind,
}


def _ask_remove(db: Database, req: Request, cmd: c.RemoveTask | c.RemoveMilestone) -> Reply:
    """Removing asks first; the buttons' value names what to remove, checked again on click."""
    with db.read() as s:
        plan = _require_plan(s, req)
        services.require_edit(plan, req.actor)
        if isinstance(cmd, c.RemoveTask):
            task = _task(s, req.actor, plan, cmd.task)
            what, value = f"task {_label(task)}", f"{plan.id}:task:{task.id}"
        else:
            m = lookup.find_milestone(s, plan, cmd.milestone)
            count = lookup.count_tasks(s, m)
            what = f"milestone *{escape(truncate(m.title, 200))}* and its {count} tasks"
            value = f"{plan.id}:milestone:{m.id}"
    return Reply(confirm_remove_message(what, value))


def confirm_remove(db: Database, actor: Actor, channel_id: str, value: str) -> Reply:
    """The Remove button: re-check everything, then remove."""
    plan_part, kind, obj_part = (value.split(":") + ["", "", ""])[:3]
    plan_id, obj_id = ids.parse_int(plan_part), ids.parse_int(obj_part)
    if plan_id is None or obj_id is None or kind not in ("task", "milestone"):
        raise services.NotFound("That button is no longer valid.")
    if not channel_id:  # the question is a message in the plan's channel
        raise services.NotFound(access.NOT_FOUND)
    with db.write() as s:
        plan = access.plan_for(s, actor, plan_id, channel_id)
        if kind == "task":
            task = lookup.find_task_by_id(s, plan, obj_id, actor.side)
            title = task.title
            services.remove_task(s, actor, plan, task)
        else:
            m = lookup.find_milestone_by_id(s, plan, obj_id)
            title = m.title
            services.remove_milestone(s, actor, plan, m)
    return Reply(text_message(f"Removed {kind} *{escape(truncate(title, 200))}*."))
