"""Who counts as a manager: a seller-only setting per workspace (`/map managers`).

A manager sees every plan of the workspace in the pipeline; everyone else on the
seller side sees the plans they own. Buyers see no pipeline at all, manager or not
(`storage.pipeline` refuses them first).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage import clock, services
from storage.models import Manager
from storage.rules import Actor, person_side

SELLERS_ONLY = "Only the seller team can see or change who the managers are."


def _require_seller(actor: Actor) -> None:
    if actor.side != "seller":
        raise services.Forbidden(SELLERS_ONLY)


def managers(s: Session, actor: Actor) -> list[str]:
    """The workspace's managers' user ids, in the order they were added."""
    _require_seller(actor)
    return list(
        s.scalars(
            select(Manager.user_id)
            .where(Manager.team_id == actor.team_id)
            .order_by(Manager.added_at, Manager.user_id)
        )
    )


def is_manager(s: Session, actor: Actor) -> bool:
    """Whether `actor` sees every plan of the workspace: a seller named a manager."""
    if actor.side != "seller":
        return False
    found = s.scalar(
        select(Manager.user_id).where(
            Manager.team_id == actor.team_id, Manager.user_id == actor.user_id
        )
    )
    return found is not None


def add_manager(s: Session, actor: Actor, user_id: str) -> bool:
    """Name a seller-side person a manager; False when they were one already."""
    _require_seller(actor)
    facts = services.person_facts(s, actor.team_id, user_id)
    if user_id != actor.user_id and person_side(actor.team_id, facts) != "seller":
        # Fail closed like every side decision: someone of another organisation,
        # a guest, or someone we know nothing about is not given every deal.
        raise services.Forbidden(
            "Only someone of your own team can be a manager (not a guest or a buyer)."
        )
    if s.get(Manager, (actor.team_id, user_id)) is not None:
        return False
    s.add(
        Manager(
            team_id=actor.team_id, user_id=user_id, added_by=actor.user_id, added_at=clock.now()
        )
    )
    return True


def remove_manager(s: Session, actor: Actor, user_id: str) -> bool:
    """False when they weren't a manager."""
    _require_seller(actor)
    row = s.get(Manager, (actor.team_id, user_id))
    if row is None:
        return False
    s.delete(row)
    return True
