"""Refreshes: the plan card and people's App Home, rendered from the database when
they are sent, through the same outbox as every other message.

A change marks its target with one statement — an upsert of the target's one
outbox row — and marks coalesce: a row already pending takes the new mark
(`generation` + 1) and keeps its turn, so a burst of clicks costs one
`chat.update` per pacing interval and the last one shows the final state. A send
that began before the latest mark leaves the row pending for another pass. A
crash loses nothing: the row is in the database until a send after its last mark
succeeded.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import case, literal
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storage.models import Outbox

CARD = "refresh.card"
HOME = "refresh.home"
KINDS = (CARD, HOME)
NO_DATE = date(1970, 1, 1)  # refresh rows are not per local day
REPOST = "repost"


def card_target(plan_id: int) -> tuple[str, str]:
    return f"plan:{plan_id}", "card"


def home_target(team_id: str, user_id: str) -> tuple[str, str]:
    return user_id, f"home:{team_id}"


def mark(
    s: Session, kind: str, team_id: str, target: tuple[str, str], value: str, at: datetime
) -> None:
    """Queue a refresh, or fold it into the one queued. `value` is what this mark
    asks for: for a card "repost" (post anew) or ""; for a Home a notice to show.
    A non-empty value wins over an empty one, so a pending repost or notice
    survives a plain refresh."""
    recipient, subject = target
    insert = postgresql.insert if s.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt = insert(Outbox).values(
        kind=kind,
        team_id=team_id,
        recipient=recipient,
        subject=subject,
        local_date=NO_DATE,
        text=value,
        blocks="[]",
        state="pending",
        attempts=0,
        generation=0,
        next_attempt_at=at,
        created_at=at,
    )
    new = stmt.excluded
    idle = Outbox.state.in_(("sent", "failed"))
    stmt = stmt.on_conflict_do_update(
        index_elements=["kind", "recipient", "subject", "local_date"],
        set_={
            "generation": Outbox.generation + 1,
            "text": case((new.text != literal(""), new.text), else_=Outbox.text),
            # A row being sent stays the sender's; it sees the new generation after.
            "state": case((Outbox.state == "sending", Outbox.state), else_=literal("pending")),
            # A pending row keeps its turn (that is the coalescing); an idle one
            # is due now.
            "next_attempt_at": case((idle, new.next_attempt_at), else_=Outbox.next_attempt_at),
            "attempts": case((idle, 0), else_=Outbox.attempts),
            "team_id": new.team_id,
        },
    )
    s.execute(stmt)
