"""`mapbot`: serve, socket, worker, shell, tick, db upgrade, --version.

With no Slack tokens set, plain `mapbot` starts the local shell. A bad setting
or a database that does not answer at start is one line on stderr: exit 2 for
configuration, 1 for the rest, so a supervisor (systemd, compose) restarts and
retries. Slack is different: `serve`, `socket` and `worker` start when Slack is
unreachable or refuses the token, log it in one line, keep trying in the
background and say so on /healthz (the outbox keeps what waits to be sent).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from bot import logs
from storage import clock

if TYPE_CHECKING:
    from bot.deps import Deps
    from storage.db import Database
from bot.config import ConfigError, Settings, database_url, default_threads, workers

log = logging.getLogger("bot.cli")  # also when run as `python -m bot.cli`


def _version() -> str:
    try:
        return version("mapbot")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mapbot", description="Mutual Action Plans in Slack.")
    p.add_argument("--version", action="version", version=f"mapbot {_version()}")
    sub = p.add_subparsers(dest="cmd")
    serve = sub.add_parser(
        "serve", help="HTTP: POST /slack/events, GET /healthz, /metrics on $HOST:$PORT"
    )
    serve.add_argument(
        "--workers",
        type=_workers,
        help="HTTP processes (default $MAPBOT_WORKERS, else one per core)",
    )
    sub.add_parser(
        "socket",
        help="Socket Mode (SLACK_APP_TOKEN; no signing secret); GET /healthz on $HOST:$PORT",
    )
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


def _workers(value: str) -> int:
    try:
        return workers(value, "--workers")
    except ConfigError as e:
        raise argparse.ArgumentTypeError(str(e).removeprefix("--workers: ")) from None


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
    if cmd == "tick":
        return _tick(settings, args)
    if not (settings.bot_token or settings.client_id):
        raise ConfigError("SLACK_BOT_TOKEN (or SLACK_CLIENT_ID) must be set")
    if cmd == "worker":
        return _worker(settings)
    if cmd == "socket":
        # Socket Mode receives over a WebSocket Slack opens for the app token:
        # no request to sign, so no signing secret.
        if not settings.app_token:
            raise ConfigError("Socket Mode needs SLACK_APP_TOKEN (xapp-…)")
        return _socket(settings)
    if not settings.has_slack:
        raise ConfigError(
            "SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN (or SLACK_CLIENT_ID) must be set; "
            "run `mapbot shell` to try it locally"
        )
    workers = getattr(args, "workers", None) or settings.workers
    return _serve(settings, workers)


# --- the long-running commands --------------------------------------------------------------
# Each starts whatever Slack says: a refused token or an unreachable Slack is one
# log line, retried in the background (bot.slack_link), and shown on /healthz.
# Only the database must answer at start (the migrations run first).


def _serve(settings: Settings, workers: int) -> int:
    from bot.app import build
    from bot.server import serve, wsgi_app
    from bot.slack_link import bot_token_link
    from storage.db import Database

    db = Database(settings.database_url)
    db.upgrade()
    deliver = settings.delivery == "serve"
    if workers == 1:  # one process does it all, as the embedded SQLite default wants
        bot = build(settings, db, upgrade=False, deliver=deliver, verify_token=False)
        link = bot_token_link(settings, bot.app)
        links = [link.start()] if link else []
        stop = _delivery(settings, db, bot.deps) if deliver else bot.deps.stop
        _drain_on_sigterm(stop)
        threads = settings.threads or default_threads(1, db.is_sqlite)
        serve(wsgi_app(bot.app, db, links), settings.host, settings.port, threads)
        return 0
    from bot import prefork

    sock = prefork.listen(settings.host, settings.port)
    pool = prefork.Prefork(sock, workers)
    pool.start()
    log.info("listening on %s:%s", settings.host, settings.port)
    log.info(
        "%d HTTP processes; scheduler and delivery %s",
        workers,
        "in this one" if deliver else "left to `mapbot worker`",
    )
    # The HTTP processes log Slack's state at DEBUG: this process says it once.
    link = bot_token_link(settings)
    if link is not None:
        link.start()
    stops = [pool.stop]
    if deliver:
        stops.append(_delivery(settings, db))

    def stop_all() -> None:
        for stop in stops:
            stop()

    _drain_on_sigterm(stop_all)
    try:
        pool.watch()
    finally:
        pool.stop()
    return 0


def _socket(settings: Settings) -> int:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    from bot import observability
    from bot.app import build
    from bot.server import serve
    from bot.slack_link import SlackLink, bot_token_link
    from storage.db import Database

    db = Database(settings.database_url)
    db.upgrade()
    deliver = settings.delivery == "serve"
    bot = build(settings, db, upgrade=False, deliver=deliver, verify_token=False)
    app_token = settings.app_token or ""
    handler = SocketModeHandler(bot.app, app_token)

    def connect() -> None:
        opened = bot.app.client.apps_connections_open(app_token=app_token)
        handler.client.wss_uri = opened["url"]
        handler.connect()  # type: ignore[no-untyped-call]

    auth = bot_token_link(settings, bot.app)
    links = [auth.start()] if auth else []
    links.append(SlackLink("SLACK_APP_TOKEN", connect).start())
    stop = _delivery(settings, db, bot.deps) if deliver else bot.deps.stop

    def stop_all() -> None:
        stop()
        handler.close()  # type: ignore[no-untyped-call]

    _drain_on_sigterm(stop_all)
    # Socket Mode has no HTTP of its own: /healthz and /metrics on $HOST:$PORT.
    serve(observability.endpoints(db, links), settings.host, settings.port, threads=2)
    return 0


def _worker(settings: Settings) -> int:
    from bot import observability
    from bot.server import serve
    from bot.slack_link import bot_token_link
    from storage.db import Database

    db = Database(settings.database_url)
    db.upgrade()
    link = bot_token_link(settings)
    links = [link.start()] if link else []
    _drain_on_sigterm(_delivery(settings, db))
    log.info("worker: reminder ticks every minute")
    serve(observability.endpoints(db, links), settings.host, settings.port, threads=2)
    return 0


def _delivery(settings: Settings, db: Database, app: Deps | None = None) -> Callable[[], None]:
    """The scheduler's ticks and the refresh worker (cards, Homes: what web
    processes marked, or a crashed one left): in exactly one process of a
    deployment's `serve`, or in `mapbot worker`. Returns what stops them. With
    the app in this process (`app`), its own refresh worker and workspaces are
    used (an uninstall it hears of stops the scheduler's sends too)."""
    from bot.app import workspaces_for
    from reminders.delivery.refresh_worker import RefreshWorker
    from reminders.scheduler import start_scheduler

    if app is not None:
        client_for, refresher = app.workspaces.client_for, app.refresher
    else:
        client_for = workspaces_for(settings, db).client_for
        refresher = RefreshWorker(
            db,
            client_for,
            interval=settings.card_update_interval,
            llm=settings.llm(),
            public_url=settings.public_url,
        )
        refresher.start()
    scheduler = start_scheduler(db, client_for)

    def stop() -> None:
        scheduler.shutdown(wait=False)  # no new tick
        refresher.stop()

    return stop


def _drain_on_sigterm(stop: Callable[[], None]) -> None:
    """SIGTERM (a deploy, `docker stop`, systemd): no new claims; the send in flight
    finishes and the rest goes back to the outbox for another process; then exit.
    (A message a killed process had begun is found in Slack by recovery.)"""

    def drain(_signum: int, _frame: object) -> None:
        log.info("SIGTERM: finishing what is in flight, handing back the rest")
        stop()
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, drain)


def _tick(settings: Settings, args: argparse.Namespace) -> int:
    from datetime import UTC

    from bot.app import workspaces_for
    from reminders.delivery.refresh_worker import refreshers
    from reminders.tick import tick
    from storage.db import Database

    if not (settings.bot_token or settings.client_id):
        raise ConfigError("SLACK_BOT_TOKEN (or the OAuth settings) must be set to send")
    try:
        at = datetime.fromisoformat(args.at.replace("Z", "+00:00")) if args.at else clock.now()
    except ValueError:
        raise ConfigError(f"--at: not an ISO-8601 instant: {args.at!r}") from None
    db = Database(settings.database_url)
    db.upgrade()
    client_for = workspaces_for(settings, db).client_for
    at = at if at.tzinfo else at.replace(tzinfo=UTC)
    sending = refreshers(db, settings.card_update_interval, settings.llm(), settings.public_url)
    print(tick(db, at, client_for, pace=args.pace, refreshers=sending).summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
