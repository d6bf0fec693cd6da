"""The pull pass: a linked deal's close date becomes its plan's go-live.

Each link is read at most every PULL_EVERY, paced per workspace like pushes.
A close date that changed in the CRM since the last pull moves the plan's
target (relative task dates follow, as with `/map golive`) and posts one
summary in the channel; the first pull only records the CRM's date, unless the
plan has no target yet — linking never silently overrides a date the team set.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import cast

from sqlalchemy import or_, select

from commands.template_commands import moved_summary
from reminders.crm import adapter
from reminders.delivery import pacing
from reminders.delivery.crm import INTERVAL, tell
from reminders.delivery.outgoing import Outgoing
from storage import clock, crm, secret_box, services, template_store
from storage.db import Database
from storage.models import CrmConnection, CrmLink
from storage.rules import Actor

log = logging.getLogger(__name__)

PULL_EVERY = timedelta(minutes=15)
BY_CRM = {"hubspot": "The HubSpot deal's close date", "salesforce": "The Salesforce close date"}


def pull(db: Database, at: datetime) -> int:
    """Read the due links' deals; returns how many plans moved."""
    with db.read() as s:
        due = s.execute(
            select(
                CrmLink.plan_id,
                CrmLink.team_id,
                CrmLink.object_id,
                CrmLink.close_date,
                CrmLink.linked_by,
                CrmConnection.vendor,
                CrmConnection.sealed_token,
                CrmConnection.added_by,
            )
            .join(CrmConnection, CrmConnection.team_id == CrmLink.team_id)
            .where(
                CrmConnection.broken.is_(None),
                CrmConnection.vendor == CrmLink.vendor,
                CrmLink.error.is_(None),
                or_(CrmLink.pulled_at.is_(None), CrmLink.pulled_at <= at - PULL_EVERY),
            )
            .order_by(CrmLink.pulled_at.nulls_first())
        ).all()
    moved, busy = 0, set()
    for plan_id, team_id, object_id, before, linked_by, vendor, sealed, added_by in due:
        bucket = f"crm:{team_id}"
        if team_id in busy or pacing.reserve(db, bucket, INTERVAL, clock.wall()) > 2.0:
            busy.add(team_id)  # this workspace's turn is later: the next pass
            continue
        try:
            token = secret_box.open_sealed(sealed)
            deal = adapter.crm_for(cast(adapter.Vendor, vendor), token).deal(object_id)
        except adapter.Busy as e:
            pacing.hold(db, bucket, clock.wall() + timedelta(seconds=e.retry_after))
            busy.add(team_id)
            continue
        except adapter.Unreachable:
            continue  # next pass
        except (adapter.Refused, secret_box.SecretKeyError) as e:
            with db.write() as s:
                if crm.broke(s, team_id, str(e)):
                    tell(s, team_id, added_by, f":warning: CRM sync stopped: {e}")
            busy.add(team_id)
            continue
        except (adapter.NotFound, adapter.Invalid) as e:
            with db.write() as s:
                crm.link_failed(s, plan_id, str(e))
                tell(s, team_id, linked_by, f":warning: CRM sync of a plan stopped: {e}")
            continue
        if _apply(db, plan_id, vendor, deal.close_date, before, at):
            moved += 1
    return moved


def _apply(
    db: Database, plan_id: int, vendor: str, close: date | None, before: date | None, at: datetime
) -> bool:
    with db.write() as s:
        crm.pulled(s, plan_id, close, at)
        plan = services.lock_plan(s, plan_id)
        changed = close is not None and close != before and close != plan.target_date
        if not changed or plan.archived or (before is None and plan.target_date is not None):
            return False
        assert close is not None
        today = clock.today_in(plan.tz, at)
        preview = template_store.preview_target(s, plan, close, today)
        system = Actor(user_id=services.SLACK_SYSTEM_USER, side="seller", team_id=plan.team_id)
        services.set_target_date(s, system, plan, close)
        text = moved_summary(preview.moves, close, system.user_id, today, by=BY_CRM[vendor])
        summary = Outgoing(
            "notice.golive",
            plan.team_id,
            plan.channel_id,
            f"plan:{plan.id}:golive:{close.isoformat()}",
            today,
            text,
        )
        from reminders.delivery.outbox import enqueue  # the outbox sends it after commit

        enqueue(s, [summary], at)
        log.info("plan %s: go-live follows its %s deal to %s", plan_id, vendor, close)
        return True
