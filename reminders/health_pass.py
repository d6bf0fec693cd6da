"""Recording plan health as it changes: run by every tick, cheap when nothing did.

A plan is assessed again when something happened on it since the last pass (an
activity row), or when its local date has moved on (overdue, stall and silence
are counted in days). What it finds is kept in `plan_health`; a change of state
is an activity row (`plan.health`, before → after), which the audit trail and
webhooks read. The state kept is the seller's view (internal tasks count); beside
it, the health and forecast lines of a buyer's copy, which the weekly digests in
the deal channels show (other buyer-facing surfaces work theirs out when they
render).
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import func, select

from bot.render.summary import insight_lines
from reminders.health import assess
from storage import health_services, reminder_services
from storage.clock import today_in
from storage.db import Database
from storage.models import Activity, Plan, PlanHealth, ReminderMark
from storage.plan_facts import HEALTH_ACTION, plan_facts

MARK = "health_pass"
BATCH = 500  # plans read and assessed at a time


def _mark(latest: int, zones: list[str], at: datetime) -> str:
    days = sorted(f"{tz}|{today_in(tz, at)}" for tz in zones)
    return f"{latest}|" + hashlib.sha256("\n".join(days).encode()).hexdigest()[:40]


def run(db: Database, at: datetime) -> int:
    """Assess the plans that may have changed; returns how many changed health."""
    with db.read() as s:
        active = Plan.archived.is_(False)
        latest = s.scalar(select(func.max(Activity.id))) or 0
        zones = list(s.scalars(select(Plan.tz).where(active).distinct()))
        mark = _mark(latest, zones, at)
        seen = s.get(ReminderMark, MARK)
        if seen is not None and seen.value == mark:
            return 0
        since = int(seen.value.split("|", 1)[0]) if seen is not None else 0
        touched = set(
            s.scalars(
                select(Activity.plan_id)
                .where(Activity.id > since, Activity.action != HEALTH_ACTION)
                .distinct()
            )
        )
        due = [
            plan_id
            for plan_id, tz, day in s.execute(
                select(Plan.id, Plan.tz, PlanHealth.assessed_on)
                .outerjoin(PlanHealth, PlanHealth.plan_id == Plan.id)
                .where(active)
            )
            if plan_id in touched or day != today_in(tz, at)
        ]
    changed = 0
    for start in range(0, len(due), BATCH):
        with db.read() as s:
            facts = plan_facts(s, due[start : start + BATCH])
        assessed = []
        for f in facts.values():
            today = today_in(f.tz, at)
            health = assess(f, today)
            # What the weekly digest shows buyers, worked out here on its day (at local
            # midnight, again on a change) rather than for thousands of plans at once
            # when Monday's digests go out; on other days nothing is recorded.
            lines = (
                tuple(insight_lines(f.for_side("buyer"), today))
                if today.weekday() == f.digest_weekday
                else ()
            )
            assessed.append(
                health_services.Assessed(f.id, health.state, health.reasons, today, lines)
            )
        with db.write() as s:
            changed += health_services.record(
                s, assessed, {f.id: f.recorded_health for f in facts.values()}
            )
    with db.write() as s:
        # Recorded after the work: a crash before it means the pass is done again.
        reminder_services.record_mark(s, MARK, mark)
    return changed
