"""Pipeline and timeline benchmark.

    .venv/bin/python bench/pipeline_bench.py [--plans 10000] [--pg URL] [--no-pg]

For SQLite and PostgreSQL, the same data as bench/reminders_bench.py (10,000 plans,
200,000 tasks), seen by a manager (every plan of the workspace):
- `/map pipeline` as it runs once the tick's health pass has recorded every plan's
  health (rank and count every plan from it, the page shown read, assessed and
  forecast in full, rendered) — beside its floor, one query reading every open
  plan's tasks, measured in the same run; and cold, before any health is recorded
  (every plan assessed by the pipeline itself);
- SQL statements of the pipeline at two sizes (they must not grow with the plans);
- a timeline PNG for a 12-milestone plan (cold: the first in the process; warm).
Targets (issue 11): pipeline ≤ 5× floor; timeline ≤ 300 ms.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, select  # noqa: E402

from bench.common import fresh_pg, parser  # noqa: E402
from bench.reminders_bench import MONDAY, TEAM, Counter, seed, timed  # noqa: E402
from bot.render.pipeline import PAGE, pipeline_message  # noqa: E402
from bot.render.timeline_png import Bar, ForecastRange, Timeline, render_png  # noqa: E402
from reminders import health_pass  # noqa: E402
from storage import clock  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.models import Manager, Plan, Task  # noqa: E402
from storage.pipeline import pipeline  # noqa: E402
from storage.rules import Actor  # noqa: E402

VIEWER = Actor("U00001", "seller", TEAM)


def floor_open_tasks(db: Database) -> Callable[[], object]:
    """One query reading every open plan's tasks."""

    def run() -> object:
        with db.engine.connect() as conn:
            return conn.execute(
                select(
                    Task.id,
                    Task.plan_id,
                    Task.title,
                    Task.status,
                    Task.owner_side,
                    Task.internal,
                    Task.due_date,
                )
                .join(Plan, Plan.id == Task.plan_id)
                .where(Plan.archived.is_(False))
            ).all()

    return run


def the_pipeline(db: Database) -> Callable[[], object]:
    def run() -> object:
        with db.read() as s:
            view = pipeline(s, VIEWER, at=MONDAY, rows=PAGE)
        return pipeline_message(view), view.total

    return run


def measure(label: str, url: str, plans: int) -> None:
    db = Database(url)
    db.upgrade()
    seed(db, plans)
    with db.engine.begin() as conn:
        conn.execute(
            insert(Manager),
            [{"team_id": TEAM, "user_id": VIEWER.user_id, "added_by": "bench", "added_at": MONDAY}],
        )
    clock.set_clock(lambda: MONDAY)
    counter = Counter(db)
    floor, _ = timed(floor_open_tasks(db))
    # Cold: no health recorded yet, every plan is assessed by the pipeline itself.
    counter.n = 0
    cold, _ = timed(the_pipeline(db), repeat=1)
    cold_statements = counter.n
    t0 = time.perf_counter()
    health_pass.run(db, MONDAY)  # what every tick does (reminders.health_pass)
    recorded = time.perf_counter() - t0
    counter.n = 0
    took, result = timed(the_pipeline(db))
    statements = counter.n // 3
    shown = result[1]  # type: ignore[index]
    print(
        f"{label:10} plans={plans:6} | pipeline {took * 1000:6.0f} ms for {shown} plans "
        f"(floor {floor * 1000:5.0f} ms, {took / floor:4.1f}×, {statements} statements) | "
        f"cold {cold * 1000:6.0f} ms ({cold / floor:4.1f}×, {cold_statements} statements) | "
        f"health pass {recorded * 1000:6.0f} ms"
    )
    clock.set_clock(None)
    db.dispose()


def twelve_milestones() -> Timeline:
    start = date(2026, 1, 5)
    statuses = ["completed"] * 4 + ["in_progress"] * 2 + ["not_started"] * 6
    bars = tuple(
        Bar(f"Milestone {i}", start + timedelta(7 * i), start + timedelta(7 * i + 7), s)
        for i, s in enumerate(statuses)
    )
    forecast = ForecastRange(date(2026, 3, 30), date(2026, 4, 8), date(2026, 4, 24))
    return Timeline("Acme rollout", bars, date(2026, 2, 10), date(2026, 4, 1), forecast)


def timeline() -> None:
    t = twelve_milestones()
    t0 = time.perf_counter()
    render_png(t)
    cold = time.perf_counter() - t0
    warm, png = timed(lambda: render_png(t), repeat=5)
    size = len(png)  # type: ignore[arg-type]
    print(
        f"timeline PNG, 12 milestones: cold {cold * 1000:.0f} ms, warm {warm * 1000:.0f} ms "
        f"(median of 5), {size / 1024:.0f} KiB, {t.size[0]}×{t.size[1]} px"
    )


def main() -> None:
    args = parser().parse_args()
    timeline()
    tmp = tempfile.mkdtemp(prefix="mapbot-pbench-")
    sizes = (args.plans // 10, args.plans)
    for n in sizes:
        measure("SQLite", f"sqlite:///{tmp}/p{n}.db", n)
    if not args.no_pg:
        for n in sizes:
            measure("PostgreSQL", fresh_pg(args.pg, f"mapbot_pbench_{n}"), n)
    print(
        "targets: pipeline ≤ 5× floor (full size), statements the same at both sizes; "
        "timeline ≤ 300 ms"
    )


if __name__ == "__main__":
    main()
