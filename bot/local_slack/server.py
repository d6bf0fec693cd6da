"""LocalSlack: Slack's Web API on loopback, for tests and the local shell.

Point `slack_sdk.WebClient(base_url=local.base_url)` at it, then read what Slack would
hold (`messages`, `ephemerals`, `views`) and what it would refuse (`violations`).
"""

from __future__ import annotations

import contextlib
import functools
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from bot.local_slack import triggers
from bot.local_slack.api import SlackApi, SlackError
from bot.local_slack.checks import check_message
from bot.local_slack.faults import Chaos
from bot.local_slack.records import Call, Fault, ResponseUrl

SERVER_ERRORS = {500: "internal_error", 503: "service_unavailable"}
# https://docs.slack.dev/interactivity/handling-user-interaction: a response_url takes
# "up to 5 responses within 30 minutes" of the interaction; after that Slack answers 404.
RESPONSE_URL_USES = 5
RESPONSE_URL_LIFETIME = 30 * 60


class LocalSlack(SlackApi):
    """SlackApi served over HTTP, with response URLs and injectable faults."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._server: ThreadingHTTPServer | None = None
        self._faults: dict[str, list[Fault]] = {}
        self._response_urls: dict[str, ResponseUrl] = {}
        self.response_posts: list[Call] = []
        self.chaos: Chaos | None = None  # seeded faults on a share of calls (`faults`)
        # The gate: while frozen every request (Web API and response URLs) waits
        # until the test thaws Slack; `frozen_calls` counts those that waited.
        self._thawed = threading.Event()
        self._thawed.set()
        self.frozen_calls = 0
        self._frozen_at: float | None = None

    # --- lifecycle -------------------------------------------------------------

    def start(self) -> LocalSlack:
        if self._server is None:
            self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
            self._server.daemon_threads = True
            serve = functools.partial(self._server.serve_forever, poll_interval=0.05)
            threading.Thread(target=serve, daemon=True).start()
        return self

    def stop(self) -> None:
        self.thaw()  # nothing stays held past the end
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> LocalSlack:
        return self.start()

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def root_url(self) -> str:
        if self._server is None:
            raise RuntimeError("LocalSlack is not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def upload_url(self, file_id: str) -> str:
        return f"{self.root_url}/upload/{file_id}"

    @property
    def base_url(self) -> str:
        """For `WebClient(base_url=...)`."""
        return f"{self.root_url}/api/"

    def reset(self) -> None:
        """Also forget injected faults and response URLs."""
        with self._lock:
            super().reset()
            self._faults.clear()
            self._response_urls.clear()
            self.response_posts.clear()

    # --- the gate --------------------------------------------------------------

    def freeze(self) -> None:
        """Hold every answer from now on, until `thaw()`: Slack that does not answer."""
        with self._lock:
            self.frozen_calls = 0
            self._frozen_at = time.monotonic()
        self._thawed.clear()

    def thaw(self) -> None:
        with self._lock:
            if self._frozen_at is not None:  # time stood still for the triggers too
                triggers.stand_still(time.monotonic() - self._frozen_at)
            self._frozen_at = None
        self._thawed.set()

    def _through_gate(self) -> None:
        if not self._thawed.is_set():
            with self._lock:
                self.frozen_calls += 1
            self._thawed.wait()

    # --- faults ----------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        *,
        status: int = 429,
        retry_after: int = 1,
        error: str | None = None,
        times: int = 1,
    ) -> None:
        """Fail the next `times` calls: HTTP 429 + Retry-After, a 5xx, or 200 `ok:false`."""
        fault = Fault(times, status=200 if error else status, retry_after=retry_after, error=error)
        with self._lock:
            self._faults.setdefault(method, []).append(fault)

    def delay_next(self, method: str, seconds: float, times: int = 1) -> None:
        """Answer the next `times` calls only after `seconds`."""
        with self._lock:
            self._faults.setdefault(method, []).append(Fault(times=times, delay=seconds))

    def hold_answer_next(self, method: str, seconds: float, times: int = 1) -> None:
        """Carry out the next `times` calls at once but answer only after `seconds`:
        Slack has the message, the caller does not know yet (a crash or timeout
        in that window is what recovery is for)."""
        with self._lock:
            self._faults.setdefault(method, []).append(Fault(times=times, hold=seconds))

    def _take_fault(self, method: str) -> Fault | None:
        with self._lock:
            queue = self._faults.get(method, [])
            if not queue:
                return None
            fault = queue[0]
            fault.times -= 1
            if fault.times <= 0:
                queue.pop(0)
            return fault

    def serve_call(
        self, method: str, params: dict[str, Any], token: str | None
    ) -> tuple[int, dict[str, str], dict[str, Any]]:
        """One HTTP API request: faults first, then the method. (status, headers, body)"""
        fault = self._take_fault(method)
        drawn = self.chaos.draw(method) if fault is None and self.chaos is not None else None
        if drawn is not None and drawn.kind != "429":
            return self._chaotic(method, params, token, drawn.fault, carried_out=drawn.carried_out)
        fault = drawn.fault if drawn is not None else fault
        if fault and not fault.delay and not fault.hold:
            error = fault.error or SERVER_ERRORS.get(fault.status, "ratelimited")
            result = {"ok": False, "error": error, "retry_after": fault.retry_after}
            record = Call(method, params, token, result=result, status=fault.status)
            with self._lock:  # a request all the same: it counts in what the app sent
                self._rates.note(method, self._rate_key(method, params))
            self.record(record)
        else:
            time.sleep(fault.delay if fault else 0)
            record = self.call(method, params, token)
            time.sleep(fault.hold if fault else 0)
        retry_after = str(record.result.get("retry_after", 1))
        headers = {"Retry-After": retry_after} if record.status == 429 else {}
        return record.status, headers, record.result

    def _chaotic(
        self,
        method: str,
        params: dict[str, Any],
        token: str | None,
        fault: Fault,
        *,
        carried_out: bool,
    ) -> tuple[int, dict[str, str], dict[str, Any]]:
        """A 500 or a timeout that Slack may have carried out all the same; the
        record says what the caller was answered."""
        record = self.call(method, params, token) if carried_out else None
        if fault.hold:
            time.sleep(fault.hold)  # the caller gave up long ago
        if record is not None and fault.hold:
            return record.status, {}, record.result
        result = {"ok": False, "error": SERVER_ERRORS[500]}
        if record is None:
            self.record(Call(method, params, token, result=result, status=500))
        else:
            record.status, record.result = 500, result
        return 500, {}, result

    # --- response URLs ---------------------------------------------------------

    def response_url(self, channel: str, user: str, message_ts: str | None = None) -> str:
        """A response URL for an action by `user` in `channel` (on `message_ts` if known);
        POSTs to it are recorded in `response_posts` and applied as Slack would."""
        key = secrets.token_hex(8)
        with self._lock:
            self._response_urls[key] = ResponseUrl(channel, user, message_ts, issued=self.now())
        return f"{self.root_url}/response/{key}"

    def posts_to(self, url: str) -> list[dict[str, Any]]:
        """What was POSTed to a response URL this stand-in gave out, in order."""
        with self._lock:
            target = self._response_urls.get(url.rsplit("/", 1)[-1])
            return list(target.posts) if target else []

    def respond(self, key: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Apply a POST to a response URL as Slack would."""
        with self._lock:
            target = self._response_urls.get(key)
            if target is None:
                return 404, {"ok": False, "error": "invalid_response_url"}
            spent = len(target.posts) >= RESPONSE_URL_USES
            if spent or self.now() - target.issued > RESPONSE_URL_LIFETIME:
                refused = {"ok": False, "error": "expired_url"}
                self.response_posts.append(
                    Call("response_url", body, None, result=refused, status=404)
                )
                return 404, refused
            record = Call("response_url", body, None, result={"ok": True})
            self.response_posts.append(record)
            target.posts.append(body)
            self._apply_response(target, body)
        with self._changed:
            self._changed.notify_all()
        if self.on_change:
            self.on_change(record)
        return 200, {"ok": True}

    def _apply_response(self, target: ResponseUrl, body: dict[str, Any]) -> None:
        errors = self._check_response(body)
        if errors:
            return
        replace, delete = _flag(body, "replace_original"), _flag(body, "delete_original")
        eph = next((e for e in self._ephemerals if e.ts == target.ephemeral_ts), None)
        msg = self._find(target.channel, target.message_ts) if target.message_ts else None
        if (replace or delete) and eph is not None:
            self._ephemerals.remove(eph)
            target.ephemeral_ts = None
        elif (replace or delete) and msg is not None:
            if delete:
                self._messages[target.channel].remove(msg)
            else:
                msg.text = str(body.get("text") or "")
                msg.blocks = list(body.get("blocks") or [])
                msg.edited = True
            return
        if delete:
            return
        if body.get("response_type") == "in_channel" and not replace:
            with contextlib.suppress(SlackError):
                self._post_message({**body, "channel": target.channel})
            return
        target.ephemeral_ts = self.add_ephemeral(
            target.channel, target.user, body, "response_url"
        ).ts

    def _check_response(self, body: dict[str, Any]) -> list[str]:
        errors = check_message(body)
        self.violations.extend(f"response_url: {e}" for e in errors)
        return errors


def _flag(body: dict[str, Any], key: str) -> bool:
    value = body.get(key)
    return value is True or str(value).lower() == "true"


def _handler_for(local: LocalSlack) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass  # quiet

        def do_GET(self) -> None:  # noqa: N802
            self._serve()

        def do_POST(self) -> None:  # noqa: N802
            self._serve()

        def _serve(self) -> None:
            url = urlsplit(self.path)
            params: dict[str, Any] = dict(parse_qsl(url.query))
            length = int(self.headers.get("Content-Length") or 0)
            data = self.rfile.read(length) if length else b""
            local._through_gate()
            if url.path.startswith("/upload/"):  # a file's bytes (files_upload_v2's step 2)
                status, text = local.files.receive(url.path.removeprefix("/upload/"), data)
                self._send(status, {}, {"ok": status == 200, "message": text})
                return
            raw = data.decode()
            if "json" in (self.headers.get("Content-Type") or ""):
                params.update(json.loads(raw) if raw else {})
            else:
                params.update(parse_qsl(raw, keep_blank_values=True))
            if url.path.startswith("/response/"):
                status, body = local.respond(url.path.removeprefix("/response/"), params)
                self._send(status, {}, body)
                return
            if not url.path.startswith("/api/"):
                self._send(404, {}, {"ok": False, "error": "not_found"})
                return
            auth = self.headers.get("Authorization") or ""
            token = auth.removeprefix("Bearer ").strip() or params.pop("token", None)
            self._send(*local.serve_call(url.path.removeprefix("/api/"), params, token))

        def _send(self, status: int, headers: dict[str, str], body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(data)  # the client may have timed out

    return Handler
