"""A loopback webhook receiver for tests: verifies every request's signature
with the same library the sender uses (standardwebhooks), answers as told, and
counts what it got — per path, so one server stands for several endpoints."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass
class Attempt:
    path: str
    webhook_id: str
    verified: bool
    status: int
    body: dict[str, Any] | None
    headers: dict[str, str]


@dataclass
class Receiver:
    port: int = 0
    secrets: dict[str, str] = field(default_factory=dict)  # path → signing secret
    # path → what to answer next, in order: "ok", "500", "slow" (longer than the
    # sender's timeout), "429:<seconds>", "redirect"; then "ok" for ever.
    plan: dict[str, list[str]] = field(default_factory=dict)
    always: dict[str, str] = field(default_factory=dict)  # path → answer every time
    attempts: list[Attempt] = field(default_factory=list)
    slow_seconds: float = 2.0
    delay: float = 0.0  # every answer waits this long (to be killed mid-delivery)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def delivered(self, path: str) -> list[dict[str, Any]]:
        """Bodies answered 2xx with a valid signature, in order."""
        with self.lock:
            return [
                a.body
                for a in self.attempts
                if a.path == path and a.verified and 200 <= a.status < 300 and a.body
            ]

    def tried(self, path: str) -> list[Attempt]:
        with self.lock:
            return [a for a in self.attempts if a.path == path]


def _handler(rx: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

        def do_POST(self) -> None:  # noqa: N802
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
            headers = {k.lower(): v for k, v in self.headers.items()}
            secret = rx.secrets.get(self.path)
            verified, body = False, None
            if secret is not None:
                try:
                    body = Webhook(secret).verify(raw, headers)
                    verified = True
                except WebhookVerificationError:
                    pass
            attempt = Attempt(self.path, headers.get("webhook-id", ""), verified, -1, body, headers)
            with rx.lock:  # counted as it arrives, answered below
                rx.attempts.append(attempt)
                queue = rx.plan.setdefault(self.path, [])
                answer = rx.always.get(self.path) or (queue.pop(0) if queue else "ok")
            if rx.delay:
                time.sleep(rx.delay)
            status, extra = 204, {}
            if not verified:
                status = 401
            elif answer == "500":
                status = 500
            elif answer == "slow":
                attempt.status = 0  # never answered in time: not a delivery
                time.sleep(rx.slow_seconds)
            elif answer.startswith("429"):
                status, extra = 429, {"Retry-After": answer.partition(":")[2] or "1"}
            elif answer == "redirect":
                status, extra = 307, {"Location": "http://169.254.169.254/latest/meta-data"}
            if answer != "slow":
                with rx.lock:
                    attempt.status = status
            try:
                self.send_response(status)
                for k, v in extra.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", "0")
                self.end_headers()
            except OSError:
                pass  # the sender gave up (a timeout): it never saw this answer

    return Handler


@contextmanager
def receiving() -> Iterator[Receiver]:
    rx = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(rx))
    server.daemon_threads = True
    rx.port = int(server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield rx
    finally:
        server.shutdown()
        server.server_close()


def body_json(text: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(text)
    return data
