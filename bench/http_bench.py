"""HTTP benchmark: our `/map status` and Complete click beside a bare Bolt app,
both with the same number of HTTP processes.

Ours is `mapbot serve --workers N` as an operator runs it (N waitress processes
on one socket, the scheduler and delivery in the supervisor); the bare app is a
Bolt app that only acks, run by the same pre-fork (bot/prefork.py) with N
processes. Loopback, Slack's Web API stood in by LocalSlack in a process of its
own, SQLite by default (`--database-url` for PostgreSQL); the load comes from
this process over keep-alive connections with Slack-signed requests.

    .venv/bin/python bench/http_bench.py [--workers N] [--seconds 10] [--concurrency 4]

Prints requests/s, p50 and p99 latency for each, and ours as a ratio of the
bare app's throughput in the same run. Targets (issue 9): ≥ 30 % of bare
throughput (stretch 50 %), p99 ≤ 20 ms at 4 connections.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.local_slack import payloads  # noqa: E402

SECRET = "bench-signing-secret"
TOKEN = "xoxb-bench"
TEAM = "T0LEXCORP"
CHANNEL = "C0BENCH"
SELLER = "U0LEX"


# --- the servers (child processes) ------------------------------------------------


def _serve_slack() -> None:
    """Slack's stand-in in a process of its own, as Slack is in production."""
    from bot.local_slack import LocalSlack

    local = LocalSlack(team_id=TEAM, tokens={TOKEN}).start()
    local.add_user(SELLER, team_id=TEAM, name="lex")
    local.add_channel(CHANNEL, "bench-deal")
    print(f"url {local.base_url}", flush=True)
    while True:
        time.sleep(3600)


def _seed(db_url: str) -> int:
    """The 120-task plan (12 milestones of 10), written before the server starts."""
    from storage import services
    from storage.db import Database
    from storage.rules import Actor

    db = Database(db_url)
    db.upgrade()
    seller = Actor(SELLER, "seller", TEAM)
    with db.write() as s:
        plan = services.create_plan(s, seller, CHANNEL, "Bench deal", target_date=date(2027, 6, 1))
        for m in range(12):
            milestone = services.add_milestone(s, seller, plan, f"Milestone {m + 1}")
            for t in range(10):
                services.add_task(
                    s,
                    seller,
                    plan,
                    f"Task {m * 10 + t + 1} " + "words " * 20,
                    milestone=milestone,
                    owner_side=("buyer", "seller", "mutual")[t % 3],
                )
    db.dispose()
    return plan.id


def _bare_child(fd: int) -> None:
    """One HTTP process of the bare app: Bolt, ack only, on the shared socket."""
    from slack_bolt import App
    from slack_bolt.adapter.wsgi import SlackRequestHandler
    from slack_sdk import WebClient
    from waitress import create_server

    from bot.server import THREADS

    app = App(
        client=WebClient(token=TOKEN, base_url=os.environ["SLACK_API_URL"]),
        signing_secret=SECRET,
        process_before_response=True,
    )

    @app.command("/map")
    def _cmd(ack):  # type: ignore[no-untyped-def]
        ack()

    @app.action(re.compile(".*"))
    def _act(ack):  # type: ignore[no-untyped-def]
        ack()

    create_server(
        SlackRequestHandler(app), sockets=[socket.socket(fileno=fd)], threads=THREADS
    ).run()


def _serve_bare(port: int, workers: int) -> None:
    """The bare app's supervisor: the same pre-fork as ours, with N processes."""
    from bot.prefork import Prefork, listen

    pool = Prefork(listen("127.0.0.1", port), workers, command=(__file__, "--bare-child"))
    pool.start()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        pool.watch()
    finally:
        pool.stop()


# --- the load --------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(
    kind: str, workers: int, db_url: str, slack_url: str
) -> tuple[subprocess.Popen[str], int]:
    """Our `mapbot serve`, or the bare app, on a free port; returns once it answers."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "MAPBOT_"))}
    env.update(
        PYTHONPATH=str(ROOT),
        SLACK_API_URL=slack_url,
        SLACK_BOT_TOKEN=TOKEN,
        SLACK_SIGNING_SECRET=SECRET,
        DATABASE_URL=db_url,
        HOST="127.0.0.1",
        PORT=str(port),
        MAPBOT_WORKERS=str(workers),
        LOG_LEVEL="WARNING",
    )
    argv = (
        ["-m", "bot.cli", "serve"]
        if kind == "ours"
        else [__file__, "--serve", "bare", "--port", str(port), "--workers", str(workers)]
    )
    proc = subprocess.Popen([sys.executable, *argv], env=env, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            conn.getresponse().read()
            conn.close()
            return proc, port
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{kind} never answered on port {port}")


Body = Callable[[int], str]
SLICE = 2.0  # seconds each server gets per turn


def _load(
    port: int, make_body: Body, seconds: float, concurrency: int
) -> tuple[float, list[float]]:
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    deadline = time.perf_counter() + seconds
    errors: list[str] = []

    def worker(k: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        i = k
        while time.perf_counter() < deadline:
            body = make_body(i)
            headers = payloads.signed_headers(body, SECRET)
            t0 = time.perf_counter()
            conn.request("POST", "/slack/events", body=body.encode(), headers=headers)
            resp = conn.getresponse()
            resp.read()
            latencies[k].append(time.perf_counter() - t0)
            if resp.status != 200:
                errors.append(str(resp.status))
            i += concurrency
        conn.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise SystemExit(f"{len(errors)} requests failed: {sorted(set(errors))}")
    flat = [x for per in latencies for x in per]
    return len(flat) / elapsed, flat


def _status_body(_i: int) -> str:
    return payloads.slash_command_body(
        text="status", user_id=SELLER, team_id=TEAM, channel_id=CHANNEL
    )


def _click_body(plan_id: int) -> Body:
    # Alternate Complete and Reopen on 40 tasks so every click is a real change
    # (one count across slices and connections: itertools.count is atomic).
    clicks = itertools.count()

    def body(_i: int) -> str:
        n = next(clicks)
        task_id = n % 40 + 1
        action = "task.complete" if (n // 40) % 2 == 0 else "task.reopen"
        return payloads.block_actions_body(
            user_id=SELLER,
            user_team_id=TEAM,
            team_id=TEAM,
            channel_id=CHANNEL,
            action={
                "action_id": action,
                "block_id": "b",
                "value": f"{plan_id}:{task_id}",
                "type": "button",
            },
        )

    return body


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=10, help="per measurement, in 2 s slices")
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--database-url", help="default: a SQLite file per run")
    ap.add_argument("--serve")
    ap.add_argument("--port", type=int)
    ap.add_argument("--bare-child", type=int, metavar="FD")
    args = ap.parse_args()
    if args.serve == "slack":
        _serve_slack()
        return
    if args.bare_child is not None:
        _bare_child(args.bare_child)
        return
    if args.serve == "bare":
        _serve_bare(args.port, args.workers)
        return

    slack = subprocess.Popen(
        [sys.executable, __file__, "--serve", "slack"], stdout=subprocess.PIPE, text=True
    )
    assert slack.stdout is not None
    slack_url = slack.stdout.readline().split()[1]

    tmp = tempfile.mkdtemp(prefix="mapbot-bench-")
    where = "PostgreSQL" if args.database_url else "SQLite"
    rounds = max(1, round(args.seconds / SLICE))
    print(
        f"HTTP on loopback, {args.workers} HTTP processes each, {args.concurrency} connections,"
        f" {rounds} × {SLICE:.0f} s each, interleaved, {where}, 120-task plan"
    )
    db_url = args.database_url or f"sqlite:///{os.path.join(tmp, 'bench.db')}"
    if args.database_url:
        _empty(db_url)
    plan_id = _seed(db_url)
    bare, bare_port = _start("bare", args.workers, db_url, slack_url)
    ours, ours_port = _start("ours", args.workers, db_url, slack_url)
    runs: dict[str, tuple[int, Body]] = {
        "bare Bolt ack (status)": (bare_port, _status_body),
        "bare Bolt ack (click)": (bare_port, _click_body(plan_id)),
        "/map status": (ours_port, _status_body),
        "Complete click": (ours_port, _click_body(plan_id)),
    }
    # Both servers run throughout (an idle one costs nothing) and take turns in
    # short slices, so a shared machine's load drifting during the run falls on
    # both alike: the ratios are what count.
    done: dict[str, tuple[float, list[float]]] = {name: (0.0, []) for name in runs}
    try:
        for port, body in runs.values():
            _load(port, body, 3.0, args.concurrency)  # warm-up: every process up and warm
        for _ in range(rounds):
            for name, (port, body) in runs.items():
                rps, lat = _load(port, body, SLICE, args.concurrency)
                elapsed, all_lat = done[name]
                done[name] = (elapsed + len(lat) / rps, all_lat + lat)
    finally:
        for proc in (bare, ours):
            proc.terminate()
            proc.wait(30)
    results = {
        name: (len(lat) / elapsed, _pct(lat, 0.5), _pct(lat, 0.99))
        for name, (elapsed, lat) in done.items()
    }
    slack.terminate()
    print(f"{'':26} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'vs bare':>8}")
    for name, (rps, p50, p99) in results.items():
        bare = results["bare Bolt ack (status)" if "status" in name else "bare Bolt ack (click)"][0]
        print(f"{name:26} {rps:8.0f} {p50:8.1f} {p99:8.1f} {rps / bare:8.0%}")
    pairs = (
        ("/map status", "bare Bolt ack (status)"),
        ("Complete click", "bare Bolt ack (click)"),
    )
    ok = all(results[n][0] >= 0.3 * results[b][0] and results[n][2] <= 20 for n, b in pairs)
    print("targets (≥ 30 % of bare throughput, p99 ≤ 20 ms):", "met" if ok else "NOT met")


def _empty(db_url: str) -> None:
    """A PostgreSQL database given by URL starts each run without plans."""
    from sqlalchemy import text

    from storage.db import Database

    db = Database(db_url)
    db.upgrade()
    with db.write() as s:
        s.execute(text("TRUNCATE plan, outbox, seen_request RESTART IDENTITY CASCADE"))
    db.dispose()


if __name__ == "__main__":
    main()
