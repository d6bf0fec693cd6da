"""HTTP mode: `POST /slack/events`, `GET /healthz`, `GET /metrics` and
`GET /ical/<secret>.ics` as one WSGI
app, served by waitress (a production WSGI server, pure Python, threaded)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler

from bot import observability
from bot.calendar_route import PREFIX as ICAL_PREFIX
from bot.calendar_route import ical_app
from bot.config import THREADS
from bot.oauth import INSTALL_PATH, REDIRECT_PATH
from bot.plan_links import parse_path
from bot.request_guard import protect
from bot.slack_link import SlackLink
from storage.db import Database

log = logging.getLogger(__name__)

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

EVENTS_PATH = "/slack/events"
# A plan link opened in a browser: its status lives in Slack (where it unfurls, for
# those who may see it); the page says so and shows nothing of the plan.
PLAN_LINK_PAGE = (
    b"<!doctype html><html><head><meta charset='utf-8'><title>MAP bot plan</title></head>"
    b"<body><p>This is a link to a mutual action plan in MAP bot. Paste it in Slack to "
    b"see its status, or run <code>/map status</code> in the deal channel.</p></body></html>"
)


def plan_link_page(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    start_response(
        "200 OK",
        [
            ("Content-Type", "text/html; charset=utf-8"),
            ("Content-Length", str(len(PLAN_LINK_PAGE))),
            ("Cache-Control", "no-store"),
            ("X-Robots-Tag", "noindex"),
        ],
    )
    return [PLAN_LINK_PAGE]


def wsgi_app(app: App, db: Database, links: Sequence[SlackLink] = ()) -> WSGIApp:
    slack = SlackRequestHandler(app)
    # Signature, size, form and replays checked before Bolt; every answer timed.
    events = observability.timed(protect(app, slack))
    ops = observability.endpoints(db, links)
    ical = ical_app(db)

    def application(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path in (observability.HEALTH_PATH, observability.METRICS_PATH):
            return ops(environ, start_response)
        if path == EVENTS_PATH and method == "POST":
            return events(environ, start_response)
        if method == "GET" and parse_path(path) is not None:
            return plan_link_page(environ, start_response)
        if path.startswith(ICAL_PREFIX):
            return ical(environ, start_response)
        if path in (INSTALL_PATH, REDIRECT_PATH) and method == "GET" and app.oauth_flow:
            # Bolt's OAuth flow: the "Add to Slack" page and Slack's redirect back.
            return slack(environ, start_response)
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found\n"]

    return application


def serve(wsgi: WSGIApp, host: str, port: int, threads: int = THREADS) -> None:
    """Serve until stopped: the whole app (`mapbot serve`) or the health and
    metrics routes alone (`mapbot worker`)."""
    from waitress import serve as waitress_serve

    log.info("listening on %s:%s", host, port)
    waitress_serve(wsgi, host=host, port=port, threads=threads, ident="mapbot")
