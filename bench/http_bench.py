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
bare app's throughput in the same run; then the CPU each process spent per 1,000
requests during the slices (Linux /proc): the HTTP processes, the supervisor
(ours: the scheduler and delivery), Slack's stand-in and this load generator,
all on the same cores, so what the stand-in costs is told apart from ours. Targets (issue 9): ≥ 30 % of bare
throughput (stretch 50 %), p99 ≤ 20 ms at 4 connections.
"""

from __future__ import annotations

import argparse
import atexit
import collections
import http.client
import itertools
import logging
import os
import re
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
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
RESPONSE_URLS = 8  # 5 uses each, as Slack's


# --- the servers (child processes) ------------------------------------------------


def _serve_slack() -> None:
    """Slack's stand-in in a process of its own, as Slack is in production."""
    from bot.local_slack import LocalSlack

    local = LocalSlack(team_id=TEAM, tokens={TOKEN}).start()
    local.add_user(SELLER, team_id=TEAM, name="lex")
    local.add_channel(CHANNEL, "bench-deal")
    # Response URLs for the warm-up's first sight of the seller in each HTTP
    # process (looked up after the ack, answered through the command's URL).
    urls = " ".join(local.response_url(CHANNEL, SELLER) for _ in range(RESPONSE_URLS))
    print(f"url {local.base_url} {urls}", flush=True)
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

    from bot.config import default_threads, http_threads
    from bot.prefork import http_server

    # As ours at LOG_LEVEL=WARNING: no "Task queue depth" line per queued request.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
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

    http_server(  # ours' server, sharing out connections as ours does
        SlackRequestHandler(app),
        fd,
        # As many threads as ours (bot.prefork): the same setting, the same default.
        threads=http_threads(os.environ.get("MAPBOT_HTTP_THREADS"))
        or default_threads(2, os.environ["DATABASE_URL"].startswith("sqlite")),
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
    if os.environ.get("MAPBOT_HTTP_THREADS"):  # --threads: both apps alike
        env["MAPBOT_HTTP_THREADS"] = os.environ["MAPBOT_HTTP_THREADS"]
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
BATCH = 4000  # requests signed ahead of each slice (more are signed on the way if needed)


class Feed:
    """One measurement's requests, built and signed before its slices start, as
    raw HTTP bytes, so the load generator's CPU goes to sending and timing. Each
    request has a signature of its own (the app refuses a replayed one), and
    what a slice leaves unsent is sent first in the next (the clicks alternate
    Complete and Reopen in order: none is a no-op)."""

    def __init__(self, port: int, make_body: Body) -> None:
        self.head = f"POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        self.make_body = make_body
        self.made = 0
        self.ready: collections.deque[bytes] = collections.deque()

    def top_up(self, n: int = BATCH) -> None:
        while len(self.ready) < n:
            self.ready.append(self._request(self.made))
            self.made += 1

    def next(self) -> bytes:
        if not self.ready:
            self.top_up(1)
        return self.ready.popleft()

    def _request(self, i: int) -> bytes:
        body = self.make_body(i).encode()
        headers = payloads.signed_headers(body.decode(), SECRET)
        lines = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        return f"{self.head}{lines}Content-Length: {len(body)}\r\n\r\n".encode() + body


class _Conn:
    """One keep-alive connection: a request in flight, its answer read as it comes."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.sent = 0.0

    def send(self, request: bytes) -> None:
        self.buf = b""
        self.sent = time.perf_counter()
        self.sock.sendall(request)

    def answer(self) -> int | None:
        """The status once the whole answer is in (Content-Length), else None."""
        chunk = self.sock.recv(65536)
        if not chunk:
            raise SystemExit("the server closed a keep-alive connection")
        self.buf += chunk
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            return None
        head = self.buf[:end].decode("latin-1").split("\r\n")
        length = next(
            (int(h.split(":", 1)[1]) for h in head if h.lower().startswith("content-length:")),
            None,
        )
        if length is None:
            raise SystemExit(f"an answer without Content-Length: {head}")
        if len(self.buf) < end + 4 + length:
            return None
        return int(head[0].split()[1])


def _load(port: int, feed: Feed, seconds: float, concurrency: int) -> tuple[float, list[float]]:
    """`concurrency` connections, each sending its next request as soon as the
    last is answered, for `seconds`; one thread and a selector, so the timing
    of one answer never waits on another connection's work (no GIL between
    them). Returns requests/s and each request's latency in seconds."""
    feed.top_up()
    conns = [_Conn(port) for _ in range(concurrency)]
    latencies: list[float] = []
    errors: list[int] = []
    with selectors.DefaultSelector() as sel:
        started = time.perf_counter()
        deadline = started + seconds
        for conn in conns:
            sel.register(conn.sock, selectors.EVENT_READ, conn)
            conn.send(feed.next())
        busy = len(conns)
        while busy:
            for key, _ in sel.select(timeout=10):
                conn = key.data
                status = conn.answer()
                if status is None:
                    continue
                now = time.perf_counter()
                latencies.append(now - conn.sent)
                if status != 200:
                    errors.append(status)
                if now < deadline:
                    conn.send(feed.next())
                else:
                    sel.unregister(conn.sock)
                    busy -= 1
        elapsed = time.perf_counter() - started
    for conn in conns:
        conn.sock.close()
    if errors:
        raise SystemExit(f"{len(errors)} requests failed: {sorted(set(errors))}")
    return len(latencies) / elapsed, latencies


# --- CPU per process (Linux /proc) ---------------------------------------------------

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _cpu_of(pid: int) -> float:
    """User + system CPU seconds of a process, all its threads (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK


def _children_of(pid: int) -> list[int]:
    kids = []
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else ():
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if ppid == pid:
                kids.append(int(entry))
    return kids


def _cpu_parts(supervisor: int, slack: int) -> dict[str, float]:
    """CPU seconds so far of each part of one measured run."""
    return {
        "HTTP processes": sum(_cpu_of(k) for k in _children_of(supervisor)),
        "supervisor": _cpu_of(supervisor),
        "Slack stand-in": _cpu_of(slack),
        "load generator": time.process_time(),
    }


def _status_body(urls: list[str]) -> Body:
    def body(i: int) -> str:
        return payloads.slash_command_body(
            text="status",
            user_id=SELLER,
            team_id=TEAM,
            channel_id=CHANNEL,
            response_url=urls[i % len(urls)],
        )

    return body


def _click_body(plan_id: int) -> Body:
    # Alternate Complete and Reopen on 40 tasks so every click is a real change
    # (the bodies are built in order and sent in that order, across slices).
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
    ap.add_argument(
        "--threads", type=int, help="waitress threads per HTTP process, both apps (default: ours)"
    )
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

    if args.threads:  # both apps' HTTP processes read it (bot.prefork, _bare_child)
        os.environ["MAPBOT_HTTP_THREADS"] = str(args.threads)
    slack = subprocess.Popen(
        [sys.executable, __file__, "--serve", "slack"], stdout=subprocess.PIPE, text=True
    )
    atexit.register(slack.terminate)  # also when the run fails: no stand-in left behind
    assert slack.stdout is not None
    _, slack_url, *response_urls = slack.stdout.readline().split()
    status_body = _status_body(response_urls)

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
    runs: dict[str, tuple[int, Feed]] = {
        "bare Bolt ack (status)": (bare_port, Feed(bare_port, status_body)),
        "bare Bolt ack (click)": (bare_port, Feed(bare_port, _click_body(plan_id))),
        "/map status": (ours_port, Feed(ours_port, status_body)),
        "Complete click": (ours_port, Feed(ours_port, _click_body(plan_id))),
    }
    supervisor = {bare_port: bare.pid, ours_port: ours.pid}
    cpu: dict[str, dict[str, float]] = {name: {} for name in runs}
    # Both servers run throughout (an idle one costs nothing) and take turns in
    # short slices, so a shared machine's load drifting during the run falls on
    # both alike: the ratios are what count.
    done: dict[str, tuple[float, list[float]]] = {name: (0.0, []) for name in runs}
    try:
        for port, feed in runs.values():
            _load(port, feed, 3.0, args.concurrency)  # warm-up: every process up and warm
        for _ in range(rounds):
            for name, (port, feed) in runs.items():
                feed.top_up()  # signed before the clock starts, and before the CPU count
                before = _cpu_parts(supervisor[port], slack.pid)
                rps, lat = _load(port, feed, SLICE, args.concurrency)
                time.sleep(0.2)  # what the slice left (the repost, respond()) is its own
                after = _cpu_parts(supervisor[port], slack.pid)
                for part, spent in after.items():
                    cpu[name][part] = cpu[name].get(part, 0.0) + spent - before[part]
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
    parts = list(next(iter(cpu.values())))
    print(f"\nCPU seconds per 1,000 requests (/proc; {SLICE:.0f} s slices + 0.2 s after each)")
    print(f"{'':26}" + "".join(f"{p:>16}" for p in parts))
    for name, spent in cpu.items():
        n = len(done[name][1]) / 1000
        print(f"{name:26}" + "".join(f"{spent[p] / n:16.2f}" for p in parts))
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
