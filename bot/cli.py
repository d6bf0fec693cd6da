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
    if not settings.has_slack:
        print(
            "SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN (or SLACK_CLIENT_ID) must be set; "
            "run `mapbot shell` to try it locally.",
            file=sys.stderr,
        )
        return 2
    from bot.app import create_app

    app = create_app(settings)
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


if __name__ == "__main__":
    sys.exit(main())
