"""Writers for working the plan from modals: task and milestone forms, comments,
links, the overview and the people on the deal.

Same conventions as `storage.services` (run inside the caller's write
transaction, check permission, change, log an activity row) and built on its
functions, so a form that changes five fields logs five activities — or, when
any check fails, raises and the caller's transaction saves none of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from storage import clock, services
from storage.limits import MAX_COMMENTS_PER_TASK, MAX_LINKS_PER_TASK
from storage.lookup import find_milestone_by_id
from storage.models import Comment, Milestone, Person, Plan, Stakeholder, Task, TaskLink
from storage.rules import (
    OWNER_SIDES,
    RISKS,
    STATUSES,
    Actor,
    can_comment,
    can_edit_task,
    can_place_people,
    visible_to,
)
from storage.services import Forbidden, Invalid, NotFound
from storage.workdays import shift

# Reuse the activity writer of storage.services: one definition of an activity row.
_log = services._log

MAX_COMMENT = 2000
MAX_NOTES = 3000
MAX_REASON = 500
MAX_OVERVIEW = 2000
MAX_ROLE = 100
MAX_LINK_LABEL = 200
MAX_URL = 2000
MAX_LINKS = MAX_LINKS_PER_TASK
MAX_BUSINESS_DAYS = 500
_URL = re.compile(r"^https?://[^\s<>|\"]+$", re.IGNORECASE)


class FieldInvalid(Invalid):
    """Bad input in one field of a form, so the modal can show it there."""

    def __init__(self, field: str, message: str, **parts: object) -> None:
        super().__init__(message, **parts)
        self.field = field


# --- what forms submit ---------------------------------------------------------


@dataclass(frozen=True)
class Due:
    """A fixed date, or N business days before the plan's go-live, or neither."""

    on: date | None = None
    business_days_before: int | None = None


@dataclass(frozen=True)
class LinkInput:
    url: str
    label: str = ""


@dataclass(frozen=True)
class TaskForm:
    """A task modal's values. `fields` names those the form carried: a focused
    modal (just the due date, say) leaves every other field as it is."""

    fields: frozenset[str]
    title: str = ""
    milestone_id: int | None = None
    owner_side: str = "mutual"
    assignee_id: str | None = None
    due: Due = field(default_factory=Due)
    internal: bool = False
    risk: str = "on_track"
    risk_reason: str = ""
    notes: str = ""
    links: tuple[LinkInput, ...] = ()
    remove: bool = False


TASK_FIELDS = frozenset(
    {
        "title",
        "milestone",
        "owner",
        "assignee",
        "due",
        "internal",
        "risk",
        "notes",
        "links",
        "remove",
    }
)


def clean_link(url: str, label: str = "") -> LinkInput:
    url = url.strip()
    if len(url) > MAX_URL or not _URL.match(url):
        raise FieldInvalid("links", "“{url}” isn't a web link (http:// or https://).", url=url[:80])
    label = " ".join(label.split())[:MAX_LINK_LABEL]
    return LinkInput(url=url, label=label)


def _limit(value: str, limit: int, field_name: str, what: str) -> str:
    value = value.strip()
    if len(value) > limit:
        raise FieldInvalid(
            field_name,
            "The {what} is {length} characters; the limit is {limit}.",
            what=what,
            length=len(value),
            limit=limit,
        )
    return value


# --- tasks ---------------------------------------------------------------------


def relative_days_before(task: Task) -> int | None:
    """The "N business days before go-live" a task follows, if it follows one."""
    if task.due_offset_days is None or task.due_pinned or not task.due_business:
        return None
    return -task.due_offset_days


def _require_task_edit(plan: Plan, actor: Actor, task: Task) -> None:
    reason = can_edit_task(actor.side, plan.buyers_can_edit, task.owner_side, task.internal)
    if reason:
        raise (NotFound if task.internal else Forbidden)(reason)


def _visible_task(s: Session, actor: Actor, plan: Plan, task: Task) -> None:
    if plan.team_id != actor.team_id:
        raise NotFound("That plan isn't in this workspace.")
    if task.plan_id != plan.id or not visible_to(actor.side, task.internal):
        raise NotFound("That task isn't part of this plan.")


def save_task(
    s: Session, actor: Actor, plan: Plan, task: Task | None, form: TaskForm
) -> Task | None:
    """Create (task None) or change a task from a modal. Returns the task, or None
    when the form removed it."""
    unknown = form.fields - TASK_FIELDS
    if unknown:
        raise Invalid("Unknown fields: {names}.", names=", ".join(sorted(unknown)))
    if "internal" in form.fields and form.internal and actor.side != "seller":
        # Checked before anything else: a buyer's crafted payload changes nothing.
        raise FieldInvalid("internal", "Only the seller team can make a task internal.")
    if "owner" in form.fields and form.owner_side not in OWNER_SIDES:
        raise FieldInvalid("owner", "Owner must be buyer, seller or mutual.")
    if "risk" in form.fields:
        _check_risk(form.risk, form.risk_reason)
    links = tuple(clean_link(link.url, link.label) for link in form.links)
    if len(links) > MAX_LINKS:
        raise FieldInvalid("links", f"At most {MAX_LINKS} links a task.")
    notes = _limit(form.notes, MAX_NOTES, "notes", "notes")
    milestone = (
        find_milestone_by_id(s, plan, form.milestone_id)
        if "milestone" in form.fields and form.milestone_id is not None
        else None
    )
    if task is None:
        _require_holder(s, actor, plan, form.internal, form.assignee_id)
        return _create_task(s, actor, plan, form, milestone, notes, links)
    _visible_task(s, actor, plan, task)
    _require_task_edit(plan, actor, task)
    if "remove" in form.fields and form.remove:
        services.remove_task(s, actor, plan, task)
        return None
    f = form.fields
    if f & {"internal", "assignee"}:
        # The task as the form leaves it: internal and held by a buyer is refused,
        # whichever of the two fields the form changes.
        _require_holder(
            s,
            actor,
            plan,
            form.internal if "internal" in f else task.internal,
            form.assignee_id if "assignee" in f else task.assignee_id,
        )
    if "title" in f and " ".join(form.title.split()) != task.title:
        services.rename_task(s, actor, plan, task, form.title)
    if milestone is not None:
        services.move_task(s, actor, plan, task, milestone)
    if "owner" in f and form.owner_side != task.owner_side:
        _log(s, plan, actor, "task.owner", task=task, before=task.owner_side, after=form.owner_side)
        task.owner_side = form.owner_side
    if "assignee" in f and form.assignee_id != task.assignee_id:
        services.assign_task(s, actor, plan, task, form.assignee_id)
    if "due" in f:
        set_due(s, actor, plan, task, form.due)
    if "internal" in f and form.internal != task.internal:
        _log(s, plan, actor, "task.internal", task=task, before=task.internal, after=form.internal)
        task.internal = form.internal
    if "risk" in f:
        set_risk(s, actor, plan, task, form.risk, form.risk_reason)
    if "notes" in f and notes != task.notes:
        _log(s, plan, actor, "task.notes", task=task, before=task.notes, after=notes)
        task.notes = notes
    if "links" in f:
        _replace_links(s, actor, plan, task, links)
    task.updated_at = clock.now()
    return task


def _require_holder(
    s: Session, actor: Actor, plan: Plan, internal: bool, assignee_id: str | None
) -> None:
    try:
        services.require_internal_holder(s, actor, plan, internal, assignee_id)
    except Forbidden as e:
        raise FieldInvalid("assignee", e.message) from None


def _check_due(due: Due) -> None:
    if due.on is not None and due.business_days_before is not None:
        raise FieldInvalid("due_offset", "Pick a date or a number of business days, not both.")
    n = due.business_days_before
    if n is not None and not 0 <= n <= MAX_BUSINESS_DAYS:
        raise FieldInvalid("due_offset", f"Between 0 and {MAX_BUSINESS_DAYS} business days.")


def _create_task(
    s: Session,
    actor: Actor,
    plan: Plan,
    form: TaskForm,
    milestone: Milestone | None,
    notes: str,
    links: tuple[LinkInput, ...],
) -> Task:
    _check_due(form.due)
    before = form.due.business_days_before
    task = services.add_task(
        s,
        actor,
        plan,
        form.title,
        milestone=milestone,
        owner_side=form.owner_side if "owner" in form.fields else "mutual",
        assignee_id=form.assignee_id,
        due=form.due.on,
        due_offset_days=-before if before is not None else None,
        due_business=before is not None,
        internal=form.internal,
        notes=notes,
    )
    if "risk" in form.fields and form.risk != "on_track":
        set_risk(s, actor, plan, task, form.risk, form.risk_reason)
    if links:
        _replace_links(s, actor, plan, task, links)
    return task


def set_due(s: Session, actor: Actor, plan: Plan, task: Task, due: Due) -> None:
    """A fixed date (pinned), N business days before go-live (follows it), or none."""
    services.require_edit(plan, actor)
    _check_due(due)
    n = due.business_days_before
    if n is not None:
        if relative_days_before(task) == n:
            return
        new_due = shift(plan.target_date, -n, True, plan.country) if plan.target_date else None
        _log(
            s,
            plan,
            actor,
            "task.due",
            task=task,
            before=task.due_date.isoformat() if task.due_date else None,
            after=f"{n} business days before go-live",
        )
        task.due_offset_days = -n
        task.due_business = True
        task.due_pinned = False
        task.due_date = new_due
        task.updated_at = clock.now()
        return
    if due.on == task.due_date and relative_days_before(task) is None:
        return
    # A fixed date, or none: the task stops following go-live.
    task.due_offset_days = None
    task.due_business = False
    services.set_task_due(s, actor, plan, task, due.on)


def _check_risk(risk: str, reason: str) -> None:
    if risk not in RISKS:
        raise FieldInvalid("risk", "Risk must be on track, at risk or blocked.")
    if risk != "on_track" and not reason.strip():
        raise FieldInvalid("risk_reason", "Say why it's at risk or blocked.")
    _limit(reason, MAX_REASON, "risk_reason", "reason")


def set_risk(s: Session, actor: Actor, plan: Plan, task: Task, risk: str, reason: str) -> None:
    _visible_task(s, actor, plan, task)
    _require_task_edit(plan, actor, task)
    _check_risk(risk, reason)
    reason = "" if risk == "on_track" else reason.strip()
    if (risk, reason) == (task.risk, task.risk_reason):
        return
    after = risk if not reason else f"{risk}: {reason}"
    _log(s, plan, actor, "task.risk", task=task, before=task.risk, after=after)
    task.risk = risk
    task.risk_reason = reason
    task.updated_at = clock.now()


def _replace_links(
    s: Session, actor: Actor, plan: Plan, task: Task, links: tuple[LinkInput, ...]
) -> None:
    current = [(k.url, k.label) for k in task_links(s, task.id)]
    wanted = [(k.url, k.label) for k in links]
    if current == wanted:
        return
    s.execute(delete(TaskLink).where(TaskLink.task_id == task.id))
    for url, label in wanted:
        _add_link(s, actor, plan, task, LinkInput(url, label), log=False)
    _log(
        s,
        plan,
        actor,
        "task.links",
        task=task,
        before=" ".join(u for u, _ in current) or None,
        after=" ".join(u for u, _ in wanted) or None,
    )


def _add_link(
    s: Session, actor: Actor, plan: Plan, task: Task, link: LinkInput, *, log: bool = True
) -> TaskLink:
    row = TaskLink(
        plan_id=plan.id,
        task_id=task.id,
        url=link.url,
        label=link.label,
        added_by=actor.user_id,
        added_at=clock.now(),
    )
    s.add(row)
    if log:
        _log(s, plan, actor, "task.link", task=task, after=link.url)
    return row


def task_links(s: Session, task_id: int) -> list[TaskLink]:
    return list(
        s.scalars(select(TaskLink).where(TaskLink.task_id == task_id).order_by(TaskLink.id))
    )


# --- comments ------------------------------------------------------------------


def add_comment(
    s: Session, actor: Actor, plan: Plan, task: Task, body: str, link: LinkInput | None = None
) -> Comment:
    """Anyone may comment on a task they can see, and attach a link while at it."""
    _visible_task(s, actor, plan, task)
    reason = can_comment(actor.side, task.internal)
    if reason:
        raise NotFound(reason)
    body = _limit(body, MAX_COMMENT, "comment", "comment")
    services.refuse_surrogates(body, "comment")
    have = s.scalar(select(func.count()).where(Comment.task_id == task.id)) or 0
    if have >= MAX_COMMENTS_PER_TASK:
        raise FieldInvalid(
            "comment", f"A task holds at most {MAX_COMMENTS_PER_TASK} comments; this one is full."
        )
    if not body and link is None:
        raise FieldInvalid("comment", "Write a comment or attach a link.")
    if link is not None:
        link = clean_link(link.url, link.label)
        if len(task_links(s, task.id)) >= MAX_LINKS:
            raise FieldInvalid("links", f"This task already has {MAX_LINKS} links.")
        _add_link(s, actor, plan, task, link)
    comment = Comment(
        plan_id=plan.id,
        task_id=task.id,
        author_id=actor.user_id,
        author_side=actor.side,
        body=body,
        created_at=clock.now(),
        posted_ts=None,
    )
    s.add(comment)
    s.flush()
    _log(s, plan, actor, "task.comment", task=task, after=body[:200] or None)
    return comment


def set_comment_posted(s: Session, comment_id: int, ts: str) -> None:
    """Remember the thread reply that carries a comment (a system write)."""
    comment = s.get(Comment, comment_id)
    if comment is not None:
        comment.posted_ts = ts


# --- milestones ----------------------------------------------------------------


def save_milestone(
    s: Session,
    actor: Actor,
    plan: Plan,
    milestone: Milestone | None,
    title: str,
    due: date | None,
    status: str | None,
) -> Milestone:
    """Create or change a milestone from its modal (status None = follow the tasks)."""
    services.require_edit(plan, actor)
    if status is not None and status not in STATUSES:
        raise FieldInvalid("ms_status", "Unknown status.")
    if milestone is None:
        milestone = services.add_milestone(s, actor, plan, title, due=due)
    else:
        if milestone.plan_id != plan.id:
            raise NotFound("That milestone isn't part of this plan.")
        if " ".join(title.split()) != milestone.title:
            services.rename_milestone(s, actor, plan, milestone, title)
        if due != milestone.due_date:
            _log(
                s,
                plan,
                actor,
                "milestone.due",
                milestone=milestone,
                before=milestone.due_date.isoformat() if milestone.due_date else None,
                after=due.isoformat() if due else None,
            )
            milestone.due_date = due
    if status != milestone.manual_status:
        services.set_milestone_status(s, actor, plan, milestone, status)
    return milestone


# --- overview and people -------------------------------------------------------


def set_overview(
    s: Session,
    actor: Actor,
    plan: Plan,
    *,
    why: str,
    goals: str,
    success: str,
    target: date | None,
) -> None:
    services.require_edit(plan, actor)
    for name, value in (("why", why), ("goals", goals), ("success", success)):
        value = _limit(value, MAX_OVERVIEW, name, name)
        attr = f"overview_{name}"
        if value != getattr(plan, attr):
            _log(s, plan, actor, f"plan.{name}", before=getattr(plan, attr) or None, after=value)
            setattr(plan, attr, value)
    if target != plan.target_date:
        services.set_target_date(s, actor, plan, target)


def _stakeholder(s: Session, plan: Plan, user_id: str) -> Stakeholder:
    row = s.scalar(
        select(Stakeholder).where(Stakeholder.plan_id == plan.id, Stakeholder.user_id == user_id)
    )
    if row is None:
        row = Stakeholder(plan_id=plan.id, user_id=user_id, role="", title="", email="", phone="")
        s.add(row)
    return row


def set_person(
    s: Session, actor: Actor, plan: Plan, user_id: str, *, role: str, side: str | None
) -> None:
    """Put someone on the deal with a role, and on a side by hand (None: automatic)."""
    if plan.team_id != actor.team_id:
        raise NotFound("That plan isn't in this workspace.")
    reason = can_place_people(actor.side)
    if reason:
        raise Forbidden(reason)
    if not user_id:
        raise FieldInvalid("person", "Pick a person.")
    if side not in (None, "buyer", "seller"):
        raise FieldInvalid("side", "Side must be buyer, seller or automatic.")
    role = " ".join(_limit(role, MAX_ROLE, "role", "role").split())
    row = _stakeholder(s, plan, user_id)
    if role != row.role:
        _log(
            s,
            plan,
            actor,
            "person.role",
            before=f"{user_id} {row.role}".strip(),
            after=f"{user_id} {role}".strip(),
        )
        row.role = role
    person = s.scalar(
        select(Person).where(Person.team_id == plan.team_id, Person.user_id == user_id)
    )
    if person is None:
        person = Person(team_id=plan.team_id, user_id=user_id, name="", is_guest=False)
        s.add(person)
    if side != person.side_override:
        _log(
            s,
            plan,
            actor,
            "person.side",
            before=f"{user_id} {person.side_override or 'auto'}",
            after=f"{user_id} {side or 'auto'}",
        )
        person.side_override = side
    s.flush()


def record_contact(
    s: Session, plan: Plan, user_id: str, *, title: str, email: str, phone: str
) -> None:
    """What users.info says about someone on the deal (a system write: no activity)."""
    row = _stakeholder(s, plan, user_id)
    row.title = title[:200]
    row.email = email[:200]
    row.phone = phone[:64]
    row.refreshed_at = clock.now()
