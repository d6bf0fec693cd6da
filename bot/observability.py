"""What an operator watches: `GET /healthz` (200 only when the database answers,
with the outbox's backlog) and `GET /metrics` in Prometheus' text format.

Counters live in this process (each replica and worker is scraped on its own);
the outbox figures are read from the database at scrape time, so every process
reports the same backlog whichever one is asked."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Histogram, generate_latest
from prometheus_client.core import CollectorRegistry, GaugeMetricFamily, Metric
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from bot.slack_link import SlackLink
from storage import clock
from storage.db import Database
from storage.models import Outbox

log = logging.getLogger(__name__)

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

HEALTH_PATH = "/healthz"
METRICS_PATH = "/metrics"

REQUESTS = Histogram(
    "mapbot_slack_requests_seconds",
    "Requests from Slack on POST /slack/events: time to answer, by kind and outcome",
    ["kind", "outcome"],
)
DELIVERIES = Counter(
    "mapbot_outbox_deliveries", "Outbox rows this process delivered, by result", ["result"]
)
RATE_LIMITED = Counter(
    "mapbot_slack_rate_limited", "HTTP 429 answers from Slack's Web API, by method", ["method"]
)

# The label values a request can have: anything else is "other", so a crafted
# body cannot grow the metric without bound.
KINDS = frozenset(
    {
        "command",
        "event",
        "url_verification",
        "block_actions",
        "block_suggestion",
        "view_submission",
        "view_closed",
        "shortcut",
        "message_action",
    }
)


# --- the outbox, read from the database -------------------------------------------------


@dataclass(frozen=True)
class OutboxState:
    backlog: int  # rows waiting or being sent
    oldest_pending_seconds: float | None  # how long the oldest of them has waited


def outbox_state(db: Database, now: datetime | None = None) -> OutboxState:
    now = now or clock.now()
    waiting = Outbox.state.in_(("pending", "sending"))
    with db.read() as s:
        count, oldest = s.execute(
            select(func.count(Outbox.id), func.min(Outbox.created_at)).where(waiting)
        ).one()
    if oldest is not None and oldest.tzinfo is None:  # SQLite keeps no zone: we store UTC
        oldest = oldest.replace(tzinfo=UTC)
    age = max(0.0, (now - oldest).total_seconds()) if oldest is not None else None
    return OutboxState(int(count), age)


def health(db: Database, links: Sequence[SlackLink] = ()) -> tuple[int, dict[str, Any]]:
    """(HTTP status, body): 200 when the database answers, 503 when it does not.
    Slack's state is reported ("degraded" while it does not answer) but does not
    fail the check: the process runs, takes requests and keeps the outbox, and a
    load balancer taking every replica out because Slack is down helps no one."""
    slack = {"slack": {link.what: link.state.as_json() for link in links}} if links else {}
    slack_ok = all(link.state.state == "ok" for link in links)
    try:
        state = outbox_state(db)
    except SQLAlchemyError as e:
        # The detail goes to the log, not to whoever asks (it may name hosts).
        log.warning("health check: database not answering: %s", _first_line(e))
        error = f"error: {type(e).__name__}"
        return 503, {"status": "unavailable", "database": error, **slack}
    return 200, {
        "status": "ok" if slack_ok else "degraded",
        "database": "ok",
        **slack,
        "outbox": {
            "backlog": state.backlog,
            "oldest_pending_seconds": state.oldest_pending_seconds,
        },
    }


class _OutboxCollector:
    def __init__(self, db: Database) -> None:
        self.db = db

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("mapbot_database_up", "1 when the database answers")
        try:
            state = outbox_state(self.db)
        except SQLAlchemyError:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield GaugeMetricFamily(
            "mapbot_outbox_backlog", "Outbox rows waiting or being sent", value=state.backlog
        )
        yield GaugeMetricFamily(
            "mapbot_outbox_oldest_pending_seconds",
            "Age of the oldest outbox row still waiting (0 when none)",
            value=state.oldest_pending_seconds or 0.0,
        )


def metrics_text(db: Database) -> bytes:
    outbox = CollectorRegistry(auto_describe=False)
    outbox.register(_OutboxCollector(db))
    return bytes(generate_latest(REGISTRY) + generate_latest(outbox))


# --- counting -----------------------------------------------------------------------------


def count_deliveries(**by_result: int) -> None:
    """sent=…, recovered=…, retried=…, failed=…: one delivery pass's outcome."""
    for name, amount in by_result.items():
        if amount:
            DELIVERIES.labels(result=name).inc(amount)


class RateLimitCounter(RetryHandler):
    """Counts every 429 Slack answers and retries nothing: listed first among a
    client's retry handlers, it leaves the retrying to the ones after it."""

    def can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is not None and response.status_code == 429:
            method = urlsplit(request.url).path.rsplit("/", 1)[-1] or "unknown"
            RATE_LIMITED.labels(method=method[:64]).inc()
        return False


# Where the request guard, which parsed the body already, leaves its kind for
# `timed`, so the body is not parsed once more to count it.
KIND_KEY = "mapbot.request_kind"


def kind_of(parsed: Mapping[str, Any]) -> str:
    """The kind of a parsed body: the command form, an event envelope, or an
    interactive payload."""
    if "command" in parsed and "type" not in parsed:
        return "command"
    kind = str(parsed.get("type") or "")
    return "event" if kind == "event_callback" else kind if kind in KINDS else "other"


def request_kind(body: bytes, content_type: str) -> str:
    """What Slack sent: a slash command, an event, or the interactive payload's type."""
    try:
        if content_type.startswith("application/json"):
            return kind_of(json.loads(body))
        form = parse_qs(body.decode("utf-8"))
        if "command" in form:
            return "command"
        return kind_of(json.loads(form["payload"][0]))
    except (ValueError, KeyError, AttributeError, IndexError, RecursionError, TypeError):
        return "other"


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def _outcome(status: int) -> str:
    if status < 400:
        return "ok"
    if status in (401, 403):
        return "refused"
    return "client_error" if status < 500 else "error"


class _TeeInput:
    """wsgi.input that keeps what the handler read, to classify it afterwards."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.seen = bytearray()

    def _keep(self, data: bytes) -> bytes:
        self.seen += data[: 64 * 1024 - len(self.seen)]
        return data

    def read(self, *args: Any) -> bytes:
        return self._keep(self.stream.read(*args))

    def readline(self, *args: Any) -> bytes:
        return self._keep(self.stream.readline(*args))

    def __iter__(self) -> Iterator[bytes]:
        return (self._keep(line) for line in self.stream)


def timed(handler: WSGIApp) -> WSGIApp:
    """Wrap the Slack route: time each request and count it by kind and outcome.
    The body is only looked at after the handler answered, and not at all when
    the signature was refused (its content is then nobody's)."""

    def application(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        started = time.perf_counter()
        tee = _TeeInput(environ["wsgi.input"])
        environ["wsgi.input"] = tee
        status: list[int] = []

        def start(line: str, headers: list[tuple[str, str]], *exc: Any) -> Any:
            status.append(int(line.split(" ", 1)[0]))
            return start_response(line, headers, *exc)

        try:
            body = list(handler(environ, start))
        except Exception:
            REQUESTS.labels(kind="other", outcome="error").observe(time.perf_counter() - started)
            raise
        code = status[0] if status else 500
        outcome = _outcome(code)
        # Only a body the guard let through is read: a refused or malformed one
        # (1,000 levels deep, say) is nobody's to parse.
        kind = (
            environ.get(KIND_KEY) or request_kind(bytes(tee.seen), environ.get("CONTENT_TYPE", ""))
            if outcome == "ok"
            else "unverified"
            if outcome == "refused"
            else "malformed"
        )
        REQUESTS.labels(kind=kind, outcome=outcome).observe(time.perf_counter() - started)
        return body

    return application


# --- the routes ---------------------------------------------------------------------------


def endpoints(db: Database, links: Sequence[SlackLink] = ()) -> WSGIApp:
    """`GET /healthz` and `GET /metrics`; 404 for anything else (the worker
    serves only these)."""

    def application(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if environ.get("REQUEST_METHOD", "GET") not in ("GET", "HEAD"):
            path = ""
        if path == HEALTH_PATH:
            code, body = health(db, links)
            line = "200 OK" if code == 200 else "503 Service Unavailable"
            start_response(
                line, [("Content-Type", "application/json"), ("Cache-Control", "no-store")]
            )
            return [json.dumps(body).encode() + b"\n"]
        if path == METRICS_PATH:
            start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST)])
            return [metrics_text(db)]
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found\n"]

    return application
