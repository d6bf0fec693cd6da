"""The tables, as SQLAlchemy 2.0 typed models.

Only `storage.services` writes these; everything else reads through
`storage.readmodel`. Every row is scoped by the seller's Slack team so one
workspace can never reach another's plans.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Status and side values are stored as short strings; the vocabularies live in
# storage.rules so rendering and parsing share them.


class Base(DeclarativeBase):
    pass


class Plan(Base):
    __tablename__ = "plan"
    __table_args__ = (
        # One active plan per channel (archived plans keep their history).
        Index(
            "uq_plan_active_channel",
            "team_id",
            "channel_id",
            unique=True,
            sqlite_where=text("archived = 0"),
            postgresql_where=text("archived = false"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32), index=True)  # the seller team
    channel_id: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(300))
    target_date: Mapped[date | None] = mapped_column(Date)
    tz: Mapped[str] = mapped_column(String(64), default="UTC")  # IANA name, never an offset
    created_by: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    # Short task numbers (#7) are per plan; this is the next one to hand out.
    next_task_number: Mapped[int] = mapped_column(Integer, default=1)
    # The canonical plan card message, kept current with chat.update.
    card_channel: Mapped[str | None] = mapped_column(String(32))
    card_ts: Mapped[str | None] = mapped_column(String(32))
    overview_why: Mapped[str] = mapped_column(Text, default="")
    overview_goals: Mapped[str] = mapped_column(Text, default="")
    overview_success: Mapped[str] = mapped_column(Text, default="")
    buyers_can_edit: Mapped[bool] = mapped_column(Boolean, default=False)
    # ISO country code whose public holidays relative due dates skip (None: weekends only).
    country: Mapped[str | None] = mapped_column(String(8))
    # Reminders (`/map remind`): nudge N days before a due date, the weekly digest's
    # day (0 = Monday) and local time in minutes, whether weekends count, on or off.
    remind_lead_days: Mapped[int] = mapped_column(Integer, default=2, server_default="2")
    digest_weekday: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    digest_minute: Mapped[int] = mapped_column(Integer, default=540, server_default="540")
    remind_weekends: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=text("false")
    )
    reminders_on: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    # Other workspaces the channel is shared with (Slack Connect), space-separated
    # team ids, kept by the channel_shared / channel_unshared events.
    connected_teams: Mapped[str] = mapped_column(Text, default="", server_default="")
    # Tied to a CRM deal (crm_link): its changes queue a coalesced push (reminders.crm),
    # read off the plan row every change already loads, so unlinked plans pay nothing.
    crm_linked: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))

    milestones: Mapped[list[Milestone]] = relationship(
        back_populates="plan", order_by="Milestone.position", cascade="all, delete-orphan"
    )


class Milestone(Base):
    __tablename__ = "milestone"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    due_date: Mapped[date | None] = mapped_column(Date)
    # Set by a person; None means "derived from the tasks".
    manual_status: Mapped[str | None] = mapped_column(String(16))

    plan: Mapped[Plan] = relationship(back_populates="milestones")


class Task(Base):
    __tablename__ = "task"
    __table_args__ = (
        UniqueConstraint("plan_id", "number", name="uq_task_plan_number"),
        Index("ix_task_due_date", "due_date"),  # what is due when: the reminder tick
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id", ondelete="CASCADE"), index=True)
    milestone_id: Mapped[int] = mapped_column(
        ForeignKey("milestone.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(500))
    owner_side: Mapped[str] = mapped_column(String(8), default="mutual")
    assignee_id: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="not_started")
    internal: Mapped[bool] = mapped_column(Boolean, default=False)
    due_date: Mapped[date | None] = mapped_column(Date)
    # A relative due date: `due_offset_days` from the plan's target date
    # (negative = before), in business days when `due_business`. Moving the
    # target recomputes `due_date` unless a person pinned it by hand.
    due_offset_days: Mapped[int | None] = mapped_column(Integer)
    due_business: Mapped[bool] = mapped_column(Boolean, default=False)
    due_pinned: Mapped[bool] = mapped_column(Boolean, default=False)
    risk: Mapped[str] = mapped_column(String(16), default="on_track")
    risk_reason: Mapped[str] = mapped_column(Text, default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completed_by: Mapped[str | None] = mapped_column(String(32))


class Person(Base):
    """Someone we have seen in a workspace where the app is installed."""

    __tablename__ = "person"
    __table_args__ = (UniqueConstraint("team_id", "user_id", name="uq_person_team_user"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))  # the installing (seller) workspace
    user_id: Mapped[str] = mapped_column(String(32))
    home_team_id: Mapped[str | None] = mapped_column(String(32))  # the person's own team
    name: Mapped[str] = mapped_column(String(200), default="")
    tz: Mapped[str | None] = mapped_column(String(64))  # IANA name from users.info
    is_guest: Mapped[bool] = mapped_column(Boolean, default=False)
    side_override: Mapped[str | None] = mapped_column(String(8))  # set by hand; wins
    mute_digests: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    refreshed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Activity(Base):
    """Every change: who, which side, what, before → after, when."""

    __tablename__ = "activity"
    __table_args__ = (Index("ix_activity_plan_at", "plan_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id", ondelete="CASCADE"))
    task_id: Mapped[int | None] = mapped_column(Integer)  # no FK: survives the task's removal
    milestone_id: Mapped[int | None] = mapped_column(Integer)
    actor_id: Mapped[str] = mapped_column(String(32))
    actor_side: Mapped[str] = mapped_column(String(8))
    action: Mapped[str] = mapped_column(String(40))
    before: Mapped[str | None] = mapped_column(Text)
    after: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


# --- collaboration: comments, links, stakeholders (migration 0005) ----------------


class Comment(Base):
    """A comment on a task, posted (attributed) into the plan card's thread."""

    __tablename__ = "comment"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id", ondelete="CASCADE"), index=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("task.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[str] = mapped_column(String(32))
    author_side: Mapped[str] = mapped_column(String(8))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The thread reply that carries it (None until posted, and for internal tasks).
    posted_ts: Mapped[str | None] = mapped_column(String(32))


class TaskLink(Base):
    """A document, recording or other URL attached to a task."""

    __tablename__ = "task_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id", ondelete="CASCADE"), index=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("task.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    label: Mapped[str] = mapped_column(String(200), default="")
    added_by: Mapped[str] = mapped_column(String(32))
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Stakeholder(Base):
    """Someone on the deal: their role in it, and contact details Slack gave us."""

    __tablename__ = "stakeholder"
    __table_args__ = (UniqueConstraint("plan_id", "user_id", name="uq_stakeholder_plan_user"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[str] = mapped_column(String(32))
    role: Mapped[str] = mapped_column(String(100), default="")
    title: Mapped[str] = mapped_column(String(200), default="")  # users.info profile
    email: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str] = mapped_column(String(64), default="")
    refreshed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class TeamTemplate(Base):
    """A team's own plan template, kept as the YAML people import and export."""

    __tablename__ = "team_template"
    __table_args__ = (UniqueConstraint("team_id", "name", name="uq_team_template_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32), index=True)
    name: Mapped[str] = mapped_column(String(40))
    yaml_text: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Snooze(Base):
    """No nudges about a task to a person until a local date."""

    __tablename__ = "snooze"
    __table_args__ = (UniqueConstraint("task_id", "user_id", name="uq_snooze_task_user"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("task.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(String(32))
    until: Mapped[date] = mapped_column(Date)


class Outbox(Base):
    """A message to send, exactly once: the unique key is what the reminder rules
    worked out (kind, recipient, subject, the recipient's local date)."""

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("kind", "recipient", "subject", "local_date", name="uq_outbox_key"),
        Index("ix_outbox_ready", "state", "next_attempt_at"),
        Index("ix_outbox_local_date", "local_date"),  # which keys a tick already queued
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    team_id: Mapped[str] = mapped_column(String(32))
    recipient: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(64))
    local_date: Mapped[date] = mapped_column(Date)
    text: Mapped[str] = mapped_column(Text)
    blocks: Mapped[str] = mapped_column(Text, default="[]")  # JSON
    thread_of_plan: Mapped[int | None] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(12), default="pending")  # pending|sending|sent|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ts: Mapped[str | None] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Set just before chat.postMessage and kept until Slack's answer is recorded:
    # a row with it and no `ts` may be in Slack already (a crash, a timeout), so
    # it is looked up, never re-sent blindly. `posting_thread` is the thread it
    # went into; `lookup_mark` how far an interrupted lookup got (a message ts).
    posting_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    posting_thread: Mapped[str | None] = mapped_column(String(32))
    lookup_mark: Mapped[str | None] = mapped_column(String(32))
    # An upload: the file it began sharing (files.getUploadURLExternal's id), the key
    # its share's message is looked up by (migration 0030).
    posting_file: Mapped[str | None] = mapped_column(String(32))
    # Refreshes (card, Home) coalesce in one row per target: every mark bumps it,
    # and a send that began before the last mark leaves the row pending.
    generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class Pace(Base):
    """When a Slack rate-limit bucket (a channel's posts, a workspace's updates)
    may next be used: shared by every process, so together they stay under it."""

    __tablename__ = "pace"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    next_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CardDay(Base):
    """The local day the cards of plans in a zone were last brought up to date:
    their relative words ("3 days to go", "overdue") change at local midnight."""

    __tablename__ = "card_day"

    tz: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(Date)


class ReminderMark(Base):
    """What the last full reminder pass saw (a signature of the data and of which
    zones were past their send time); a tick that would see the same skips the
    work, since nothing new can be due."""

    __tablename__ = "reminder_mark"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[str] = mapped_column(String(128))


# --- deal membership: who is in a deal channel (the buyer boundary) ------------------


class ChannelRoster(Base):
    """A channel whose members we fetched (`conversations.members`), and when. Join
    and leave events keep it current; a channel with no row (or an old one) has
    members we don't know, and a buyer is refused until they are fetched."""

    __tablename__ = "channel_roster"

    team_id: Mapped[str] = mapped_column(String(32), primary_key=True)  # installing team
    channel_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    fetched_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ChannelMember(Base):
    """One member of a channel in `channel_roster`."""

    __tablename__ = "channel_member"
    __table_args__ = (Index("ix_channel_member_user", "team_id", "user_id"),)

    team_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    channel_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)


# --- requests already carried out (bot.replays) ---------------------------------


class SeenRequest(Base):
    """A request, Slack event or modal submission already carried out, so that a
    replay or a retry is not carried out twice. Shared by every replica: the
    primary key is the insert-or-fail claim; rows past `expires_at` are pruned."""

    __tablename__ = "seen_request"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)  # signature|event|submission
    key: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 hex
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


# --- drafts: a plan proposed from call notes, waiting for the rep's review -----------


class Draft(Base):
    """Notes pasted by a rep and what an extractor proposed from them. Nothing of it
    is in a plan until the rep approves the review modal (`storage.drafts.apply`)."""

    __tablename__ = "draft"
    __table_args__ = (Index("ix_draft_owner", "team_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32))  # the seller team
    channel_id: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(32))  # the rep; only they may review it
    notes: Mapped[str] = mapped_column(Text)
    call_date: Mapped[date] = mapped_column(Date)
    proposal: Mapped[str] = mapped_column(Text, default="")  # JSON; "" while extracting
    view_id: Mapped[str | None] = mapped_column(String(32))  # the modal showing it
    state: Mapped[str] = mapped_column(String(12), default="working")  # working|ready|applied
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


# --- managers: who sees every plan of the workspace in the pipeline ------------------


class Manager(Base):
    """A seller who sees every plan of the workspace in `/map pipeline` and App
    Home (`/map managers add`). With none set, each seller sees their own plans."""

    __tablename__ = "manager"

    team_id: Mapped[str] = mapped_column(String(32), primary_key=True)  # installing team
    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    added_by: Mapped[str] = mapped_column(String(32))
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


# --- CRM sync (reminders/crm) ---------------------------------------------------------


class CrmConnection(Base):
    """A workspace's CRM: which vendor, its token sealed (storage.secret_box), and which
    CRM property each of our fields is pushed to."""

    __tablename__ = "crm_connection"

    team_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    vendor: Mapped[str] = mapped_column(String(16))  # hubspot | salesforce
    sealed_token: Mapped[str] = mapped_column(Text)  # never the token itself
    fields: Mapped[str] = mapped_column(Text, default="{}")  # JSON: our field -> CRM property
    added_by: Mapped[str] = mapped_column(String(32))
    # Why pushes stopped (the CRM refused the token); cleared by a new `connect`.
    broken: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CrmLink(Base):
    """The deal (HubSpot) or opportunity (Salesforce) a plan is, and what was last
    pushed to it and pulled from it."""

    __tablename__ = "crm_link"

    plan_id: Mapped[int] = mapped_column(
        ForeignKey("plan.id", ondelete="CASCADE"), primary_key=True
    )
    team_id: Mapped[str] = mapped_column(String(32), index=True)
    vendor: Mapped[str] = mapped_column(String(16))
    object_id: Mapped[str] = mapped_column(String(64))
    linked_by: Mapped[str] = mapped_column(String(32))
    pushed: Mapped[str | None] = mapped_column(Text)  # JSON of the values last pushed
    close_date: Mapped[date | None] = mapped_column(Date)  # the CRM's, when last pulled
    pulled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    error: Mapped[str | None] = mapped_column(String(200))


# --- plan health: thresholds per plan and the last assessment (reminders.health) -------


class PlanHealth(Base):
    """A plan's own health thresholds (None: the documented default) and the health
    last recorded, so a change of health is noticed (and logged) once."""

    __tablename__ = "plan_health"

    plan_id: Mapped[int] = mapped_column(
        ForeignKey("plan.id", ondelete="CASCADE"), primary_key=True
    )
    overdue_tasks: Mapped[int | None] = mapped_column(Integer)
    milestone_late_days: Mapped[int | None] = mapped_column(Integer)
    stall_days: Mapped[int | None] = mapped_column(Integer)
    buyer_silence_days: Mapped[int | None] = mapped_column(Integer)
    state: Mapped[str | None] = mapped_column(String(16))  # on_track|at_risk|stalled
    reasons: Mapped[str] = mapped_column(Text, default="", server_default="")  # one per line
    assessed_on: Mapped[date | None] = mapped_column(Date)
    # The health and forecast lines of a buyer's copy on `assessed_on` (mrkdwn, one
    # per line; migration 0029): worked out once a day by the health pass, read by
    # the weekly digests instead of forecasting thousands of plans again on Monday.
    buyer_insight: Mapped[str | None] = mapped_column(Text)


# --- webhooks and the calendar feed (migration 0022) ------------------------------


class WebhookEndpoint(Base):
    """A URL that gets the seller team's plan events, signed (Standard Webhooks).
    `internal` ones also get internal tasks and seller-only fields."""

    __tablename__ = "webhook_endpoint"

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[str] = mapped_column(String(32), index=True)  # the seller team
    url: Mapped[str] = mapped_column(String(2000))
    internal: Mapped[bool] = mapped_column(Boolean, default=False)
    secret: Mapped[str] = mapped_column(Text)  # Fernet token of the signing secret
    created_by: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    failures: Mapped[int] = mapped_column(Integer, default=0)  # consecutive failed attempts
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    disabled_reason: Mapped[str | None] = mapped_column(String(200))


class CalendarFeed(Base):
    """A plan's iCalendar feed. The URL's secret is derived from MAPBOT_SECRET_KEY
    and `nonce`; only its hash is stored, and a new nonce revokes the old URL."""

    __tablename__ = "calendar_feed"

    plan_id: Mapped[int] = mapped_column(
        ForeignKey("plan.id", ondelete="CASCADE"), primary_key=True
    )
    nonce: Mapped[str] = mapped_column(String(64))
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
