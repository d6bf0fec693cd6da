"""HTTP benchmark: our `/map status` and Complete click beside a bare Bolt app.

Each server runs in its own process (waitress, loopback, SQLite default, Slack's
Web API stood in by LocalSlack); the load comes from this process over
keep-alive connections with Slack-signed requests.

    .venv/bin/python bench/http_bench.py [--seconds 10] [--concurrency 4]

Prints requests/s, p50 and p99 latency for each, and ours as a ratio of the
bare app's throughput. Targets (issue 2): ≥ 20 % of bare throughput, p99 ≤ 50 ms.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
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


def _serve_ours(port: int, db_url: str, slack_url: str) -> None:
    from waitress import serve

    from bot.app import build
    from bot.config import Settings
    from bot.server import wsgi_app
    from storage import services
    from storage.db import Database
    from storage.rules import Actor

    db = Database(db_url)
    bot = build(
        Settings(
            bot_token=TOKEN,
            signing_secret=SECRET,
            slack_api_url=slack_url,
            database_url=db_url,
        ),
        db,
    )
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
    print(f"plan {plan.id}", flush=True)
    serve(wsgi_app(bot.app, bot.deps.db), host="127.0.0.1", port=port, threads=4, _quiet=True)


def _serve_bare(port: int, slack_url: str) -> None:
    from slack_bolt import App
    from slack_bolt.adapter.wsgi import SlackRequestHandler
    from slack_sdk import WebClient
    from waitress import serve

    app = App(
        client=WebClient(token=TOKEN, base_url=slack_url),
        signing_secret=SECRET,
        process_before_response=True,
    )

    @app.command("/map")
    def _cmd(ack):  # type: ignore[no-untyped-def]
        ack()

    @app.action(re.compile(".*"))
    def _act(ack):  # type: ignore[no-untyped-def]
        ack()

    print("plan 0", flush=True)
    serve(SlackRequestHandler(app), host="127.0.0.1", port=port, threads=4, _quiet=True)


# --- the load --------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(kind: str, db_url: str, slack_url: str) -> tuple[subprocess.Popen[str], int, int]:
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--serve",
            kind,
            "--port",
            str(port),
            "--db",
            db_url,
            "--slack-url",
            slack_url,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    plan_id = int(proc.stdout.readline().split()[1])
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    return proc, port, plan_id


Body = Callable[[int], str]


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
    # Alternate Complete and Reopen on 40 tasks so every click is a real change.
    def body(i: int) -> str:
        task_id = i % 40 + 1
        action = "task.complete" if (i // 40) % 2 == 0 else "task.reopen"
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
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--serve")
    ap.add_argument("--port", type=int)
    ap.add_argument("--db")
    ap.add_argument("--slack-url")
    args = ap.parse_args()
    if args.serve == "slack":
        _serve_slack()
        return
    if args.serve == "ours":
        _serve_ours(args.port, args.db, args.slack_url)
        return
    if args.serve == "bare":
        _serve_bare(args.port, args.slack_url)
        return

    slack = subprocess.Popen(
        [sys.executable, __file__, "--serve", "slack"], stdout=subprocess.PIPE, text=True
    )
    assert slack.stdout is not None
    slack_url = slack.stdout.readline().split()[1]

    tmp = tempfile.mkdtemp(prefix="mapbot-bench-")
    print(
        f"HTTP on loopback, {args.concurrency} connections, {args.seconds:.0f} s each, SQLite, 120-task plan"
    )
    results: dict[str, tuple[float, float, float]] = {}
    for run, (name, kind) in enumerate(
        (
            ("bare Bolt ack (status)", "bare"),
            ("bare Bolt ack (click)", "bare"),
            ("/map status", "ours"),
            ("Complete click", "ours"),
        )
    ):
        db_url = f"sqlite:///{os.path.join(tmp, f'bench{run}.db')}"
        proc, port, plan_id = _start(kind, db_url, slack_url)
        try:
            body = _status_body if "status" in name else _click_body(plan_id or 1)
            _load(port, body, 1.0, args.concurrency)  # warm-up
            rps, lat = _load(port, body, args.seconds, args.concurrency)
            results[name] = (rps, _pct(lat, 0.5), _pct(lat, 0.99))
        finally:
            proc.terminate()
            proc.wait(10)
    slack.terminate()
    print(f"{'':26} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'vs bare':>8}")
    for name, (rps, p50, p99) in results.items():
        bare = results["bare Bolt ack (status)" if "status" in name else "bare Bolt ack (click)"][0]
        print(f"{name:26} {rps:8.0f} {p50:8.1f} {p99:8.1f} {rps / bare:8.0%}")
    ok = all(
        results[n][0] >= 0.2 * results[b][0] and results[n][2] <= 50
        for n, b in (
            ("/map status", "bare Bolt ack (status)"),
            ("Complete click", "bare Bolt ack (click)"),
        )
    )
    print("targets (≥ 20 % of bare throughput, p99 ≤ 50 ms):", "met" if ok else "NOT met")


if __name__ == "__main__":
    main()
