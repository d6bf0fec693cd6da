"""Asking for a file to be uploaded (the timeline picture into a plan's channel, the
pipeline CSV to a seller by DM), or for a pipeline too big to answer at once. Each
is an outbox row (`reminders.delivery.refreshes`: rendered from the database when it is
sent, and coalesced — asking twice before it went costs one send), written in the
transaction of the request; the delivery worker sends it (`reminders.delivery.upload`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from reminders.delivery import refreshes
from storage.models import Plan
from storage.pipeline import filter_spec, scope_ids
from storage.rules import Actor


def timeline_target(plan_id: int, channel_id: str) -> tuple[str, str]:
    return channel_id, f"timeline:{plan_id}"


def plan_of_key(key: str) -> int | None:
    """The plan an upload row (or a weekly digest row) is about, from its key
    `kind|recipient|subject|date`."""
    subject = key.split("|")[2] if key.count("|") >= 3 else ""
    _, _, number = subject.partition(":")
    return int(number) if number.isdigit() else None


def request_timeline(s: Session, plan: Plan, at: datetime) -> None:
    """The plan's timeline into its channel. The caller has checked the plan is the
    asker's to reach (`storage.access`); the picture is buyer-safe."""
    refreshes.mark(
        s, refreshes.TIMELINE, plan.team_id, timeline_target(plan.id, plan.channel_id), "", at
    )


def follow_digest(s: Session, team_id: str, channel_id: str, digest_key: str, at: datetime) -> None:
    """After a plan's weekly digest went to its channel: its timeline, right after."""
    plan_id = plan_of_key(digest_key)
    if plan_id is not None:
        refreshes.mark(s, refreshes.TIMELINE, team_id, timeline_target(plan_id, channel_id), "", at)


def request_pipeline_csv(
    s: Session, actor: Actor, kind: str, owner: str | None, at: datetime
) -> None:
    """The pipeline as a CSV file, by DM to the asker. Refused here for anyone who
    may not see a pipeline (a buyer); what it lists is worked out again when sent,
    for the person it goes to."""
    scope_ids(s, actor, kind, owner)  # raises for a buyer or a filter we never made
    refreshes.mark(
        s,
        refreshes.PIPELINE_CSV,
        actor.team_id,
        (actor.user_id, "pipeline"),
        filter_spec(kind, owner),
        at,
    )


def request_pipeline_reply(
    s: Session, actor: Actor, channel_id: str, kind: str, owner: str | None, at: datetime
) -> None:
    """A pipeline too big to work out within Slack's 3 seconds: posted to the asker
    (ephemeral, in `channel_id`) by the worker. Checked like the CSV."""
    scope_ids(s, actor, kind, owner)
    refreshes.mark(
        s,
        refreshes.PIPELINE_REPLY,
        actor.team_id,
        (actor.user_id, f"pipeline:{channel_id}"),
        filter_spec(kind, owner),
        at,
    )


def channel_of_key(key: str) -> str:
    """The channel of a deferred pipeline reply, from its key."""
    subject = key.split("|")[2] if key.count("|") >= 3 else ""
    return subject.removeprefix("pipeline:")


EXPORT_FORMATS = ("csv", "json")


def request_export(s: Session, actor: Actor, plan: Plan, fmt: str, at: datetime) -> None:
    """The plan as a file, by DM to the asker (who may reach it: the caller checked,
    and the sender checks again for the person and side it goes to)."""
    if fmt not in EXPORT_FORMATS:
        raise ValueError(fmt)
    target = (actor.user_id, f"export:{plan.id}")
    refreshes.mark(s, refreshes.EXPORT, actor.team_id, target, fmt, at)
