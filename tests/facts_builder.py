"""Hand-built `PlanFacts` for the pure rules' tests (health, forecast, summary)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from storage.plan_facts import (
    ActivityMark,
    HealthSettings,
    MilestoneFact,
    PlanFacts,
    TaskFact,
)


def at(d: date, hour: int = 15) -> datetime:
    return datetime.combine(d, time(hour), tzinfo=UTC)


def task(
    number: int,
    *,
    milestone: int = 1,
    side: str = "mutual",
    internal: bool = False,
    status: str = "not_started",
    due: date | None = None,
    done: date | None = None,
    created: date = date(2026, 1, 5),
    assignee: str | None = None,
    title: str | None = None,
) -> TaskFact:
    return TaskFact(
        id=number,
        number=number,
        title=title or f"Task {number}",
        milestone_id=milestone,
        owner_side=side,
        internal=internal,
        status="completed" if done is not None else status,
        assignee_id=assignee,
        due_date=due,
        completed_at=at(done) if done is not None else None,
        created_at=at(created),
    )


def facts(
    tasks: list[TaskFact],
    *,
    milestones: list[MilestoneFact] | None = None,
    created: date = date(2026, 1, 5),
    target: date | None = None,
    activity: list[ActivityMark] | None = None,
    settings: HealthSettings | None = None,
    country: str | None = None,
    names: tuple[tuple[str, str], ...] = (),
) -> PlanFacts:
    return PlanFacts(
        id=1,
        team_id="T0LEXCORP",
        channel_id="C0DEAL",
        title="Monsters Inc rollout",
        target_date=target,
        tz="UTC",
        country=country,
        created_by="U0LEX",
        created_at=at(created, 9),
        milestones=tuple(milestones or [MilestoneFact(1, 1, "Next steps", None, None)]),
        tasks=tuple(tasks),
        activity=tuple(activity or []),
        health_settings=settings or HealthSettings(),
        names=names,
    )


def moved(d: date, side: str = "seller", *, internal: bool = False) -> ActivityMark:
    return ActivityMark(side=side, internal=internal, movement=True, at=at(d))


def touched(d: date, side: str = "buyer", *, internal: bool = False) -> ActivityMark:
    """Activity that changes no task (a comment, say)."""
    return ActivityMark(side=side, internal=internal, movement=False, at=at(d))
