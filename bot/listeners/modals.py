"""Working the plan from modals: the card's `+ Task`, `Full plan` and per-task menu,
`/map add` (no arguments), `/map overview`, `/map people`, and every submission.

Nothing in a payload is trusted: a button's value and a view's private_metadata
only name what to look up. Each open and each submission finds the plan through
`storage.access` (in the workspace the request was authorised for — for
`view_submission` that is `view.app_installed_team_id`, never `team.id` — and,
for a buyer, only while they are in its channel), the task in that plan, and
asks the rules whether the clicker's side may do it. A submission runs as one write
transaction: a refusal anywhere saves nothing and comes back in the modal.

Nothing calls Slack before the ack: a button is acknowledged, then its modal
opened (views.open/push/update with the click's trigger_id: the interaction's own
answer, good for 3 s, so not an outbox row). A submission's answer is its ack,
worked out from the database alone, so its change is saved before the answer
as a click's is (bot.change_first) — but it cannot wait for Slack: someone not
placed yet is refused as buyer side ("Checking who you are"), a buyer in a
channel whose members we don't know is refused while they are fetched after the
answer. What it says in the channel (a comment in the card's thread, a go-live
announcement) is an outbox row written with it.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session

from bot import identity, ids
from bot.deps import Deps, channel_of
from bot.identity import CHECKING_WHO, record_user, side_of_record
from bot.members import fetch_members
from bot.render import modals as views
from bot.render.summary import summary_modal
from commands import syntax as c
from commands.template_commands import moved_summary
from storage import (
    access,
    channel_posts,
    clock,
    collab_read,
    collab_services,
    lookup,
    membership,
    services,
    template_store,
)
from storage.clock import today_in
from storage.db import Database
from storage.models import Plan, Task
from storage.plan_facts import facts_for
from storage.readmodel import plan_view, task_view
from storage.rules import Actor, can_comment, can_edit_plan, can_edit_task, can_place_people

log = logging.getLogger(__name__)

CONTACT_MAX_AGE = timedelta(days=1)
LOOKUPS_PER_OPEN = 25  # users.info calls after `/map people` opens (Tier 4: ~100/min)
MEMBERS_MAX = 200

# --- finding things, trusting nothing ------------------------------------------


def _editable_task(s: Session, actor: Actor, plan: Plan, task_id: int) -> Task:
    task = lookup.find_task_by_id(s, plan, task_id, actor.side)
    reason = can_edit_task(actor.side, plan.buyers_can_edit, task.owner_side, task.internal)
    if reason:
        raise services.Forbidden(reason)
    return task


def _milestones(plan: Plan) -> list[tuple[int, str]]:
    return [(m.id, m.title) for m in plan.milestones]


def _in_modal(body: dict[str, Any]) -> bool:
    return (body.get("view") or {}).get("type") == "modal"


def _show(client: WebClient, body: dict[str, Any], view: dict[str, Any]) -> None:
    """Open a modal, or stack it on the one the click came from."""
    if _in_modal(body):
        client.views_push(trigger_id=body["trigger_id"], view=view)
    else:
        client.views_open(trigger_id=body["trigger_id"], view=view)


def _refuse(client: WebClient, body: dict[str, Any], actor: Actor, message: str) -> None:
    channel = channel_of(body)
    if channel:
        client.chat_postEphemeral(channel=channel, user=actor.user_id, text=f":no_entry: {message}")
    else:
        _show(client, body, views.notice_view("Not possible", f":no_entry: {message}"))


# --- views from the database ---------------------------------------------------


def task_form_view(
    s: Session,
    actor: Actor,
    plan: Plan,
    task: Task | None,
    mode: str,
    channel: str = "",
    *,
    title: str = "",
    links: tuple[collab_read.Link, ...] = (),
) -> dict[str, Any]:
    """The task modal for `actor` (also used by the message shortcut: `title`, `links`)."""
    return views.task_modal(
        views.TaskModal(
            plan_id=plan.id,
            side=actor.side,
            milestones=_milestones(plan),
            task=collab_read.task_detail(s, task) if task else None,
            mode=mode,
            target_date=plan.target_date,
            channel=channel,
            title=title,
            links=links,
            today=today_in(plan.tz),
        )
    )


def _person_lines(
    s: Session, plan: Plan, member_ids: list[str] | tuple[str, ...] = ()
) -> list[views.PersonLine]:
    return [
        views.PersonLine(
            user_id=r.user_id,
            name=r.name,
            side=side_of_record(
                plan.team_id, r.home_team_id, is_guest=r.is_guest, override=r.side_override
            ),
            side_by_hand=r.side_override is not None,
            role=r.role,
            title=r.title,
            email=r.email,
            phone=r.phone,
            tz=r.tz,
        )
        for r in collab_read.people(s, plan, member_ids)
    ]


def full_plan(s: Session, actor: Actor, plan: Plan, page: int = 0) -> dict[str, Any]:
    pv = plan_view(s, plan, actor.side)  # a buyer's view has no internal tasks
    visible = {t.id for t in pv.tasks}
    links = {k: v for k, v in collab_read.links_by_task(s, plan.id).items() if k in visible}
    view, _pages = views.full_plan_view(
        views.FullPlan(
            plan=pv,
            overview=collab_read.overview(plan),
            people=_person_lines(s, plan),
            links=links,
            today=today_in(plan.tz),
            can_edit=can_edit_plan(actor.side, plan.buyers_can_edit) is None,
        ),
        page,
    )
    return view


def _people_view(s: Session, actor: Actor, plan: Plan, members: list[str]) -> dict[str, Any]:
    return views.people_modal(
        plan.id, _person_lines(s, plan, members), can_edit=can_place_people(actor.side) is None
    )


# --- `/map add`, `/map overview`, `/map people` -----------------------------------


def dialog_view(
    deps: Deps, actor: Actor, channel: str, dialog: c.AddDialog | c.Overview | c.People
) -> tuple[int, dict[str, Any]]:
    """The modal a `/map` command asked for, from the database alone (it runs
    before the ack); a refusal raises a DomainError. The people modal lists the
    channel's members as last recorded; `show_dialog` fetches them after."""

    def build() -> tuple[int, dict[str, Any]]:
        with deps.db.read() as s:
            plan = access.plan_in_channel(s, actor, channel)
            if plan is None:
                raise services.NotFound("This channel has no action plan yet.")
            if isinstance(dialog, c.AddDialog):
                services.require_edit(plan, actor)
                return plan.id, task_form_view(s, actor, plan, None, "full", channel)
            if isinstance(dialog, c.Overview):
                services.require_edit(plan, actor)
                return plan.id, views.overview_modal(plan.id, collab_read.overview(plan))
            members = membership.recorded_members(s, actor.team_id, channel)[:MEMBERS_MAX]
            return plan.id, _people_view(s, actor, plan, members)

    return build()


def show_dialog(
    deps: Deps,
    client: WebClient,
    actor: Actor,
    channel: str,
    trigger_id: str,
    opened: tuple[int, dict[str, Any]],
    people: bool,
) -> None:
    """After the ack: views.open with the command's trigger_id (the command's own
    answer, not a message for the outbox; the trigger lasts 3 s, and nothing
    before it waits on Slack). The people modal is then brought up to date."""
    plan_id, view = opened
    shown = client.views_open(trigger_id=trigger_id, view=view)
    if people:
        view_id = str((shown.get("view") or {}).get("id") or "")
        _refresh_people(deps.db, client, actor, plan_id, channel, view_id)


def _refresh_people(
    db: Database, client: WebClient, actor: Actor, plan_id: int, channel: str, view_id: str
) -> None:
    """Who is in the channel now (conversations.members, also recorded for
    `storage.access`), contact details from users.info for people not looked up
    in a day, then the open modal is updated with them."""
    fetched = fetch_members(db, client, actor.team_id, channel)
    members = (fetched or [])[:MEMBERS_MAX]
    changed = fetched is not None
    with db.read() as s:
        plan = access.plan_for(s, actor, plan_id)
        seen = collab_read.contacts_refreshed(s, plan.id)
        ids_ = {r.user_id for r in collab_read.people(s, plan, members)}
    now = clock.now()

    def is_stale(at: datetime | None) -> bool:
        return at is None or now - clock.as_utc(at) > CONTACT_MAX_AGE

    stale = [uid for uid in sorted(ids_) if is_stale(seen.get(uid))][:LOOKUPS_PER_OPEN]
    for uid in stale:
        try:
            user: dict[str, Any] = client.users_info(user=uid)["user"]
        except SlackApiError:
            continue
        if user.get("is_bot") or user.get("deleted"):
            continue
        record_user(db, plan.team_id, user)
        profile = user.get("profile") or {}
        with db.write() as s:
            collab_services.record_contact(
                s,
                access.plan_for(s, actor, plan_id),
                uid,
                title=str(profile.get("title") or ""),
                email=str(profile.get("email") or ""),
                phone=str(profile.get("phone") or ""),
            )
        changed = True
    if changed and view_id:
        with db.read() as s:
            view = _people_view(s, actor, access.plan_for(s, actor, plan_id), members)
        try:
            client.views_update(view_id=view_id, view=view)
        except SlackApiError as e:  # closed meanwhile: nothing to update
            log.info("people view %s not updated: %s", view_id, e.response.get("error"))


# --- listeners -----------------------------------------------------------------


def _plan_button_view(
    db: Database, actor: Actor, action_id: str, plan_id: int, number: int, channel: str
) -> dict[str, Any]:
    with db.read() as s:
        plan = access.plan_for(s, actor, plan_id, channel)
        if action_id == ids.PLAN_PAGE:
            return full_plan(s, actor, plan, number)
        if action_id == ids.PLAN_FULL:
            return full_plan(s, actor, plan)
        if action_id == ids.PLAN_SUMMARY:  # a buyer's summary holds no internal task
            return summary_modal(facts_for(s, plan.id, actor.side), today_in(plan.tz))
        services.require_edit(plan, actor)
        if action_id == ids.PLAN_ADD_TASK:
            return task_form_view(s, actor, plan, None, "full", channel)
        m = (
            lookup.find_milestone_by_id(s, plan, number)
            if action_id == ids.MILESTONE_EDIT
            else None
        )
        return views.milestone_modal(
            plan.id,
            milestone_id=m.id if m else None,
            title=m.title if m else "",
            due=m.due_date if m else None,
            status=m.manual_status if m else None,
        )


def _task_menu_view(
    db: Database, actor: Actor, verb: str, plan_id: int, task_id: int, channel: str
) -> dict[str, Any]:
    with db.read() as s:
        plan = access.plan_for(s, actor, plan_id, channel)
        if verb != "comment":
            task = _editable_task(s, actor, plan, task_id)
            return task_form_view(s, actor, plan, task, verb if verb != "edit" else "full")
        task = lookup.find_task_by_id(s, plan, task_id, actor.side)
        reason = can_comment(actor.side, task.internal)
        if reason:
            raise services.NotFound(reason)
        milestone = lookup.find_milestone_by_id(s, plan, task.milestone_id)
        return views.comment_modal(
            plan.id,
            task_view(task, milestone.title, {}),
            today_in(plan.tz),
            links=collab_read.links_by_task(s, plan.id, [task.id]).get(task.id, []),
            recent=collab_read.recent_comments(s, task.id),
            channel=channel,
        )


def register(app: App, deps: Deps) -> None:
    @app.action(ids.PLAN_BUTTON_RE)
    def plan_button(
        ack: Ack,
        body: dict[str, Any],
        action: dict[str, Any],
        context: BoltContext,
        client: WebClient,
    ) -> None:
        ack()
        deps.later(lambda: _plan_button(body, action, context, client))

    def _plan_button(
        body: dict[str, Any],
        action: dict[str, Any],
        context: BoltContext,
        client: WebClient,
    ) -> None:
        actor, _tz = deps.actor(context, client, body.get("user"))
        action_id = action["action_id"]
        plan_part, _, rest = str(action.get("value") or "").partition(":")
        channel = channel_of(body)
        try:
            plan_id, number = ids.parse_int(plan_part), ids.parse_int(rest or "0", low=0)
            if plan_id is None or number is None:
                raise services.NotFound("That button is no longer valid.")
            pid, num = plan_id, number
            view = deps.as_member(
                client,
                lambda: _plan_button_view(deps.db, actor, action_id, pid, num, channel),
            )
        except services.DomainError as e:
            _refuse(client, body, actor, e.message)
            return
        if action_id == ids.PLAN_PAGE and _in_modal(body):
            current = body["view"]
            try:
                client.views_update(view_id=current["id"], hash=current.get("hash"), view=view)
            except SlackApiError as e:
                if e.response.get("error") != "hash_conflict":
                    raise
                # A second click on the same page: the view moved on already.
                log.info("plan page %s not updated: hash_conflict", current["id"])
        else:
            _show(client, body, view)

    @app.action(ids.TASK_MENU)
    def task_menu(
        ack: Ack,
        body: dict[str, Any],
        action: dict[str, Any],
        context: BoltContext,
        client: WebClient,
    ) -> None:
        ack()
        deps.later(lambda: _task_menu(body, action, context, client))

    def _task_menu(
        body: dict[str, Any],
        action: dict[str, Any],
        context: BoltContext,
        client: WebClient,
    ) -> None:
        actor, _tz = deps.actor(context, client, body.get("user"))
        channel = channel_of(body)
        parsed = ids.parse_menu_value(str((action.get("selected_option") or {}).get("value") or ""))
        try:
            if parsed is None:
                raise services.NotFound("That menu is no longer valid.")
            verb, plan_id, task_id = parsed
            view = deps.as_member(
                client, lambda: _task_menu_view(deps.db, actor, verb, plan_id, task_id, channel)
            )
        except services.DomainError as e:
            _refuse(client, body, actor, e.message)
            return
        _show(client, body, view)

    @app.view(ids.VIEW_SUBMIT_RE)
    def submitted(
        ack: Ack,
        body: dict[str, Any],
        view: dict[str, Any],
        context: BoltContext,
        client: WebClient,
    ) -> None:
        # The answer (errors, an updated view) is the ack itself, so everything
        # before it comes from the database: the side from the payload and the
        # cache, the members as recorded. What Slack must tell us waits.
        known = deps.actor_now(context, body.get("user"))
        actor = known.actor
        installed = view.get("app_installed_team_id")
        meta = views.Meta.load(str(view.get("private_metadata") or ""))
        values: dict[str, Any] = (view.get("state") or {}).get("values") or {}
        blocks: list[dict[str, Any]] = view.get("blocks") or []
        kind = str(view.get("callback_id") or "")
        try:
            if meta is None or (installed and installed != actor.team_id):
                raise services.NotFound("That plan isn't in this workspace.")
            form = meta  # checked above; a name mypy keeps narrowed in the closure
            if kind == ids.VIEW_TASK:
                response = _submit_task(deps.db, actor, form, values)
            elif kind == ids.VIEW_COMMENT:
                response = _submit_comment(deps.db, actor, form, values)
            elif kind == ids.VIEW_MILESTONE:
                response = _submit_milestone(deps.db, actor, form, values)
            elif kind == ids.VIEW_OVERVIEW:
                response = _submit_overview(deps.db, actor, form, values)
            else:
                response = _submit_person(deps.db, actor, form, values)
        except access.MembersUnknown as e:
            # Who is in the channel is for Slack to say: asked after this answer.
            members_of = (e.team_id, e.channel_id)
            deps.later(lambda: _fetch_members(deps, members_of))
            error = services.DomainError(CHECKING_MEMBERS)
            ack(response_action="errors", errors=views.errors_for(error, blocks))
            return
        except services.DomainError as e:
            if known.unsure and isinstance(e, (services.Forbidden, services.NotFound)):
                e = type(e)(f"{e.message} {CHECKING_WHO}")  # refused maybe as a buyer only
            ack(response_action="errors", errors=views.errors_for(e, blocks))
            return
        if isinstance(response, dict):  # field errors: nothing was saved
            ack(response_action="errors", errors=response)
            return
        plan_id, update = response
        if update is not None:
            ack(response_action="update", view=update)
        else:
            ack()
        deps.later(deps.refresher.wake)  # the change queued its card's refresh
        previous = view.get("previous_view_id")
        if previous:  # saved from a form stacked on the full plan: show it current
            deps.later(lambda: _refresh_full_plan(deps.db, client, actor, plan_id, str(previous)))


# Said when a submission is refused only because Slack must tell us something first.
CHECKING_MEMBERS = "Checking who is in the channel — try again in a moment."


def _fetch_members(deps: Deps, members_of: tuple[str, str]) -> None:
    client = deps.workspaces.client_for(members_of[0])
    if client is not None:
        fetch_members(deps.db, client, *members_of)


def _refresh_full_plan(
    db: Database, client: WebClient, actor: Actor, plan_id: int, view_id: str
) -> None:
    with db.read() as s:
        view = full_plan(s, actor, access.plan_for(s, actor, plan_id))
    try:
        client.views_update(view_id=view_id, view=view)
    except SlackApiError as e:
        log.info("full plan view %s not updated: %s", view_id, e.response.get("error"))


# A submission's outcome: field errors, or the plan it changed and an optional
# view to replace the modal with.
Outcome = dict[str, str] | tuple[int, dict[str, Any] | None]


def _submit_task(db: Database, actor: Actor, meta: views.Meta, values: dict[str, Any]) -> Outcome:
    form = views.read_task_form(values)
    if isinstance(form, dict):
        return form
    with db.write() as s:
        plan = access.plan_for(s, actor, meta.plan)
        task = None
        if meta.task is not None:
            task = s.get(Task, meta.task)
            if task is None:
                raise services.NotFound("That task isn't part of this plan.")
        collab_services.save_task(s, actor, plan, task, form)
        return plan.id, None


def _submit_comment(
    db: Database, actor: Actor, meta: views.Meta, values: dict[str, Any]
) -> Outcome:
    form = views.read_comment_form(values)
    if isinstance(form, dict):
        return form
    if meta.task is None:
        raise services.NotFound("That task isn't part of this plan.")
    with db.write() as s:
        plan = access.plan_for(s, actor, meta.plan)
        task = lookup.find_task_by_id(s, plan, meta.task, actor.side)
        comment = collab_services.add_comment(s, actor, plan, task, form.body, form.link)
        if not task.internal:  # the channel is the buyer's too: an internal one is stored only
            milestone = lookup.find_milestone_by_id(s, plan, task.milestone_id)
            tv = task_view(task, milestone.title, {})
            text, blocks = views.comment_post(tv, actor.user_id, actor.side, form.body, form.link)
            channel_posts.comment_in_thread(s, plan, comment.id, text, blocks)
        return plan.id, None


def _submit_milestone(
    db: Database, actor: Actor, meta: views.Meta, values: dict[str, Any]
) -> Outcome:
    form = views.read_milestone_form(values)
    if isinstance(form, dict):
        return form
    with db.write() as s:
        plan = access.plan_for(s, actor, meta.plan)
        milestone = (
            lookup.find_milestone_by_id(s, plan, meta.milestone)
            if meta.milestone is not None
            else None
        )
        collab_services.save_milestone(s, actor, plan, milestone, form.title, form.due, form.status)
        return plan.id, None


def _submit_overview(
    db: Database, actor: Actor, meta: views.Meta, values: dict[str, Any]
) -> Outcome:
    """Save the overview; a new go-live date moves the relative task dates and the
    channel gets one message saying what moved, as with `/map golive`."""
    form = views.read_overview_form(values)
    if isinstance(form, dict):
        return form
    with db.write() as s:
        plan = access.plan_for(s, actor, meta.plan)
        before, today = plan.target_date, today_in(plan.tz)
        moves = (
            template_store.preview_target(s, plan, form.target, today).moves
            if form.target is not None and form.target != before
            else []
        )
        collab_services.set_overview(
            s, actor, plan, why=form.why, goals=form.goals, success=form.success, target=form.target
        )
        if form.target is not None and form.target != before:
            # Keeps to what buyers see; an outbox row, written with the change.
            summary = moved_summary(moves, form.target, actor.user_id, today)
            channel_posts.announce(s, plan, summary)
        return plan.id, None


def _submit_person(db: Database, actor: Actor, meta: views.Meta, values: dict[str, Any]) -> Outcome:
    form = views.read_person_form(values)
    if isinstance(form, dict):
        return form
    with db.write() as s:
        plan = access.plan_for(s, actor, meta.plan)
        collab_services.set_person(s, actor, plan, form.user_id, role=form.role, side=form.side)
    identity.forget(db, actor.team_id, form.user_id)  # the new side applies at once here
    with db.read() as s:
        plan = access.plan_for(s, actor, meta.plan)
        # The modal stays open, showing the change (members as last looked up).
        return plan.id, _people_view(s, actor, plan, [])


__all__ = ["dialog_view", "full_plan", "register", "show_dialog", "task_form_view"]
