"""HTTP mode: `POST /slack/events` and `GET /healthz` as one WSGI app, served by
waitress (a production WSGI server, pure Python, threaded)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler

from bot.oauth import INSTALL_PATH, REDIRECT_PATH
from bot.request_guard import protect

log = logging.getLogger(__name__)

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

EVENTS_PATH = "/slack/events"


def wsgi_app(app: App) -> WSGIApp:
    slack = SlackRequestHandler(app)
    events = protect(app, slack)  # signature, size, form and replays checked before Bolt

    def application(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path == "/healthz" and method in ("GET", "HEAD"):
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok\n"]
        if path == EVENTS_PATH and method == "POST":
            return events(environ, start_response)
        if path in (INSTALL_PATH, REDIRECT_PATH) and method == "GET" and app.oauth_flow:
            # Bolt's OAuth flow: the "Add to Slack" page and Slack's redirect back.
            return slack(environ, start_response)
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found\n"]

    return application


def serve(app: App, port: int, host: str = "0.0.0.0", threads: int = 8) -> None:  # noqa: S104
    from waitress import serve as waitress_serve

    log.info("listening on %s:%s (POST %s, GET /healthz)", host, port, EVENTS_PATH)
    waitress_serve(wsgi_app(app), host=host, port=port, threads=threads, ident="mapbot")
