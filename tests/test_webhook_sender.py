"""The POST itself: it connects to the address that was checked (no second DNS
lookup to be rebound), keeps the name for Host and TLS, and verifies the
receiver's certificate."""

from __future__ import annotations

import ipaddress
import ssl
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

from reminders.webhooks import sender
from reminders.webhooks.address import Target
from tests.fakes.http import self_signed
from tests.webhook_receiver import receiving


def test_connects_to_the_checked_address_with_the_name_as_host() -> None:
    with receiving() as rx:
        rx.secrets["/x"] = sender.new_secret()
        # A name that resolves nowhere: only the checked address is ever used.
        target = Target("http", "hooks.invalid", rx.port, "/x")
        body = '{"id":"evt_1"}'
        signed = sender.headers(rx.secrets["/x"], "evt_1", body, datetime.now(UTC))
        answer = sender.post(target, ipaddress.ip_address("127.0.0.1"), body, signed)
        assert answer.status == 204
        (attempt,) = rx.attempts
        assert attempt.verified and attempt.headers["host"] == f"hooks.invalid:{rx.port}"


def test_a_certificate_nobody_vouches_for_is_refused(tmp_path: Path) -> None:
    got: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

        def do_POST(self) -> None:  # noqa: N802
            got.append(self.path)
            self.send_response(204)
            self.end_headers()

    server = HTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*self_signed(tmp_path))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        target = Target("https", "localhost", int(server.server_address[1]), "/x")
        signed = sender.headers(sender.new_secret(), "evt_1", "{}", datetime.now(UTC))
        answer = sender.post(target, ipaddress.ip_address("127.0.0.1"), "{}", signed)
    finally:
        server.shutdown()
        server.server_close()
    assert answer.status == 0 and answer.error, "not sent over an unverified TLS connection"
    assert got == []
