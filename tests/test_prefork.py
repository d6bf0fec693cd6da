"""`mapbot serve --workers 2`: two HTTP processes on one socket and one database
(a SQLite file, a PostgreSQL database), the supervisor alone running delivery.
Signed clicks from many connections at once all take effect exactly once, a
replayed request is refused whichever process gets it (the claim is in the
database, not in a process), the card ends right (sent by the supervisor), and
an HTTP process that dies is replaced while the other keeps answering."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.local_slack import LocalSlack, payloads
from reminders.delivery import refreshes
from storage import services
from storage.db import Database
from storage.models import Activity, Plan, Task
from storage.rules import Actor
from tests.harness import CHANNEL, SECRET, SELLER_TEAM, Harness, Response
from tests.processes import ROOT

SELLER = "U0LEX"
TOKEN = "xoxb-prefork"


def _port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _children(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(p) for p in text.split()]


@pytest.fixture
def local() -> Iterator[LocalSlack]:
    with LocalSlack(team_id=SELLER_TEAM, tokens={TOKEN}) as slack:
        slack.add_user(SELLER, team_id=SELLER_TEAM, name="lex")
        slack.add_channel(CHANNEL, "deal-monsters", members=[SELLER])
        yield slack


@pytest.fixture
def served(db: Database, local: LocalSlack, tmp_path: Path) -> Iterator[tuple[Harness, int]]:
    port = _port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MAPBOT_"))}
    env.update(
        PYTHONPATH=str(ROOT),
        DATABASE_URL=db.url,
        SLACK_API_URL=local.base_url,
        SLACK_BOT_TOKEN=TOKEN,
        SLACK_SIGNING_SECRET=SECRET,
        HOST="127.0.0.1",
        PORT=str(port),
    )
    with (tmp_path / "serve.log").open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "serve", "--workers", "2"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
    h = Harness(local, None, port)  # type: ignore[arg-type]
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()
            try:
                if h.get("/healthz").status == 200 and len(_children(proc.pid)) == 2:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "serve never answered"
            time.sleep(0.2)
        yield h, proc.pid
    finally:
        proc.terminate()
        proc.wait(30)
    assert proc.returncode == 0
    assert "Traceback" not in (tmp_path / "serve.log").read_text()


def _plan(db: Database, tasks: int) -> int:
    seller = Actor(SELLER, "seller", SELLER_TEAM)
    with db.write() as s:
        plan = services.create_plan(
            s, seller, CHANNEL, "Two processes", target_date=date(2027, 6, 1)
        )
        milestone = services.add_milestone(s, seller, plan, "Security review")
        for n in range(tasks):
            services.add_task(s, seller, plan, f"Task {n + 1}", milestone=milestone)
        refreshes.mark_card(s, SELLER_TEAM, plan.id, repost=True)  # as /map create does
        return plan.id


def _click(
    h: Harness, plan_id: int, task_id: int, ts: int | None = None
) -> tuple[str, dict[str, str]]:
    body = payloads.block_actions_body(
        user_id=SELLER,
        user_team_id=SELLER_TEAM,
        team_id=SELLER_TEAM,
        channel_id=CHANNEL,
        action={
            "action_id": "task.complete",
            "block_id": "b",
            "value": f"{plan_id}:{task_id}",
            "type": "button",
        },
    )
    return body, payloads.signed_headers(body, SECRET, timestamp=ts)


def test_two_processes_carry_out_every_click_once(
    db: Database, served: tuple[Harness, int], local: LocalSlack
) -> None:
    h, _ = served
    plan_id = _plan(db, 40)
    with db.read() as s:
        task_ids = list(s.scalars(select(Task.id).where(Task.plan_id == plan_id)))
    clicks = [_click(h, plan_id, task_id) for task_id in task_ids]
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda c: h.post(*c), clicks))
    assert [a.status for a in answers] == [200] * 40, {a.body for a in answers}
    # A click is carried out just after its answer (bot.after_ack): wait for the last.
    deadline = time.monotonic() + 60
    while True:
        with db.read() as s:
            statuses = set(s.scalars(select(Task.status).where(Task.plan_id == plan_id)))
            completions = s.scalar(
                select(func.count())
                .select_from(Activity)
                .where(Activity.plan_id == plan_id, Activity.action == "task.status")
            )
        if statuses == {"completed"} or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert statuses == {"completed"}
    assert completions == 40  # each once

    # The card, sent by the supervisor's delivery (the HTTP processes send nothing
    # after the answer), ends showing every task done.
    def card_done() -> bool:
        with db.read() as s:
            plan = s.get(Plan, plan_id)
            ts, channel = (plan.card_ts, plan.card_channel) if plan else (None, None)
        message = local.message(channel, ts) if ts and channel else None
        return message is not None and "40 of 40 tasks done" in str(message)

    assert local.wait_for(card_done, timeout=30)


def test_a_replay_is_refused_whichever_process_gets_it(
    db: Database, served: tuple[Harness, int]
) -> None:
    h, _ = served
    plan_id = _plan(db, 10)
    with db.read() as s:
        task_ids = list(s.scalars(select(Task.id).where(Task.plan_id == plan_id)))
    for task_id in task_ids:
        click = _click(h, plan_id, task_id, ts=int(time.time()))
        assert _race(h, click) == [200, 409]


def _race(h: Harness, click: tuple[str, dict[str, str]]) -> list[int]:
    """The same signed request on two connections at once: the statuses, sorted."""
    barrier = threading.Barrier(2)
    answers: list[Response] = []

    def send() -> None:
        barrier.wait()
        answers.append(h.post(*click))

    both = [threading.Thread(target=send) for _ in range(2)]
    for t in both:
        t.start()
    for t in both:
        t.join()
    return sorted(a.status for a in answers)


def test_a_dead_http_process_is_replaced(db: Database, served: tuple[Harness, int]) -> None:
    h, supervisor = served
    first, second = _children(supervisor)
    os.kill(first, signal.SIGKILL)
    assert h.get("/healthz").status == 200  # the other still answers
    deadline = time.monotonic() + 60
    while True:
        now = _children(supervisor)
        if len(now) == 2 and first not in now:
            break
        assert time.monotonic() < deadline, now
        time.sleep(0.2)
    assert second in now
    plan_id = _plan(db, 1)
    with db.read() as s:
        task_id = s.scalars(select(Task.id).where(Task.plan_id == plan_id)).one()
    assert h.post(*_click(h, plan_id, task_id)).status == 200
