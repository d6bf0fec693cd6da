"""Webhook benchmark (SQLite file, this machine): what events cost the change
that causes them, and how fast the outbox sends them to a loopback receiver.

    .venv/bin/python bench/webhook_bench.py [--clicks 300] [--tasks 500]

- a task status change (start/reopen) without the commit hook (the floor), with
  it and no webhook, and with two endpoints (one internal): the cost per click;
- a 500-task plan laid out in one transaction with two endpoints (1,000 rows);
- delivery of those rows to a receiver that answers at once: events a second.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("MAPBOT_SECRET_KEY", "bench passphrase long enough to stretch into a key")
os.environ["MAPBOT_WEBHOOK_ALLOW_PRIVATE"] = "1"

from sqlalchemy import event, func, select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from reminders import delivery  # noqa: E402
from storage import services, webhook_endpoints, webhook_events  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.models import Outbox, Task  # noqa: E402
from storage.rules import Actor  # noqa: E402
from tests.webhook_receiver import receiving  # noqa: E402

SELLER = Actor("U0LEX", "seller", "T0LEX")


def clicks(db: Database, task_id: int, n: int) -> float:
    """Median seconds of one status change (its own transaction)."""
    times = []
    for i in range(n):
        start = time.perf_counter()
        with db.write() as s:
            plan = services.lock_plan(s, s.get(Task, task_id).plan_id)  # type: ignore[union-attr]
            task = s.get(Task, task_id)
            assert task is not None
            services.set_task_status(
                s, SELLER, plan, task, "in_progress" if i % 2 == 0 else "not_started"
            )
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clicks", type=int, default=300)
    ap.add_argument("--tasks", type=int, default=500)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp, receiving() as rx:
        db = Database(f"sqlite:///{tmp}/bench.db")
        db.upgrade()
        with db.write() as s:
            plan = services.create_plan(s, SELLER, "C1", "Bench")
            m = services.add_milestone(s, SELLER, plan, "M")
            task_id = services.add_task(s, SELLER, plan, "T", milestone=m).id
        # The floor: the same click with the commit hook taken out.
        event.remove(Session, "before_commit", webhook_events._before_commit)
        floor = clicks(db, task_id, args.clicks)
        event.listen(Session, "before_commit", webhook_events._before_commit)
        quiet = clicks(db, task_id, args.clicks)
        for path, internal in (("/a", False), ("/b", True)):
            _, rx.secrets[path] = webhook_endpoints.add_endpoint(
                db, SELLER, rx.url(path), internal=internal
            )
        hooked = clicks(db, task_id, args.clicks)
        print(f"status change, no commit hook:  {floor * 1000:7.2f} ms (the floor)")
        print(f"status change, no webhook:      {quiet * 1000:7.2f} ms (median of {args.clicks})")
        print(
            f"status change, two webhooks:    {hooked * 1000:7.2f} ms (+{(hooked - quiet) * 1000:.2f} ms)"
        )
        # Send what the clicks queued, then time a template-sized layout alone.
        delivery.deliver(db, lambda _t: None, "bench", pace=0)
        with db.write() as s:
            plan2 = services.create_plan(s, SELLER, "C2", "Bench 2")
            m2 = services.add_milestone(s, SELLER, plan2, "M")
        start = time.perf_counter()
        with db.write() as s:
            plan2 = services.lock_plan(s, plan2.id)
            services.add_tasks(
                s, SELLER, plan2, [services.NewTask(f"Task {i}", m2) for i in range(args.tasks)]
            )
        layout = time.perf_counter() - start
        with db.read() as s:
            pending = s.scalar(
                select(func.count()).select_from(Outbox).where(Outbox.state == "pending")
            )
        print(f"{args.tasks} tasks in one transaction, {pending} webhook rows: {layout:.3f} s")
        start = time.perf_counter()
        sent = delivery.deliver(db, lambda _t: None, "bench", pace=0).sent
        took = time.perf_counter() - start
        print(f"delivered {sent} signed POSTs in {took:.2f} s: {sent / took:.0f} a second")
        db.dispose()


if __name__ == "__main__":
    main()
