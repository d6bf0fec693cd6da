"""Reminder benchmark: 10,000 plans, 200,000 tasks, 5,000 people.

    .venv/bin/python bench/reminders_bench.py [--plans 10000] [--pg URL] [--no-pg]

For SQLite and PostgreSQL (MAPBOT_BENCH_POSTGRES_URL, default the test server):
- a tick with nothing new to send (everything due already queued: the steady state
  of a minute tick), beside its floor: one indexed query selecting the due rows;
- the Monday pass that builds every weekly digest, beside its floor: one query
  reading every open task with its plan; and the same pass as the tick runs it,
  writing every digest and nudge into an empty outbox (`plan_pass`), beside the
  same floor.
The weekly digests show the health and forecast lines the day's health pass
recorded (the tick runs it first): "Monday" and its comparison without health and
forecast are measured before any health pass, so every digest's lines are worked
out there; "written" after it, as the tick runs it, beside the health pass's time.
Prints times, ratios to the floors, SQL statements per pass (at two sizes, to show
they don't grow with the number of plans) and peak Python memory (tracemalloc).
Targets (issue 4): tick ≤ 3× floor, Monday pass ≤ 10× floor; issue 9: the pass
writing its 6,000 digests into the outbox ≤ 5× floor at 10,000 plans, both databases.
Beside the Monday pass, the same pass without plan health and the forecast (issue 11:
they add ≤ 2×).
"""

from __future__ import annotations

import gc
import random
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import delete, event, insert, select  # noqa: E402

from bench.common import fresh_pg, parser  # noqa: E402
from reminders import due, health_pass  # noqa: E402
from reminders.due import digests_due, due_messages  # noqa: E402
from reminders.snapshot import digest_candidates, load_state, nudge_dates  # noqa: E402
from reminders.tick import plan_pass  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.models import Activity, Milestone, Person, Plan, Task  # noqa: E402

ZONES = ["America/New_York", "America/Los_Angeles", "Europe/London", "Europe/Berlin", "Asia/Tokyo"]
MONDAY = datetime(2026, 12, 7, 23, 0, tzinfo=UTC)  # Monday: past 09:00 in every US/EU zone
TEAM = "T0BENCH"


def seed(db: Database, plans: int, tasks_per_plan: int = 20, people: int = 5000) -> None:
    rnd = random.Random(7)
    now = MONDAY - timedelta(days=1)
    today = MONDAY.date()
    with db.engine.begin() as conn:
        conn.execute(
            insert(Person),
            [
                {
                    "team_id": TEAM,
                    "user_id": f"U{i:05d}",
                    "home_team_id": TEAM if i % 3 else "T0BUYER",
                    "name": f"p{i}",
                    "tz": ZONES[i % len(ZONES)],
                    "is_guest": False,
                    "mute_digests": False,
                }
                for i in range(people)
            ],
        )
        conn.execute(
            insert(Plan),
            [
                {
                    "id": p + 1,
                    "team_id": TEAM,
                    "channel_id": f"C{p:06d}",
                    "title": f"Deal {p}",
                    "tz": ZONES[p % len(ZONES)],
                    "created_by": f"U{p % 500:05d}",
                    "created_at": now,
                    "updated_at": now,
                    "archived": False,
                    "next_task_number": tasks_per_plan + 1,
                    "overview_why": "",
                    "overview_goals": "",
                    "overview_success": "",
                    "buyers_can_edit": False,
                    "connected_teams": "",
                    "card_ts": "1.000001",
                    "card_channel": f"C{p:06d}",
                    "target_date": today + timedelta(days=60),
                    "remind_lead_days": 2,
                    "digest_weekday": 0,
                    "digest_minute": 540,
                    "remind_weekends": False,
                    "reminders_on": True,
                }
                for p in range(plans)
            ],
        )
        conn.execute(
            insert(Milestone),
            [
                {"id": p + 1, "plan_id": p + 1, "position": 1, "title": "Evaluation"}
                for p in range(plans)
            ],
        )
        rows = []
        for p in range(plans):
            for t in range(tasks_per_plan):
                rows.append(
                    {
                        "plan_id": p + 1,
                        "milestone_id": p + 1,
                        "number": t + 1,
                        "position": t + 1,
                        "title": f"Task {t}",
                        "owner_side": ("buyer", "seller", "mutual")[t % 3],
                        "assignee_id": f"U{rnd.randrange(people):05d}",
                        "status": (
                            status := ("not_started", "in_progress", "completed")[rnd.randrange(3)]
                        ),
                        # Completed tasks carry when: the forecast reads the plan's pace from them.
                        "completed_at": now - timedelta(days=rnd.randrange(40))
                        if status == "completed"
                        else None,
                        "internal": t % 7 == 0,
                        "due_date": today + timedelta(days=rnd.randrange(-40, 80)),
                        "due_business": False,
                        "due_pinned": False,
                        "risk": "on_track",
                        "risk_reason": "",
                        "notes": "",
                        "created_at": now,
                        "updated_at": now,
                    }
                )
            if len(rows) >= 20000:
                conn.execute(insert(Task), rows)
                rows = []
        if rows:
            conn.execute(insert(Task), rows)
        conn.execute(
            insert(Activity),
            [
                {
                    "plan_id": p + 1,
                    "actor_id": "U00001",
                    "actor_side": "seller",
                    "action": "plan.create",
                    "at": now - timedelta(days=p % 14),
                }
                for p in range(plans)
            ],
        )


class Counter:
    def __init__(self, db: Database) -> None:
        self.n = 0
        event.listen(db.engine, "before_cursor_execute", self._count)

    def _count(self, *_a: object, **_k: object) -> None:
        self.n += 1


def timed(fn: Callable[[], object], repeat: int = 3) -> tuple[float, object]:
    times = []
    result: object = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def floor_due(db: Database, at: datetime) -> Callable[[], object]:
    """The due rows: open tasks on a date some zone can be nudged about today."""
    dates = nudge_dates(at.date(), {2})

    def run() -> object:
        with db.engine.connect() as conn:
            return conn.execute(
                select(Task.id, Task.due_date, Task.assignee_id, Task.plan_id).where(
                    Task.due_date.in_(dates), Task.status != "completed"
                )
            ).all()

    return run


def floor_open_with_plan(db: Database) -> Callable[[], object]:
    def run() -> object:
        with db.engine.connect() as conn:
            return conn.execute(
                select(Task.id, Task.title, Task.status, Task.due_date, Plan.id, Plan.title)
                .join(Plan, Plan.id == Task.plan_id)
                .where(Task.status != "completed")
            ).all()

    return run


def monday_pass(db: Database, at: datetime) -> Callable[[], object]:
    def run() -> object:
        with db.read() as s:
            ids = digests_due(digest_candidates(s), at)
            state = load_state(s, at, digest_plan_ids=ids)
        return due_messages(state)

    return run


@contextmanager
def without_insight() -> Iterator[None]:
    """The Monday pass with no health or forecast worked out or rendered (bench
    only). The plan facts are still read: the digests' tasks come from them."""
    real = due.insight_lines, due._unhealthy
    due.insight_lines = lambda _facts, _today: []  # type: ignore[assignment]
    due._unhealthy = lambda _state, _plans: list  # type: ignore[assignment]
    try:
        yield
    finally:
        due.insight_lines, due._unhealthy = real


def measure(label: str, url: str, plans: int) -> dict[str, float]:
    db = Database(url)
    db.upgrade()
    t0 = time.perf_counter()
    seed(db, plans)
    seeded = time.perf_counter() - t0
    counter = Counter(db)
    # Queue everything due at Monday 23:00 UTC once: the next tick has nothing new.
    plan_pass(db, MONDAY)
    quiet = MONDAY + timedelta(minutes=1)
    tick_floor, _ = timed(floor_due(db, quiet))
    counter.n = 0
    tick_time, _ = timed(lambda: plan_pass(db, quiet))
    tick_statements = counter.n / 3
    mon_floor, _ = timed(floor_open_with_plan(db))
    # Health and forecast worked out in the pass (no health pass has run yet), with and
    # without them in turn, each the fastest of three, the previous run's messages
    # freed first: a heap still holding 10,000 digests (or a machine busier later)
    # must not weigh on one side only.
    with_times, bare_times = [], []
    for _ in range(3):
        gc.collect()
        with_times.append(timed(monday_pass(db, MONDAY), repeat=1)[0])
        gc.collect()
        with without_insight():
            counter.n = 0
            bare_times.append(timed(monday_pass(db, MONDAY), repeat=1)[0])
            bare_statements = counter.n
    cold_time, bare_time = min(with_times), min(bare_times)
    # The tick's health pass: every plan assessed on its first day (Monday, every
    # plan's digest day: their buyer lines recorded too); statements per batch.
    counter.n = 0
    first_health, changed = timed(lambda: health_pass.run(db, MONDAY), repeat=1)
    first_statements = counter.n
    # The Monday pass as the tick runs it, after that day's health pass.
    gc.collect()
    counter.n = 0
    mon_time, _ = timed(monday_pass(db, MONDAY))
    mon_statements = counter.n // 3
    messages = monday_pass(db, MONDAY)()
    with_lines = sum(
        1 for m in messages if m.kind == "digest.plan_weekly" and "🔮" in str(m.blocks)
    )
    digests = sum(1 for m in messages if m.kind == "digest.plan_weekly")
    del messages
    # Peak memory in a separate run: tracemalloc slows Python several-fold.
    gc.collect()
    tracemalloc.start()
    monday_pass(db, MONDAY)()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    written, queued = timed_written(db)
    # The next day's health pass (each plan's local date moved on; Tuesday is no
    # plan's digest day, so it keeps no digest lines).
    counter.n = 0
    next_health, _ = timed(lambda: health_pass.run(db, MONDAY + timedelta(days=1)), repeat=1)
    next_statements = counter.n
    print(
        f"{label:10} plans={plans:6} seed {seeded:5.1f}s | tick {tick_time * 1000:7.1f} ms "
        f"(floor {tick_floor * 1000:6.1f} ms, {tick_time / tick_floor:4.1f}×, {tick_statements:.0f} statements) | "
        f"Monday {mon_time * 1000:7.0f} ms (floor {mon_floor * 1000:6.0f} ms, {mon_time / mon_floor:4.1f}×, "
        f"{mon_statements} statements, {digests} digests, {with_lines} with a forecast line, "
        f"peak {peak / 2**20:5.0f} MiB) | "
        f"written {written * 1000:7.0f} ms ({written / mon_floor:4.1f}×, {queued} rows)\n"
        f"{'':10} before any health pass (lines worked out in the pass): {cold_time * 1000:7.0f} ms "
        f"({cold_time / mon_floor:4.1f}×); without health and forecast {bare_time * 1000:7.0f} ms "
        f"({bare_statements} statements): with them {cold_time / bare_time:4.2f}×\n"
        f"{'':10} health pass (in the tick): first day {first_health * 1000:7.0f} ms "
        f"({changed} plans changed health, {first_statements} statements), "
        f"next day {next_health * 1000:7.0f} ms ({next_statements} statements)"
    )
    db.dispose()
    return {
        "tick_ratio": tick_time / tick_floor,
        "mon_ratio": mon_time / mon_floor,
        "written_ratio": written / mon_floor,
        "insight_ratio": cold_time / bare_time,
    }


def measure_written(label: str, url: str, plans: int) -> dict[str, float]:
    """The floor and the pass writing into the outbox, in turn, three times each
    (medians): the figure issue 9 asks for, without the rest of `measure`."""
    db = Database(url)
    db.upgrade()
    seed(db, plans)
    # As the tick runs it: the day's health pass first (it records the lines the
    # digests show), timed on its own.
    health, _ = timed(lambda: health_pass.run(db, MONDAY), repeat=1)
    plan_pass(db, MONDAY)
    floors, writes = [], []
    queued = 0
    for _ in range(3):
        floors.append(timed(floor_open_with_plan(db), repeat=1)[0])
        written, queued = timed_written(db, repeat=1)
        writes.append(written)
    floor, written = statistics.median(floors), statistics.median(writes)
    print(
        f"{label:10} plans={plans:6} | written {written * 1000:7.0f} ms "
        f"(floor {floor * 1000:6.0f} ms, {written / floor:4.1f}×, {queued} rows) | "
        f"the day's health pass before it {health * 1000:6.0f} ms"
    )
    db.dispose()
    return {"written_ratio": written / floor}


def timed_written(db: Database, repeat: int = 3) -> tuple[float, int]:
    """The Monday pass as the tick runs it, into an emptied outbox each time
    (the emptying is not timed): median seconds, and rows it queued."""
    from storage.models import Outbox, ReminderMark

    times, queued = [], 0
    for _ in range(repeat):
        with db.write() as s:
            s.execute(delete(Outbox))
            s.execute(delete(ReminderMark))
        t0 = time.perf_counter()
        _due, queued = plan_pass(db, MONDAY)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), queued


def main() -> None:
    ap = parser()
    ap.add_argument(
        "--written-only",
        action="store_true",
        help="only the floor and the pass writing into the outbox (quicker, for side-by-side runs)",
    )
    args = ap.parse_args()
    import tempfile

    tmp = tempfile.mkdtemp(prefix="mapbot-rbench-")
    sizes = (args.plans // 10, args.plans)
    results = []
    run = measure_written if args.written_only else measure
    for n in sizes:
        results.append(run("SQLite", f"sqlite:///{tmp}/r{n}.db", n))
    if not args.no_pg:
        for n in sizes:
            results.append(run("PostgreSQL", fresh_pg(args.pg, f"mapbot_bench_{n}"), n))
    print(
        "targets: tick ≤ 3× floor, Monday pass ≤ 10× floor; written ≤ 5× floor (at the full "
        "size); health and forecast add ≤ 2× to the Monday pass (issue 11)"
    )


if __name__ == "__main__":
    main()
