"""Where one request's time goes: the app in this process, no HTTP server.

    .venv/bin/python bench/request_profile.py [--requests 300] [--database-url URL] [--profile]

Builds the app as an HTTP process of `mapbot serve --workers N` builds it (it only
marks refreshes; no delivery here), seeds bench/http_bench.py's 120-task plan, and
calls the WSGI app directly with Slack-signed bodies: `/map status` and a Complete
click, each `--requests` times. Prints, per request, the SQL statements run on the
request's path and in the work after its ack (a `before_cursor_execute` listener),
and the mean CPU time of both (this process's, so a busy machine weighs less); `--profile` adds cProfile's top functions by own time.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import re
import sys
import tempfile
import time
from collections import Counter as Tally
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import event  # noqa: E402

from bench import http_bench  # noqa: E402
from bot.app import build  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.local_slack import LocalSlack, payloads  # noqa: E402
from bot.server import wsgi_app  # noqa: E402
from storage.db import Database  # noqa: E402


class Statements:
    """SQL statements run on the engine, by their first words."""

    def __init__(self, db: Database) -> None:
        self.seen: Tally[str] = Tally()
        event.listen(db.engine, "before_cursor_execute", self._count)

    def _count(self, _conn: Any, _cursor: Any, statement: str, *_a: object) -> None:
        self.seen[" ".join(statement.split()[:4])[:60]] += 1

    def take(self) -> Tally[str]:
        seen, self.seen = self.seen, Tally()
        return seen


def _environ(body: str) -> dict[str, Any]:
    data = body.encode()
    headers = payloads.signed_headers(body, http_bench.SECRET)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/slack/events",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "3000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.input": io.BytesIO(data),
        "wsgi.url_scheme": "http",
        "CONTENT_LENGTH": str(len(data)),
    }
    for name, value in headers.items():
        key = name.upper().replace("-", "_")
        environ[key if key == "CONTENT_TYPE" else f"HTTP_{key}"] = value
    return environ


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=300)
    ap.add_argument("--database-url", help="default: a SQLite file per run")
    ap.add_argument("--profile", action="store_true", help="cProfile's top 30 by own time")
    ap.add_argument("--only", choices=("status", "click"), help="one of the two requests")
    args = ap.parse_args()

    local = LocalSlack(team_id=http_bench.TEAM, tokens={http_bench.TOKEN}).start()
    local.add_user(http_bench.SELLER, team_id=http_bench.TEAM, name="lex")
    local.add_channel(http_bench.CHANNEL, "bench-deal")
    tmp = tempfile.mkdtemp(prefix="mapbot-profile-")
    url = args.database_url or f"sqlite:///{os.path.join(tmp, 'profile.db')}"
    if args.database_url:
        http_bench._empty(url)
    plan_id = http_bench._seed(url)
    settings = Settings.from_env(
        {
            "SLACK_API_URL": local.base_url,
            "SLACK_BOT_TOKEN": http_bench.TOKEN,
            "SLACK_SIGNING_SECRET": http_bench.SECRET,
            "DATABASE_URL": url,
            "LOG_LEVEL": "WARNING",
        }
    )
    db = Database(url)
    bot = build(settings, db, upgrade=False, deliver=False, verify_token=False)
    app = wsgi_app(bot.app, db)
    statements = Statements(db)

    def call(body: str) -> None:
        status: list[str] = []
        b"".join(app(_environ(body), lambda s, _h, _e=None: status.append(s)))
        if not status[0].startswith("200"):
            raise SystemExit(f"answered {status[0]}")

    runs: dict[str, Callable[[int], str]] = {
        "/map status": http_bench._status_body(
            [local.response_url(http_bench.CHANNEL, http_bench.SELLER)]
        ),
        "Complete click": http_bench._click_body(plan_id),
    }
    if args.only:
        runs = {k: v for k, v in runs.items() if args.only in k.lower()}
    first = payloads.slash_command_body(
        text="status",
        user_id=http_bench.SELLER,
        team_id=http_bench.TEAM,
        channel_id=http_bench.CHANNEL,
        response_url=local.response_url(http_bench.CHANNEL, http_bench.SELLER),
    )
    call(first)  # the first sight of the seller: users.info, the reply by response_url
    bot.deps.settle(10)
    profiler = cProfile.Profile() if args.profile else None
    for name, make_body in runs.items():
        for i in range(20):  # warm: caches, pools, compiled statements
            call(make_body(i))
        bot.deps.after.settle(10)
        statements.take()
        on_path = after = 0.0
        path_sql: Tally[str] = Tally()
        after_sql: Tally[str] = Tally()
        for i in range(args.requests):
            body = make_body(i)
            if profiler:
                profiler.enable()
            t0 = time.process_time()  # CPU, not wall: a shared machine's load drifts
            call(body)
            t1 = time.process_time()
            path_sql += statements.take()
            bot.deps.after.settle(10)
            after += time.process_time() - t1
            if profiler:
                profiler.disable()
            on_path += t1 - t0
            after_sql += statements.take()
        n = args.requests
        print(
            f"{name}: {on_path / n * 1000:.2f} ms on the request's path "
            f"({sum(path_sql.values()) / n:.1f} statements), {after / n * 1000:.2f} ms after "
            f"the ack ({sum(after_sql.values()) / n:.1f} statements)"
        )
        for label, seen in (("path", path_sql), ("after", after_sql)):
            for stmt, count in seen.most_common():
                print(f"    {label:5} {count / n:5.1f}  {stmt}")
    if profiler:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(30)
        print(out.getvalue())
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(60)
        print(out.getvalue())
    bare = _bare_wsgi(local.base_url)
    for name, make_body in runs.items():
        for i in range(20):
            b"".join(bare(_environ(make_body(i)), lambda *_a: None))
        t0 = time.process_time()
        for i in range(args.requests):
            b"".join(bare(_environ(make_body(i)), lambda *_a: None))
        took = (time.process_time() - t0) / args.requests
        print(f"bare Bolt ack ({name}): {took * 1000:.2f} ms")
    bot.deps.stop()
    local.stop()


def _bare_wsgi(slack_url: str) -> Callable[..., Any]:
    """bench/http_bench.py's bare app (Bolt, ack only), as a WSGI app."""
    from slack_bolt import App
    from slack_bolt.adapter.wsgi import SlackRequestHandler
    from slack_sdk import WebClient

    app = App(
        client=WebClient(token=http_bench.TOKEN, base_url=slack_url),
        signing_secret=http_bench.SECRET,
        process_before_response=True,
        token_verification_enabled=False,
    )
    app.command("/map")(lambda ack: ack())
    app.action(re.compile(".*"))(lambda ack: ack())
    return SlackRequestHandler(app)


if __name__ == "__main__":
    main()
