"""Working the plan from modals: the card's `+ Task`, `Full plan` and per-task menu,
`/map add` (no arguments), `/map overview`, `/map people`, and every submission.

Nothing in a payload is trusted: a button's value and a view's private_metadata
only name what to look up. Each open and each submission finds the plan through
`storage.access` (in the workspace the request was authorised for — for
`view_submission` that is `view.app_installed_team_id`, never `team.id` — and,
for a buyer, only while they are in its channel), the task in that plan, and
asks the rules whether the clicker's side may do it. A submission runs as one write
transaction: a refusal anywhere saves nothing and comes back in the modal.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session

from bot import identity, ids
from bot.deps import Deps, channel_of
from bot.identity import record_user, side_of_record
from bot.members import fetch_members
from bot.render import modals as views
from bot.render.summary import summary_modal
from commands import syntax as c
from commands.template_commands import moved_summary
from storage import (
    access,
    clock,
    collab_read,
    collab_services,
    lookup,
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

# Slack calls that need not hold up the HTTP answer (thread replies, contact
# lookups). Daemon-free executor: pending work finishes before the process exits.
_background = ThreadPoolExecutor(max_workers=4, thread_name_prefix="modals")


def _later(fn: Callable[[], None]) -> None:
    def run() -> None:
        try:
            fn()
        except Exception:  # keep the worker; the traceback goes to the log
            log.exception("background modal work failed")

    _background.submit(run)


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


def open_dialog(
    deps: Deps,
    client: WebClient,
    actor: Actor,
    channel: str,
    trigger_id: str,
    dialog: c.AddDialog | c.Overview | c.People,
) -> str | None:
    """Open the modal a `/map` command asked for; a refusal comes back as text."""
    members = (
        _channel_members(deps.db, client, actor.team_id, channel)
        if isinstance(dialog, c.People)
        else []
    )

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
            return plan.id, _people_view(s, actor, plan, members)

    try:
        plan_id, view = deps.as_member(client, build)
    except services.DomainError as e:
        return f":no_entry: {e.message}"
    opened = client.views_open(trigger_id=trigger_id, view=view)
    if isinstance(dialog, c.People):
        view_id = str((opened.get("view") or {}).get("id") or "")
        _later(lambda: _refresh_people(deps.db, client, actor, plan_id, members, view_id))
    return None


def _channel_members(db: Database, client: WebClient, team_id: str, channel: str) -> list[str]:
    """Who is in the channel now (also recorded for `storage.access`), at most
    MEMBERS_MAX of them for the people modal; none if Slack can't say."""
    return (fetch_members(db, client, team_id, channel) or [])[:MEMBERS_MAX]


def _refresh_people(
    db: Database, client: WebClient, actor: Actor, plan_id: int, members: list[str], view_id: str
) -> None:
    """Contact details from users.info for people not looked up in a day, then
    the open modal is updated with them."""
    with db.read() as s:
        plan = access.plan_for(s, actor, plan_id)
        seen = collab_read.contacts_refreshed(s, plan.id)
        ids_ = {r.user_id for r in collab_read.people(s, plan, members)}
    now = clock.now()

    def is_stale(at: datetime | None) -> bool:
        return at is None or now - clock.as_utc(at) > CONTACT_MAX_AGE

    stale = [uid for uid in sorted(ids_) if is_stale(seen.get(uid))][:LOOKUPS_PER_OPEN]
    changed = False
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
            client.views_update(view_id=current["id"], hash=current.get("hash"), view=view)
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
        actor, _tz = deps.actor(context, client, body.get("user"))
        installed = view.get("app_installed_team_id")
        meta = views.Meta.load(str(view.get("private_metadata") or ""))
        values: dict[str, Any] = (view.get("state") or {}).get("values") or {}
        blocks: list[dict[str, Any]] = view.get("blocks") or []
        kind = str(view.get("callback_id") or "")
        after: Callable[[], None] | None = None
        try:
            if meta is None or (installed and installed != actor.team_id):
                raise services.NotFound("That plan isn't in this workspace.")
            form = meta  # checked above; a name mypy keeps narrowed in the closure

            def submit() -> tuple[Outcome, Callable[[], None] | None]:
                if kind == ids.VIEW_TASK:
                    return _submit_task(deps.db, actor, form, values), None
                if kind == ids.VIEW_COMMENT:
                    return _submit_comment(deps.db, client, actor, form, values)
                if kind == ids.VIEW_MILESTONE:
                    return _submit_milestone(deps.db, actor, form, values), None
                if kind == ids.VIEW_OVERVIEW:
                    return _submit_overview(deps.db, client, actor, form, values)
                return _submit_person(deps.db, actor, form, values), None

            response, after = deps.as_member(client, submit)
        except services.DomainError as e:
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
        deps.publisher.refresh(actor.team_id, plan_id)
        previous = view.get("previous_view_id")
        if previous:  # saved from a form stacked on the full plan: show it current
            _later(lambda: _refresh_full_plan(deps.db, client, actor, plan_id, str(previous)))
        if after is not None:
            _later(after)


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
    db: Database, client: WebClient, actor: Actor, meta: views.Meta, values: dict[str, Any]
) -> tuple[Outcome, Callable[[], None] | None]:
    form = views.read_comment_form(values)
    if isinstance(form, dict):
        return form, None
    if meta.task is None:
        raise services.NotFound("That task isn't part of this plan.")
    with db.write() as s:
        plan = access.plan_for(s, actor, meta.plan)
        task = lookup.find_task_by_id(s, plan, meta.task, actor.side)
        comment = collab_services.add_comment(s, actor, plan, task, form.body, form.link)
        milestone = lookup.find_milestone_by_id(s, plan, task.milestone_id)
        tv = task_view(task, milestone.title, {})
        comment_id, internal = comment.id, task.internal
        channel, thread = plan.card_channel or plan.channel_id, plan.card_ts
        plan_id = plan.id
    if internal:
        return (plan_id, None), None  # the channel is the buyer's too: stored, not posted

    def post() -> None:
        text, blocks = views.comment_post(tv, actor.user_id, actor.side, form.body, form.link)
        posted = client.chat_postMessage(
            channel=channel, thread_ts=thread, text=text, blocks=blocks
        )
        with db.write() as s:
            collab_services.set_comment_posted(s, comment_id, str(posted["ts"]))

    return (plan_id, None), post


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
    db: Database, client: WebClient, actor: Actor, meta: views.Meta, values: dict[str, Any]
) -> tuple[Outcome, Callable[[], None] | None]:
    """Save the overview; a new go-live date moves the relative task dates and the
    channel gets one message saying what moved, as with `/map golive`."""
    form = views.read_overview_form(values)
    if isinstance(form, dict):
        return form, None
    with db.write() as s:
        plan = access.plan_for(s, actor, meta.plan)
        before, channel, today = plan.target_date, plan.channel_id, today_in(plan.tz)
        moves = (
            template_store.preview_target(s, plan, form.target, today).moves
            if form.target is not None and form.target != before
            else []
        )
        collab_services.set_overview(
            s, actor, plan, why=form.why, goals=form.goals, success=form.success, target=form.target
        )
        plan_id = plan.id
    if form.target is None or form.target == before:
        return (plan_id, None), None
    text = moved_summary(moves, form.target, actor.user_id, today)  # keeps to what buyers see

    def announce() -> None:
        client.chat_postMessage(channel=channel, text=text)

    return (plan_id, None), announce


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


__all__ = ["full_plan", "open_dialog", "register", "task_form_view"]
