"""`mapbot`: serve, socket, worker, shell, tick, db upgrade, --version.

With no Slack tokens set, plain `mapbot` starts the local shell. Whatever goes
wrong before the app runs (a bad setting, a token Slack refuses, a database or
Slack that does not answer) is one line on stderr: exit 2 for configuration,
1 for the rest, so a supervisor (systemd, compose) restarts and retries.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Callable, Sequence
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

from slack_sdk.errors import SlackApiError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from bot import logs

if TYPE_CHECKING:
    from apscheduler.schedulers.background import BackgroundScheduler
from bot.config import ConfigError, Settings, database_url

log = logging.getLogger("bot.cli")  # also when run as `python -m bot.cli`


class StartupError(Exception):
    """Something outside us refused or did not answer; said in one line."""


def _version() -> str:
    try:
        return version("mapbot")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mapbot", description="Mutual Action Plans in Slack.")
    p.add_argument("--version", action="version", version=f"mapbot {_version()}")
    sub = p.add_subparsers(dest="cmd")
    sub.add_parser("serve", help="HTTP: POST /slack/events, GET /healthz, /metrics on $HOST:$PORT")
    sub.add_parser("socket", help="Socket Mode (SLACK_APP_TOKEN; no signing secret needed)")
    shell = sub.add_parser("shell", help="the local shell: Slack stood in on loopback, SQLite")
    shell.add_argument("--demo", action="store_true", help="seed a realistic plan to play with")
    shell.add_argument(
        "--db", help="a SQLite file path or a database URL (default mapbot-shell.db)"
    )
    tick = sub.add_parser("tick", help="one reminder pass at an instant, then exit (cron, tests)")
    tick.add_argument("--at", help="ISO-8601 instant, e.g. 2026-12-07T14:00:00Z (default: now)")
    tick.add_argument("--pace", type=float, default=1.0, help="seconds between posts per channel")
    worker = sub.add_parser(
        "worker", help="reminder ticks and delivery only; GET /healthz, /metrics on $HOST:$PORT"
    )
    worker.add_argument("--pace", type=float, default=1.0, help="seconds between posts per channel")
    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_cmd", required=True)
    upgrade = db_sub.add_parser("upgrade", help="apply the migrations (safe with several replicas)")
    upgrade.add_argument("--db", help="a SQLite file path or a database URL (default DATABASE_URL)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_env()
    except ConfigError as e:
        return _fail(f"configuration error: {e}", 2)
    cmd = args.cmd or ("serve" if settings.has_slack else "shell")
    # The shell's screen is the conversation: only warnings go to the log there.
    level = settings.log_level if cmd != "shell" else max(settings.log_level, "WARNING", key=_rank)
    logs.configure(level, settings.log_format)
    try:
        return _run(cmd, args, settings)
    except ConfigError as e:
        return _fail(f"configuration error: {e}", 2)
    except StartupError as e:
        return _fail(str(e), 1)
    except OperationalError as e:
        given = getattr(args, "db", None)
        where = given or make_url(settings.database_url).render_as_string(hide_password=True)
        return _fail(f"database not answering at {where}: {_first_line(e.orig or e)}", 1)
    except OSError as e:  # a database file that cannot be made or opened
        return _fail(f"{type(e).__name__}: {e}", 1)


def _rank(level: str) -> int:
    return logs.LEVELS.index(level)


def _first_line(error: object) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _fail(message: str, code: int) -> int:
    log.debug("the traceback behind the line below", exc_info=True)  # LOG_LEVEL=DEBUG
    print(f"mapbot: {message}", file=sys.stderr)
    return code


def _run(cmd: str, args: argparse.Namespace, settings: Settings) -> int:
    if cmd == "db":
        from storage.db import Database

        url = database_url(args.db, "--db") if args.db else settings.database_url
        Database(url).upgrade()
        print("database is up to date")
        return 0
    if cmd == "shell":
        from bot.shell.console import run_shell

        # Plain `mapbot` with no tokens: the shell, with the demo deal to look at.
        demo_plan = getattr(args, "demo", False) or args.cmd is None
        db = getattr(args, "db", None)
        return run_shell(demo_plan=demo_plan, db_url=database_url(db, "--db") if db else None)
    if cmd in ("tick", "worker"):
        return _reminders(settings, args)
    if cmd == "socket":
        # Socket Mode receives over a WebSocket Slack opens for the app token:
        # no request to sign, so no signing secret.
        if not settings.app_token:
            raise ConfigError("Socket Mode needs SLACK_APP_TOKEN (xapp-…)")
        if not (settings.bot_token or settings.client_id):
            raise ConfigError("SLACK_BOT_TOKEN (or SLACK_CLIENT_ID) must be set")
    elif not settings.has_slack:
        raise ConfigError(
            "SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN (or SLACK_CLIENT_ID) must be set; "
            "run `mapbot shell` to try it locally"
        )
    _check_slack(settings)
    from bot.app import build
    from reminders.scheduler import start_scheduler

    bot = build(settings)
    scheduler = start_scheduler(bot.deps.db, bot.deps.workspaces.client_for)
    _drain_on_sigterm(scheduler, bot.deps.stop)
    if cmd == "socket":
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        app_token = settings.app_token or ""
        handler = SocketModeHandler(bot.app, app_token)
        try:
            opened = bot.app.client.apps_connections_open(app_token=app_token)
        except SlackApiError as e:
            raise StartupError(f"Slack refused SLACK_APP_TOKEN: {e.response.get('error')}") from e
        handler.client.wss_uri = opened["url"]  # the first connection, checked above
        handler.start()  # type: ignore[no-untyped-call]
        return 0
    from bot.server import serve, wsgi_app

    serve(wsgi_app(bot.app, bot.deps.db), settings.host, settings.port)
    return 0


def _drain_on_sigterm(scheduler: BackgroundScheduler, stop: Callable[[], None]) -> None:
    """SIGTERM (a deploy, `docker stop`, systemd): no new claims; the send in flight
    finishes and the rest goes back to the outbox for another process; then exit.
    (A message a killed process had begun is found in Slack by recovery.)"""

    def drain(_signum: int, _frame: object) -> None:
        log.info("SIGTERM: finishing what is in flight, handing back the rest")
        scheduler.shutdown(wait=False)  # no new tick
        stop()
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, drain)


def _check_slack(settings: Settings) -> None:
    """Ask Slack who the bot token is before starting, so a refused or unreachable
    token is one line, not Bolt's traceback. (OAuth mode has no token yet.)"""
    if not settings.bot_token:
        return
    from slack_sdk import WebClient

    # One try, and slack_sdk's own error lines kept out: the message below says it all.
    quiet = logging.getLogger("bot.cli.slack_check")
    quiet.disabled = True
    client = WebClient(
        settings.bot_token, base_url=settings.slack_api_url, timeout=10, logger=quiet
    )
    try:
        client.auth_test()
    except SlackApiError as e:
        raise StartupError(f"Slack refused SLACK_BOT_TOKEN: {e.response.get('error')}") from e
    except OSError as e:  # URLError, refused, DNS, TLS, timeout
        reason = getattr(e, "reason", None) or e
        raise StartupError(
            f"Slack's Web API not reachable at {settings.slack_api_url}: {reason}"
        ) from e


def _reminders(settings: Settings, args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from bot.app import workspaces_for
    from reminders.delivery.refresh_worker import RefreshWorker, refreshers
    from reminders.tick import tick
    from storage import clock
    from storage.db import Database

    if not (settings.bot_token or settings.client_id):
        raise ConfigError("SLACK_BOT_TOKEN (or the OAuth settings) must be set to send")
    at = None
    if args.cmd == "tick":
        try:
            at = datetime.fromisoformat(args.at.replace("Z", "+00:00")) if args.at else clock.now()
        except ValueError:
            raise ConfigError(f"--at: not an ISO-8601 instant: {args.at!r}") from None
    else:
        _check_slack(settings)
    db = Database(settings.database_url)
    db.upgrade()
    client_for = workspaces_for(settings, db).client_for
    if at is not None:
        at = at if at.tzinfo else at.replace(tzinfo=UTC)
        sending = refreshers(db, settings.card_update_interval)
        print(tick(db, at, client_for, pace=args.pace, refreshers=sending).summary())
        return 0
    from bot import observability
    from bot.server import serve
    from reminders.scheduler import start_scheduler

    # Cards and Homes too: what web processes marked (or left behind) goes out.
    refresher = RefreshWorker(db, client_for, interval=settings.card_update_interval)
    refresher.start()
    scheduler = start_scheduler(db, client_for)
    _drain_on_sigterm(scheduler, refresher.stop)
    log.info("worker: reminder ticks every minute")
    serve(observability.endpoints(db), settings.host, settings.port, threads=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
