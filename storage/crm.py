"""CRM connections and links: the only code that writes them.

A workspace connects one CRM (`connect`, the token sealed by storage.secret_box);
a plan is linked to one deal of it (`link`). Every change to a linked plan
queues one coalesced push (`mark_push`, called from the activity writer in the
change's own transaction); the sender records what it pushed (`pushed`) so an
unchanged plan is not pushed again.
"""

from __future__ import annotations

import json
from datetime import date, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from storage import clock, secret_box
from storage.models import CrmConnection, CrmLink, Plan
from storage.rules import Actor
from storage.services import Forbidden, Invalid, NotFound, log_plan_event

SELLERS_ONLY = "Only the seller team can set up the CRM."


def target(plan_id: int) -> tuple[str, str]:
    return f"plan:{plan_id}", "crm"


def mark_push(s: Session, plan: Plan) -> None:
    """Queue this plan's push (or fold into the one queued): one statement."""
    _mark(s, plan.team_id, plan.id)


def _mark(s: Session, team_id: str, plan_id: int) -> None:
    from reminders.delivery import refreshes  # the outbox row; imported late (cycle)

    refreshes.mark(s, refreshes.CRM, team_id, target(plan_id), "", clock.wall())


def mark_pushes(s: Session, plan_ids: list[int]) -> None:
    """Queue the push of those of these plans that are linked (a change written
    without the activity writer: the health pass)."""
    linked = s.execute(
        select(Plan.id, Plan.team_id).where(Plan.id.in_(plan_ids), Plan.crm_linked.is_(True))
    ).all()
    for plan_id, team_id in linked:
        _mark(s, team_id, plan_id)


def require_seller(actor: Actor) -> None:
    if actor.side != "seller":
        raise Forbidden(SELLERS_ONLY)


def connection(s: Session, team_id: str) -> CrmConnection | None:
    return s.get(CrmConnection, team_id)


def connect(s: Session, actor: Actor, vendor: str, token: str, at: datetime) -> None:
    """Store (or replace) the workspace's CRM token, sealed; a broken connection
    is whole again, and every linked plan is pushed anew."""
    require_seller(actor)
    try:
        sealed = secret_box.seal(token)
    except secret_box.SecretKeyError as e:
        raise Invalid("{why} Ask whoever runs MAP bot to set it.", why=str(e)) from e
    row = s.get(CrmConnection, actor.team_id)
    if row is None:
        row = CrmConnection(team_id=actor.team_id, fields="{}", created_at=at)
        s.add(row)
    elif row.vendor != vendor:
        # Deal ids of one CRM mean nothing in the other.
        s.execute(update(Plan).where(Plan.team_id == actor.team_id).values(crm_linked=False))
        for link in s.scalars(select(CrmLink).where(CrmLink.team_id == actor.team_id)):
            s.delete(link)
        row.fields = "{}"
    row.vendor, row.sealed_token, row.added_by, row.broken = vendor, sealed, actor.user_id, None
    s.flush()
    for plan in s.scalars(select(Plan).where(Plan.team_id == actor.team_id, Plan.crm_linked)):
        mark_push(s, plan)


def token_of(row: CrmConnection) -> str:
    return secret_box.open_sealed(row.sealed_token)


def disconnect(s: Session, actor: Actor) -> bool:
    require_seller(actor)
    row = s.get(CrmConnection, actor.team_id)
    if row is None:
        return False
    s.execute(update(Plan).where(Plan.team_id == actor.team_id).values(crm_linked=False))
    for link in s.scalars(select(CrmLink).where(CrmLink.team_id == actor.team_id)):
        s.delete(link)
    s.delete(row)
    return True


def set_fields(s: Session, actor: Actor, chosen: dict[str, str]) -> dict[str, str]:
    """Remap some of our fields; returns the workspace's own mapping."""
    require_seller(actor)
    row = s.get(CrmConnection, actor.team_id)
    if row is None:
        raise NotFound(
            "No CRM is connected: `/map crm connect hubspot|salesforce &lt;token&gt;` first."
        )
    own = json.loads(row.fields or "{}")
    own.update(chosen)
    row.fields = json.dumps(own, sort_keys=True)
    for plan in s.scalars(select(Plan).where(Plan.team_id == actor.team_id, Plan.crm_linked)):
        mark_push(s, plan)
    return dict(own)


def link(s: Session, actor: Actor, plan: Plan, object_id: str, deal_name: str) -> CrmLink:
    require_seller(actor)
    row = s.get(CrmConnection, actor.team_id)
    if row is None:
        raise NotFound(
            "No CRM is connected: `/map crm connect hubspot|salesforce &lt;token&gt;` first."
        )
    existing = s.get(CrmLink, plan.id)
    if existing is None:
        existing = CrmLink(plan_id=plan.id, team_id=plan.team_id)
        s.add(existing)
    existing.vendor, existing.object_id, existing.linked_by = row.vendor, object_id, actor.user_id
    existing.pushed = existing.error = None
    existing.close_date, existing.pulled_at = None, None
    plan.crm_linked = True
    log_plan_event(
        s, actor, plan, "plan.crm_linked", after=f"{row.vendor}:{object_id} {deal_name}"[:200]
    )
    return existing


def unlink(s: Session, actor: Actor, plan: Plan) -> bool:
    require_seller(actor)
    existing = s.get(CrmLink, plan.id)
    if existing is None:
        return False
    s.delete(existing)
    plan.crm_linked = False
    log_plan_event(s, actor, plan, "plan.crm_unlinked", before=existing.object_id)
    return True


def links_of(s: Session, team_id: str) -> list[CrmLink]:
    return list(s.scalars(select(CrmLink).where(CrmLink.team_id == team_id)))


def pushed(s: Session, plan_id: int, values: dict[str, str]) -> None:
    s.execute(
        update(CrmLink)
        .where(CrmLink.plan_id == plan_id)
        .values(pushed=json.dumps(values, sort_keys=True), error=None)
    )


def link_failed(s: Session, plan_id: int, error: str) -> None:
    s.execute(update(CrmLink).where(CrmLink.plan_id == plan_id).values(error=error[:200]))


def broke(s: Session, team_id: str, reason: str) -> bool:
    """The CRM refused the token: pushes stop until someone connects again.
    True the first time (so the seller is told once)."""
    row = s.get(CrmConnection, team_id)
    if row is None or row.broken is not None:
        return False
    row.broken = reason[:200]
    return True


def pulled(s: Session, plan_id: int, close_date: date | None, at: datetime) -> None:
    s.execute(
        update(CrmLink)
        .where(CrmLink.plan_id == plan_id)
        .values(close_date=close_date, pulled_at=at)
    )
