"""How a plan's CRM push row is sent: render the plan's fields from the
database, skip it when the deal already shows them, else write them.

A refused token stops every push of the workspace (storage.crm.broke) and the
person who connected it is told once by DM; a missing deal or a property the
CRM doesn't have is told to whoever linked the plan. A 429 holds the
workspace's CRM bucket for every process; 5xx and timeouts are tried again
with backoff. Pushing is idempotent (the same values again), so a crash
mid-push only means the next pass pushes once more.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import cast

from sqlalchemy.orm import Session

from bot.text import escape
from reminders.crm import adapter, fields
from reminders.delivery import pacing
from reminders.delivery.outgoing import Outgoing
from storage import clock, crm, secret_box
from storage.db import Database
from storage.models import CrmConnection, CrmLink, Plan
from storage.readmodel import plan_view

log = logging.getLogger(__name__)

INTERVAL = 0.2  # HubSpot allows ~10 requests a second per account; stay well under
Insight = Callable[[Session, Plan, date], tuple[str | None, date | None]]  # health, forecast
Wait = Callable[[str, float], float]  # the outbox's pacer: seconds still to wait, 0 = go


def plan_link(plan: Plan) -> str:
    """The plan's page when PUBLIC_URL is set, else Slack's link to its channel."""
    base = os.environ.get("PUBLIC_URL", "").rstrip("/")
    if base:
        return f"{base}/p/{plan.id}"
    return f"https://slack.com/app_redirect?team={plan.team_id}&channel={plan.channel_id}"


def insight(s: Session, plan: Plan, today: date) -> tuple[str | None, date | None]:
    """The plan's health line ("At risk: 3 buyer tasks overdue") and forecast
    go-live (P50), from the same rules the card and digests use."""
    # Late: the insight rules read storage, whose services import this package.
    from reminders import forecast, health
    from storage.plan_facts import plan_facts

    facts = plan_facts(s, [plan.id]).get(plan.id)
    if facts is None:
        return None, None
    return health.assess(facts, today).line(), forecast.forecast(facts, today).p50


class Outcome:
    """What the outbox should do with the row next."""

    DONE = "done"
    LATER = "later"  # with `until`
    FAILED = "failed"

    def __init__(self, state: str, until: datetime | None = None, error: str = "") -> None:
        self.state, self.until, self.error = state, until, error


def send_crm(
    db: Database, team_id: str, plan_id: int, wait: Wait, insight_of: Insight = insight
) -> Outcome:
    with db.read() as s:
        link = s.get(CrmLink, plan_id)
        conn = s.get(CrmConnection, team_id)
        plan = s.get(Plan, plan_id)
        if (
            link is None
            or conn is None
            or plan is None
            or plan.archived
            or plan.team_id != team_id
            or conn.broken is not None  # waits for a new token; `connect` marks again
            or conn.vendor != link.vendor
        ):
            return Outcome(Outcome.DONE)
        today = clock.today_in(plan.tz)
        view = plan_view(s, plan, "seller")
        health_line, forecast_p50 = insight_of(s, plan, today)
        vendor = cast(adapter.Vendor, conn.vendor)
        ours = fields.values(
            view, today, health=health_line, forecast=forecast_p50, link=plan_link(plan)
        )
        props = fields.properties(fields.mapping(vendor, conn.fields), ours)
        object_id, sealed = link.object_id, conn.sealed_token
        added_by, linked_by, already = conn.added_by, link.linked_by, link.pushed
    if already == json.dumps(props, sort_keys=True):
        return Outcome(Outcome.DONE)  # the deal shows this already
    bucket = f"crm:{team_id}"
    gap = wait(bucket, INTERVAL)
    if gap:
        return Outcome(Outcome.LATER, clock.wall() + timedelta(seconds=gap))
    try:
        token = secret_box.open_sealed(sealed)
        adapter.crm_for(vendor, token).push(object_id, props)
    except adapter.Busy as e:
        until = clock.wall() + timedelta(seconds=e.retry_after)
        pacing.hold(db, bucket, until)  # the CRM said wait: every process waits
        return Outcome(Outcome.LATER, until, str(e))
    except adapter.Unreachable as e:
        return Outcome(Outcome.LATER, None, str(e))
    except (adapter.Refused, secret_box.SecretKeyError) as e:
        with db.write() as s:
            if crm.broke(s, team_id, str(e)):
                tell(s, team_id, added_by, f":warning: CRM sync stopped: {e}")
        log.warning("crm %s refused the token of %s", vendor, team_id)  # never the token
        return Outcome(Outcome.FAILED, error="refused")
    except (adapter.NotFound, adapter.Invalid) as e:
        with db.write() as s:
            first = (link_row := s.get(CrmLink, plan_id)) is not None and link_row.error is None
            crm.link_failed(s, plan_id, str(e))
            if first:
                tell(s, team_id, linked_by, f":warning: CRM sync of a plan stopped: {e}")
        return Outcome(Outcome.FAILED, error=type(e).__name__)
    with db.write() as s:
        crm.pushed(s, plan_id, props)
    return Outcome(Outcome.DONE)


def tell(s: Session, team_id: str, user_id: str, text: str) -> None:
    from reminders.delivery.outbox import enqueue  # outbox sends this module's rows

    today = clock.today_in("UTC")
    note = Outgoing("notice.crm", team_id, user_id, f"crm:{team_id}", today, escape(text))
    enqueue(s, [note], clock.wall())
