"""Drafts: call notes, the plan proposed from them, and applying what the rep kept.

Only the seller team drafts; a draft is its author's alone (another rep, a buyer,
a crafted submission naming someone else's draft finds nothing); it is applied
once. Applying creates the channel's plan or adds to the one there, leaving out
every kept task whose title is already in it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from commands.dates import day_first_in
from commands.drafting import validate
from commands.drafting.model import NOTES_MAX, DraftContext, DraftTask, Known, Proposal, Side
from commands.drafting.score import similarity, words
from storage import access, clock, services
from storage.models import ChannelMember, Draft, Milestone, Person, Plan, Stakeholder, Task
from storage.rules import Actor, PersonFacts, person_side

SELLERS_ONLY = "Only the seller team can draft a plan."
GONE = "That draft is gone (already used, or not yours). Start again with `/map draft`."
DUPLICATE_AT = 0.8  # words in common with a task already in the plan that make it the same
CHANNEL_ID = re.compile(r"[CG][A-Z0-9]{2,20}")  # a channel (public or private) to plan in
# Call notes are the customer's words: a draft is kept only while its review may
# still be open (a modal lives as long as the rep leaves it open; a week is ample).
KEEP_FOR = timedelta(days=7)
KNOWN_MAX = 500  # people read as the notes' cast: a channel's members, far above a deal's


@dataclass(frozen=True)
class Choice:
    """What the rep made of one proposed task in the review."""

    keep: bool
    side: Side
    assignee_id: str | None
    due: date | None


@dataclass(frozen=True)
class Applied:
    plan_id: int
    created_plan: bool
    numbers: list[int] = field(default_factory=list)  # the tasks added, by #number
    already: list[str] = field(default_factory=list)  # kept, but already in the plan
    notes: list[str] = field(default_factory=list)


def _require_seller(actor: Actor) -> None:
    if actor.side != "seller":
        raise services.Forbidden(SELLERS_ONLY)


def check_channel(s: Session, actor: Actor, channel: str) -> Plan | None:
    """The channel's plan a draft would go into (None: a new one), if `actor` may draft."""
    _require_seller(actor)
    if not CHANNEL_ID.fullmatch(channel):
        raise services.Invalid("Draft from a deal channel.")
    plan = access.plan_in_channel(s, actor, channel)
    if plan is not None:
        services.require_edit(plan, actor)
    return plan


def context(s: Session, actor: Actor, channel: str, call_date: date) -> DraftContext:
    """Whom the notes may name: the plan's stakeholders and the channel's members we
    know, each on their side; dates read as the plan's country writes them."""
    plan = access.plan_in_channel(s, actor, channel)
    members = select(ChannelMember.user_id).where(
        ChannelMember.team_id == actor.team_id, ChannelMember.channel_id == channel
    )
    who = [Person.user_id.in_(members)]
    if plan is not None:
        who.append(
            Person.user_id.in_(select(Stakeholder.user_id).where(Stakeholder.plan_id == plan.id))
        )
    rows = s.execute(
        select(
            Person.user_id, Person.name, Person.home_team_id, Person.is_guest, Person.side_override
        )
        .where(Person.team_id == actor.team_id, or_(*who), Person.name != "")
        .order_by(Person.user_id)
        .limit(KNOWN_MAX)
    ).all()
    people = tuple(
        Known(uid, name, person_side(actor.team_id, PersonFacts(home, bool(guest), override)))
        for uid, name, home, guest, override in rows
    )
    return DraftContext(
        call_date=call_date,
        day_first=day_first_in(plan.country if plan is not None else None),
        people=people,
    )


def start(
    s: Session,
    actor: Actor,
    channel: str,
    notes: str,
    call_date: date,
    proposal: Proposal | None,
    view_id: str | None = None,
) -> Draft:
    """Keep the notes (and the proposal, when it is ready already)."""
    check_channel(s, actor, channel)
    draft = Draft(
        team_id=actor.team_id,
        channel_id=channel,
        user_id=actor.user_id,
        notes=notes[:NOTES_MAX],
        call_date=call_date,
        proposal=validate.dumps(proposal) if proposal is not None else "",
        view_id=view_id,
        state="ready" if proposal is not None else "working",
        created_at=clock.now(),
    )
    s.add(draft)
    s.flush()
    return draft


def prune(s: Session, now: datetime) -> int:
    """Forget drafts older than KEEP_FOR, used or not (the tick calls this); how many."""
    result = s.execute(delete(Draft).where(Draft.created_at < now - KEEP_FOR))
    return int(getattr(result, "rowcount", 0) or 0)


def get(s: Session, actor: Actor, draft_id: int) -> Draft:
    """The actor's own draft, not yet applied."""
    _require_seller(actor)
    draft = s.get(Draft, draft_id)
    if (
        draft is None
        or draft.team_id != actor.team_id
        or draft.user_id != actor.user_id
        or draft.state == "applied"
    ):
        raise services.NotFound(GONE)
    return draft


def proposal_of(draft: Draft) -> Proposal | None:
    """What the draft holds; None while the extractor works."""
    return validate.loads(draft.proposal, draft.call_date) if draft.proposal else None


def set_proposal(s: Session, draft_id: int, proposal: Proposal) -> None:
    draft = s.get(Draft, draft_id, with_for_update=True)
    if draft is not None and draft.state == "working":
        draft.proposal = validate.dumps(proposal)
        draft.state = "ready"


def same_task(a: str, b: str) -> bool:
    """Two titles for one task: nearly the same words, or every word of the shorter
    (two at least) in the longer ("Send SOC 2 report" / "Send the SOC 2 report
    before the review")."""
    wa, wb = words(a), words(b)
    small = min(len(wa), len(wb))
    return similarity(a, b) >= DUPLICATE_AT or (small >= 2 and len(wa & wb) == small)


def already_in(s: Session, plan: Plan | None, tasks: tuple[DraftTask, ...]) -> dict[int, int]:
    """Proposed tasks (by index) a task of the plan already is: index → its #number."""
    if plan is None:
        return {}
    existing = s.execute(select(Task.number, Task.title).where(Task.plan_id == plan.id)).all()
    found: dict[int, int] = {}
    for i, t in enumerate(tasks):
        for number, title in existing:
            if same_task(t.title, title):
                found[i] = number
                break
    return found


def _milestone(s: Session, actor: Actor, plan: Plan, title: str) -> Milestone:
    """The plan's milestone of that name (any case), or a new one."""
    existing = list(s.scalars(select(Milestone).where(Milestone.plan_id == plan.id)))
    found = next((m for m in existing if m.title.casefold() == title.casefold()), None)
    return found or services.add_milestone(s, actor, plan, title)


def apply(
    s: Session,
    actor: Actor,
    draft: Draft,
    choices: dict[int, Choice],
    *,
    title: str,
    golive: date | None,
    tz: str,
) -> Applied:
    """Create what the rep kept (`choices` by task index; a task with no choice is
    not kept), in the channel's plan or a new one, in one transaction."""
    proposal = proposal_of(draft)
    if proposal is None:
        raise services.Invalid("The draft isn't ready yet.")
    plan = check_channel(s, actor, draft.channel_id)
    created = plan is None
    notes: list[str] = []
    if plan is None:
        plan = services.create_plan(
            s, actor, draft.channel_id, title or "Action plan", target_date=golive, tz=tz
        )
    elif golive is not None and plan.target_date is None:
        services.set_target_date(s, actor, plan, golive)
    elif golive is not None and golive != plan.target_date:
        notes.append("The plan's go-live stays as it was: `/map golive` moves it.")
    duplicates = already_in(s, plan, proposal.tasks)
    kept = [(i, t) for i, t in enumerate(proposal.tasks) if (c := choices.get(i)) and c.keep]
    services.require_room(s, plan, tasks=len(kept))
    applied = Applied(plan.id, created, notes=notes)
    for i, task in kept:
        if i in duplicates:
            applied.already.append(task.title)
            continue
        choice = choices[i]
        new = services.add_task(
            s,
            actor,
            plan,
            task.title,
            milestone=_milestone(s, actor, plan, task.milestone),
            owner_side=choice.side,
            assignee_id=choice.assignee_id,
            due=choice.due,
        )
        applied.numbers.append(new.number)
    draft.state = "applied"
    return applied
