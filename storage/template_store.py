"""Templates in the database: lay a plan out from one, keep a team's own, and
preview what moving the go-live date does. Writers follow storage.services'
conventions (permission check, activity row) and reuse its functions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage import clock, services
from storage.limits import MAX_TEMPLATE_TASKS
from storage.models import Milestone, Plan, Task, TeamTemplate
from storage.rules import Actor
from storage.templates import (
    NAME_RE,
    PlanTask,
    Template,
    builtin,
    builtin_names,
    from_plan,
    lay_out,
    parse_template,
    to_yaml,
)
from storage.workdays import shift


@dataclass(frozen=True)
class Laid:
    """What laying out a template did: tasks added, and those due in the past."""

    plan: Plan
    added: int
    past: list[tuple[int, str, date]]  # (#number, title, due) — flagged, not moved


@dataclass(frozen=True)
class Move:
    number: int
    title: str
    before: date | None
    after: date
    internal: bool


@dataclass(frozen=True)
class TargetPreview:
    moves: list[Move]
    past: list[Move]  # moves that would land before today
    pinned: int  # relative tasks a person pinned by hand: they stay put


# --- who may use templates ------------------------------------------------------

TEMPLATES_ARE_SELLERS = (
    "Templates are the seller team's playbooks: only the seller team can list, show, "
    "export, import, save, delete or lay them out."
)


def require_seller(actor: Actor) -> None:
    """Every template command is the seller's: a team template holds the seller's
    internal tasks, and a built-in one says how the seller works a deal. (A guest
    can run slash commands; a Slack Connect buyer can't, but is refused the same.)"""
    if actor.side != "seller":
        raise services.Forbidden(TEMPLATES_ARE_SELLERS)


# --- finding templates -----------------------------------------------------------


def find_template(s: Session, team_id: str, name: str) -> Template:
    """A team template of that name, else a built-in one."""
    key = name.strip().lower()
    row = s.scalar(
        select(TeamTemplate).where(TeamTemplate.team_id == team_id, TeamTemplate.name == key)
    )
    if row is not None:
        return parse_template(row.yaml_text, name=row.name)
    found = builtin(key) if NAME_RE.match(key) else None
    if found is None:
        names = ", ".join(n for n, _ in list_templates(s, team_id))
        raise services.NotFound(
            "There's no template “{name}”. Templates: {names}.", name=name, names=names
        )
    return found


def list_templates(s: Session, team_id: str) -> list[tuple[str, str]]:
    """(name, "built-in" or "team") for every template this team can use."""
    team = [
        (n, "team")
        for n in s.scalars(select(TeamTemplate.name).where(TeamTemplate.team_id == team_id))
    ]
    taken = {n for n, _ in team}
    return sorted(team) + [(n, "built-in") for n in builtin_names() if n not in taken]


# --- laying out ------------------------------------------------------------------


def apply_template(s: Session, actor: Actor, plan: Plan, template: Template, today: date) -> Laid:
    """Add the template's milestones and tasks to the plan (milestones of the same
    title are reused). Dates are worked back from the plan's target date; a date
    already in the past is flagged, not moved."""
    require_seller(actor)
    services.require_edit(plan, actor)
    existing = {
        m.title.casefold(): m
        for m in s.scalars(select(Milestone).where(Milestone.plan_id == plan.id))
    }
    new_milestones = {m.title.casefold() for m in template.milestones if m.tasks} - set(existing)
    # Checked up front, so the refusal names the whole template's milestones
    # (the tasks are checked by add_tasks; either way nothing is saved).
    services.require_room(s, plan, milestones=len(new_milestones))
    laid = lay_out(template, plan.target_date, plan.country)
    new: list[services.NewTask] = []
    for item in laid:
        milestone = existing.get(item.milestone.casefold())
        if milestone is None:
            milestone = services.add_milestone(s, actor, plan, item.milestone)
            existing[item.milestone.casefold()] = milestone
        new.append(
            services.NewTask(
                item.title,
                milestone,
                owner_side=item.owner,
                due=item.due,
                due_offset_days=item.offset_days,
                due_business=item.business,
                internal=item.internal,
            )
        )
    added = services.add_tasks(s, actor, plan, new)
    past = [
        (number, item.title, item.due)
        for (_, number), item in zip(added, laid, strict=True)
        if item.due is not None and item.due < today
    ]
    services.log_plan_event(s, actor, plan, "plan.template", after=template.name)
    return Laid(plan, len(laid), past)


def create_from_template(
    s: Session,
    actor: Actor,
    channel_id: str,
    title: str,
    template_name: str,
    target: date | None,
    tz: str,
    today: date,
) -> Laid:
    template = find_template(s, actor.team_id, template_name)
    plan = services.create_plan(s, actor, channel_id, title, target_date=target, tz=tz)
    return apply_template(s, actor, plan, template, today)


# --- a team's own templates ----------------------------------------------------------


def plan_as_template(s: Session, plan: Plan, name: str) -> Template:
    """The plan's structure as a template (internal tasks kept, marked: team
    templates are seller-only). Refused, before reading it, past a template's caps."""
    count = s.scalar(select(func.count()).where(Task.plan_id == plan.id)) or 0
    if count > MAX_TEMPLATE_TASKS:
        raise services.Invalid(
            "This plan has {count} tasks; a template holds at most {cap}.",
            count=count,
            cap=MAX_TEMPLATE_TASKS,
        )
    milestones = list(
        s.scalars(
            select(Milestone).where(Milestone.plan_id == plan.id).order_by(Milestone.position)
        )
    )
    tasks = list(
        s.scalars(select(Task).where(Task.plan_id == plan.id).order_by(Task.position, Task.number))
    )
    by_milestone = {
        m.id: [
            PlanTask(
                t.title,
                t.owner_side,
                t.internal,
                t.due_date,
                t.due_offset_days if not t.due_pinned else None,
                t.due_business,
            )
            for t in tasks
            if t.milestone_id == m.id
        ]
        for m in milestones
    }
    return from_plan(
        name,
        plan.title,
        plan.target_date,
        [(m.title, by_milestone[m.id]) for m in milestones],
        plan.country,
    )


def save_template(s: Session, actor: Actor, name: str, yaml_text: str) -> Template:
    """Store a team template (replacing one of the same name); the YAML is
    validated first (bounded: storage.template_yaml), so a bad file stores nothing.
    Raises `TemplateError` with the problems in the person's own words, unescaped."""
    require_seller(actor)
    key = name.strip().lower()
    if not NAME_RE.match(key):
        raise services.Invalid(
            "A template name is lowercase letters, digits, - or _ (e.g. `emea-enterprise`)."
        )
    template = parse_template(yaml_text, name=key)
    row = s.scalar(
        select(TeamTemplate).where(TeamTemplate.team_id == actor.team_id, TeamTemplate.name == key)
    )
    if row is None:
        row = TeamTemplate(
            team_id=actor.team_id, name=key, created_by=actor.user_id, created_at=clock.now()
        )
        s.add(row)
    row.yaml_text = to_yaml(template)
    s.flush()
    return template


def delete_template(s: Session, actor: Actor, name: str) -> None:
    require_seller(actor)
    key = name.strip().lower()
    row = s.scalar(
        select(TeamTemplate).where(TeamTemplate.team_id == actor.team_id, TeamTemplate.name == key)
    )
    if row is None:
        raise services.NotFound(
            "Your team has no template “{name}” (built-in ones can't be deleted).", name=name
        )
    s.delete(row)


# --- moving the go-live date ---------------------------------------------------------


def preview_target(s: Session, plan: Plan, target: date, today: date) -> TargetPreview:
    """What `set_target_date` would do, without doing it."""
    relative = list(
        s.scalars(
            select(Task)
            .where(Task.plan_id == plan.id, Task.due_offset_days.is_not(None))
            .order_by(Task.number)
        )
    )
    moves = []
    for t in relative:
        if t.due_pinned or t.due_offset_days is None:
            continue
        new = shift(target, t.due_offset_days, t.due_business, plan.country)
        if new != t.due_date:
            moves.append(Move(t.number, t.title, t.due_date, new, t.internal))
    return TargetPreview(
        moves=moves,
        past=[m for m in moves if m.after < today],
        pinned=sum(1 for t in relative if t.due_pinned),
    )
