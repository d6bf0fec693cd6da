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

from sqlalchemy import bindparam, case, literal, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import Executable

from storage import clock
from storage.db import insert_for
from storage.models import Outbox

CARD = "refresh.card"
HOME = "refresh.home"
DRAFT = "refresh.draft"  # a drafting modal: the model's proposal, then views.update
UNFURL = "refresh.unfurl"  # a message's plan links: chat.unfurl with their live status
# Uploads (storage.uploads) are sent like refreshes: rendered when sent, coalesced.
TIMELINE = "upload.timeline"
PIPELINE_CSV = "upload.pipeline_csv"
PIPELINE_REPLY = "reply.pipeline"  # a pipeline too big to work out before the ack
CRM = "refresh.crm"  # a plan's push to its CRM deal (reminders.delivery.crm)
EXPORT = "upload.export"  # `/map export csv|json`: the plan as a file, by DM to the asker
KINDS = (CARD, HOME, DRAFT, UNFURL, TIMELINE, PIPELINE_CSV, PIPELINE_REPLY, CRM, EXPORT)
NO_DATE = date(1970, 1, 1)  # refresh rows are not per local day
REPOST = "repost"


def card_target(plan_id: int) -> tuple[str, str]:
    return f"plan:{plan_id}", "card"


def home_target(team_id: str, user_id: str) -> tuple[str, str]:
    return user_id, f"home:{team_id}"


def mark_card(s: Session, team_id: str, plan_id: int, *, repost: bool = False) -> None:
    """The plan's card shows the latest state soon (or is posted anew at the bottom
    of its channel): called in the transaction of the change that caused it."""
    mark(s, CARD, team_id, card_target(plan_id), REPOST if repost else "", clock.wall())


def mark_home(s: Session, team_id: str, user_id: str, notice: str = "") -> None:
    """The person's App Home shows the latest state soon; `notice` (escaped) on top."""
    if user_id:
        mark(s, HOME, team_id, home_target(team_id, user_id), notice, clock.wall())


def draft_target(view_id: str, draft_id: int) -> tuple[str, str]:
    return view_id, f"draft:{draft_id}"


def unfurl_target(channel: str, message: str) -> tuple[str, str]:
    """`message`: its ts, or the composer's unfurl id (subject holds 64 characters)."""
    return channel, f"unfurl:{message}"[:64]


def mark(
    s: Session, kind: str, team_id: str, target: tuple[str, str], value: str, at: datetime
) -> None:
    """Queue a refresh, or fold it into the one queued. `value` is what this mark
    asks for: for a card "repost" (post anew) or ""; for a Home a notice to show.
    A non-empty value wins over an empty one, so a pending repost or notice
    survives a plain refresh. One statement, built once per dialect: a click
    pays for executing it, not for composing it."""
    recipient, subject = target
    dialect = s.get_bind().dialect.name
    stmt = _MARKS.get(dialect)
    if stmt is None:
        stmt = _MARKS.setdefault(dialect, _mark_statement(dialect))
    s.connection().execute(  # Core: none of the ORM's bulk machinery for one row
        stmt,
        {
            "kind": kind,
            "team_id": team_id,
            "recipient": recipient,
            "subject": subject,
            "text": value,
            "at": at,
        },
    )


_MARKS: dict[str, Executable] = {}

# A row of this target still waiting with what a mark asks for (its team; its
# value, or any value for a plain refresh): folding the mark in would change
# nothing but `generation`, which counts only while the row is being sent.
_WAITING = (
    select(Outbox.id)
    .where(
        Outbox.kind == bindparam("kind"),
        Outbox.recipient == bindparam("recipient"),
        Outbox.subject == bindparam("subject"),
        Outbox.local_date == NO_DATE,
        Outbox.state == "pending",
        Outbox.team_id == bindparam("team_id"),
        or_(Outbox.text == bindparam("text"), bindparam("text") == ""),
    )
    .limit(1)
)


def asked_already(s: Session, kind: str, team_id: str, target: tuple[str, str], value: str) -> bool:
    """Whether a mark of `target` with `value` would change nothing: a row is
    pending (not being sent: then the mark must count) with what it asks for. The
    send after it renders the database as it is then, so it shows what the mark
    wanted. One indexed read, where a mark is a write that waits for the lock."""
    recipient, subject = target
    found = s.execute(
        _WAITING,
        {
            "kind": kind,
            "recipient": recipient,
            "subject": subject,
            "team_id": team_id,
            "text": value,
        },
    )
    return found.first() is not None


def _mark_statement(dialect: str) -> Executable:
    insert = insert_for(dialect)
    at = bindparam("at", type_=Outbox.__table__.c.created_at.type)
    stmt = insert(Outbox).values(
        kind=bindparam("kind"),
        team_id=bindparam("team_id"),
        recipient=bindparam("recipient"),
        subject=bindparam("subject"),
        local_date=NO_DATE,
        text=bindparam("text"),
        blocks="[]",
        state="pending",
        attempts=0,
        generation=0,
        next_attempt_at=at,
        created_at=at,
    )
    new = stmt.excluded
    idle = Outbox.state.in_(("sent", "failed"))
    return stmt.on_conflict_do_update(
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


def cards_past_midnight(s: Session, at: datetime) -> int:
    """Mark the card of every plan whose zone's local day has turned since its
    cards were last brought up to date (once a day per zone, caught up after
    downtime). How many were marked."""
    from storage.clock import today_in
    from storage.models import CardDay, Plan

    zones = set(
        s.scalars(
            select(Plan.tz).where(Plan.archived.is_(False), Plan.card_ts.is_not(None)).distinct()
        )
    )
    seen = {tz: day for tz, day in s.execute(select(CardDay.tz, CardDay.day))}
    insert = insert_for(s.get_bind().dialect.name)
    marked = 0
    for tz in sorted(zones):
        day = today_in(tz, at)
        if tz in seen and seen[tz] >= day:
            continue
        # Two ticks at once (replicas, a worker and `mapbot tick`) both see the day
        # turn: the upsert that advances it decides which one marks the cards; the
        # other gets no row back (on PostgreSQL it waits for the first's commit).
        row = insert(CardDay).values(tz=tz, day=day)
        turn = row.on_conflict_do_update(
            index_elements=["tz"], set_={"day": row.excluded.day}, where=CardDay.day < day
        ).returning(CardDay.tz)
        if s.execute(turn).first() is None:
            continue
        plans = s.execute(
            select(Plan.id, Plan.team_id).where(
                Plan.tz == tz, Plan.archived.is_(False), Plan.card_ts.is_not(None)
            )
        ).all()
        for plan_id, team_id in plans:
            mark(s, CARD, team_id, card_target(plan_id), "", at)
        marked += len(plans)
    return marked
