"""Logging for every `mapbot` command: `LOG_LEVEL` for our own loggers, `LOG_FORMAT`
text or json (one JSON object a line, for log shippers), and the libraries' INFO
chatter (Alembic's migration steps, Bolt, APScheduler, waitress) kept out."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import TextIO

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
FORMATS = ("text", "json")
# Libraries that log every migration step, request or job run at INFO.
CHATTY = ("alembic", "slack_bolt", "slack_sdk", "apscheduler", "waitress", "urllib3")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def _not_the_token_warning(record: logging.LogRecord) -> bool:
    # Bolt reads SLACK_BOT_TOKEN itself and warns that our client (built with that
    # same token, to carry our retry handlers) wins: true, and nothing to act on.
    return "`token` will be unused" not in record.getMessage()


class JsonFormatter(logging.Formatter):
    """One line per record: time (UTC, ISO 8601), level, logger, message, and
    exc_info (the formatted traceback) when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            line["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def configure(level: str = "INFO", fmt: str = "text", stream: TextIO | None = None) -> None:
    """Replace whatever handlers the root logger has with one to stderr. The
    libraries stay at WARNING unless LOG_LEVEL=DEBUG asks for everything."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in CHATTY:
        logging.getLogger(name).setLevel(logging.DEBUG if level == "DEBUG" else logging.WARNING)
    # waitress warns "Task queue depth" whenever a burst queues a request: the
    # request timings on /metrics say that better than a line per burst.
    logging.getLogger("waitress.queue").setLevel(
        logging.DEBUG if level == "DEBUG" else logging.ERROR
    )
    for name in ("slack_bolt", "slack_bolt.App"):  # the app's logger, or Bolt's own
        bolt = logging.getLogger(name)
        if _not_the_token_warning not in bolt.filters:
            bolt.addFilter(_not_the_token_warning)
