"""`mapbot`: serve, socket, shell, tick, db upgrade.

With no Slack tokens set, plain `mapbot` starts the local shell.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from bot.config import Settings

log = logging.getLogger("mapbot")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mapbot", description="Mutual Action Plans in Slack.")
    sub = p.add_subparsers(dest="cmd")
    sub.add_parser("serve", help="HTTP mode: POST /slack/events, GET /healthz on $PORT")
    sub.add_parser("socket", help="Socket Mode (needs SLACK_APP_TOKEN)")
    shell = sub.add_parser("shell", help="the local shell: Slack stood in on loopback, SQLite")
    shell.add_argument("--demo", action="store_true", help="seed a realistic plan to play with")
    shell.add_argument("--db", help="database URL (default: a file mapbot-shell.db)")
    tick = sub.add_parser("tick", help="one reminder pass at an instant, then exit (cron, tests)")
    tick.add_argument("--at", help="ISO-8601 instant, e.g. 2026-12-07T14:00:00Z (default: now)")
    tick.add_argument("--pace", type=float, default=1.0, help="seconds between posts per channel")
    worker = sub.add_parser("worker", help="reminder ticks and delivery only, every minute")
    worker.add_argument("--pace", type=float, default=1.0, help="seconds between posts per channel")
    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_cmd", required=True)
    db_sub.add_parser("upgrade", help="apply Alembic migrations up to the latest")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = Settings.from_env()
    cmd = args.cmd or ("serve" if settings.has_slack else "shell")
    # The shell's screen is the conversation: only warnings go to the log there.
    logging.basicConfig(
        level=logging.WARNING if cmd == "shell" else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if cmd == "db":
        from storage.db import Database

        Database(settings.database_url).upgrade()
        print("database is up to date")
        return 0
    if cmd == "shell":
        from bot.shell.console import run_shell

        # Plain `mapbot` with no tokens: the shell, with the demo deal to look at.
        demo_plan = getattr(args, "demo", False) or args.cmd is None
        return run_shell(demo_plan=demo_plan, db_url=getattr(args, "db", None))
    if cmd in ("tick", "worker"):
        return _reminders(settings, args)
    if not settings.has_slack:
        print(
            "SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN (or SLACK_CLIENT_ID) must be set; "
            "run `mapbot shell` to try it locally.",
            file=sys.stderr,
        )
        return 2
    from bot.app import build
    from reminders.scheduler import start_scheduler

    bot = build(settings)
    app = bot.app
    start_scheduler(bot.deps.db, bot.deps.workspaces.client_for)
    if cmd == "socket":
        if not settings.app_token:
            print("Socket Mode needs SLACK_APP_TOKEN (xapp-…).", file=sys.stderr)
            return 2
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        SocketModeHandler(app, settings.app_token).start()  # type: ignore[no-untyped-call]
        return 0
    from bot.server import serve

    serve(app, settings.port)
    return 0


def _reminders(settings: Settings, args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from bot.app import workspaces_for
    from reminders.tick import tick
    from storage import clock
    from storage.db import Database

    if not (settings.bot_token or settings.client_id):
        print("SLACK_BOT_TOKEN (or the OAuth settings) must be set to send.", file=sys.stderr)
        return 2
    from bot.refresh_worker import RefreshWorker, refreshers

    db = Database(settings.database_url)
    db.upgrade()
    client_for = workspaces_for(settings, db).client_for
    if args.cmd == "tick":
        try:
            at = datetime.fromisoformat(args.at.replace("Z", "+00:00")) if args.at else clock.now()
        except ValueError:
            print(f"--at: not an ISO-8601 instant: {args.at!r}", file=sys.stderr)
            return 2
        at = at if at.tzinfo else at.replace(tzinfo=UTC)
        sending = refreshers(db, settings.card_update_interval)
        print(tick(db, at, client_for, pace=args.pace, refreshers=sending).summary())
        return 0
    from reminders.scheduler import start_scheduler

    # Cards and Homes too: what web processes marked (or left behind) goes out.
    RefreshWorker(db, client_for, interval=settings.card_update_interval).start()
    start_scheduler(db, client_for)
    log.info("worker: reminder ticks every minute")
    import threading

    threading.Event().wait()  # until the process is stopped
    return 0


if __name__ == "__main__":
    sys.exit(main())
