"""`GET /ical/<secret>.ics`: a plan's feed for calendar apps. An unknown, reset
or malformed secret, or an archived plan, is the same 404."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from bot.render.ical import render_feed
from storage import calendar_feed, clock
from storage.db import Database
from storage.readmodel import plan_view

PREFIX = "/ical/"
_PATH = re.compile(r"^/ical/([A-Za-z0-9_-]{20,100})\.ics$")


StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def ical_app(db: Database) -> WSGIApp:
    def application(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        match = _PATH.match(environ.get("PATH_INFO", ""))
        method = environ.get("REQUEST_METHOD", "GET")
        if method not in ("GET", "HEAD"):
            start_response("405 Method Not Allowed", [("Allow", "GET, HEAD")])
            return [b""]
        body = None
        if match is not None:
            with db.read() as s:
                plan = calendar_feed.plan_for_secret(s, match.group(1))
                if plan is not None:
                    host = environ.get("HTTP_HOST", "mapbot").split(":")[0] or "mapbot"
                    body = render_feed(plan_view(s, plan, "buyer"), host, clock.now())
        if body is None:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found\n"]
        start_response(
            "200 OK",
            [
                ("Content-Type", "text/calendar; charset=utf-8"),
                ("Content-Length", str(len(body))),
                ("Cache-Control", "private, max-age=300"),
                ("Referrer-Policy", "no-referrer"),  # the URL is the secret
            ],
        )
        return [b"" if method == "HEAD" else body]

    return application
