"""The WSGI layer in front of Bolt on `POST /slack/events`: nothing parses a body
before its signature is checked, on the raw bytes.

In order: the body's size (413 over MAX_BODY, or with a missing or bad
Content-Length), the signature and its timestamp (401 when either is missing,
malformed, more than 5 minutes off, or wrong), the body's form (400 unless Bolt can
read it and every field we read has the type Slack sends; see bot.request_body),
replays and repeated deliveries (bot.replays: 409, or 200 without dispatch). Only
then does Bolt see the request, and Bolt checks the signature again. Whatever
escapes Bolt is logged with its traceback and answered politely, never with a 500.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Callable, Iterable
from contextlib import nullcontext
from http import HTTPStatus
from typing import Any
from weakref import WeakKeyDictionary

from slack_bolt import App
from slack_sdk.signature import SignatureVerifier

from bot import observability, replays, request_body
from bot.error_reply import polite_answer
from storage.db import FirstWrite, Replayed, first_write

log = logging.getLogger(__name__)

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

MAX_BODY = 512 * 1024  # Slack's largest payloads (a modal's full state) are far smaller
_TIMESTAMP = re.compile(r"[0-9]{1,12}")  # ASCII digits only: int() takes other scripts' too
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")  # hmac.compare_digest refuses non-ASCII text
_LENGTH = re.compile(r"[0-9]{1,9}")


def _status_line(status: int) -> str:
    return f"{status} {HTTPStatus(status).phrase}"


class Refusal(Exception):
    """An answer other than Bolt's: the status, and `str(e)` for its text."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def read_body(environ: dict[str, Any], limit: int) -> bytes:
    """Exactly Content-Length bytes, and no more than `limit`."""
    length = str(environ.get("CONTENT_LENGTH") or "")  # pragma: no mutate (fails the pattern)
    if not _LENGTH.fullmatch(length) or int(length) > limit:
        raise Refusal(413, "the body is too large or its length unknown")
    body = environ["wsgi.input"].read(int(length))
    if len(body) != int(length):
        raise Refusal(400, "the body is shorter than its Content-Length")
    return bytes(body)


def check_signature(verifier: SignatureVerifier, environ: dict[str, Any], body: bytes) -> str:
    """The request's signature, if it is Slack's for this body and recent."""
    # A missing header fails the patterns below, whatever stands in for it.
    timestamp = str(environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP") or "")  # pragma: no mutate
    signature = str(environ.get("HTTP_X_SLACK_SIGNATURE") or "")  # pragma: no mutate
    if not (_TIMESTAMP.fullmatch(timestamp) and _SIGNATURE.fullmatch(signature)):
        raise Refusal(401, "missing or malformed signature headers")
    try:
        # Slack sends UTF-8; the SDK would decode it unguarded.
        text = body.decode("utf-8")  # pragma: no mutate ("UTF-8" is the same codec)
    except UnicodeDecodeError:
        raise Refusal(401, "a body that is not UTF-8 carries no Slack signature") from None
    if not verifier.is_valid(body=text, timestamp=timestamp, signature=signature):
        raise Refusal(401, "invalid or stale signature")
    return signature


class RequestGuard:
    def __init__(self, signing_secret: str, seen: replays.Replays) -> None:
        self.verifier = SignatureVerifier(signing_secret)
        self.seen = seen

    def wrap(self, inner: WSGIApp) -> WSGIApp:
        def application(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
            try:
                body = read_body(environ, MAX_BODY)
                signature = check_signature(self.verifier, environ, body)
                try:
                    parsed = request_body.parse(body, str(environ.get("CONTENT_TYPE") or ""))
                except request_body.Malformed as e:
                    raise Refusal(400, f"malformed request: {e}") from None
                environ[observability.KIND_KEY] = observability.kind_of(parsed)  # for /metrics
            except Refusal as r:
                log.warning("refused a request to /slack/events: %s", r)
                return _answer(start_response, r.status, {}, str(r))
            return self._dispatch(inner, environ, start_response, body, signature, parsed)

        return application

    def _dispatch(
        self,
        inner: WSGIApp,
        environ: dict[str, Any],
        start_response: StartResponse,
        body: bytes,
        signature: str,
        parsed: dict[str, Any],
    ) -> Iterable[bytes]:
        delivery = replays.delivery_claim(parsed)
        signed = replays.signature_claim(signature)
        pending: FirstWrite | None = None
        try:
            if delivery is None:  # the claim commits with the request's first write
                pending = self.seen.with_first_write(signed)
            elif not self.seen.first(signed):
                return _replayed(start_response)
            elif not self.seen.first(delivery):
                log.info("%s delivered again: acknowledged, not run again", delivery.kind)
                no_retry = {"X-Slack-No-Retry": "1"}  # pragma: no mutate (any case)
                return _answer(start_response, 200, no_retry, "")
        except Exception:  # the database is unreachable: Slack may retry later
            log.exception("could not record the request")
            return _answer(start_response, 503, {}, "try again later")
        fresh = {**environ, "wsgi.input": io.BytesIO(body)}  # CONTENT_LENGTH is len(body)
        answered: tuple[int, list[tuple[str, str]], bytes] | None = None
        with first_write(pending) if pending is not None else nullcontext():
            try:
                answered = _call(inner, fresh)
            except Replayed:
                pass  # the claim was lost in a write: answered below
            except Exception:
                log.exception("Bolt failed on a %s request", parsed.get("type") or "command")
            try:
                if pending is not None:  # a request that wrote nothing claims now
                    pending.settle()
            except Replayed:
                return _replayed(start_response)
            except Exception:
                log.exception("could not record the request")
                return _answer(start_response, 503, {}, "try again later")
        if answered is None:
            if delivery is not None:
                self.seen.forget(delivery)
            return _answer(start_response, 200, {}, polite_answer(parsed))
        status, headers, chunks = answered
        if delivery is not None and not replays.carried_out(delivery, status, chunks):
            self.seen.forget(delivery)
        start_response(_status_line(status), headers)
        return [chunks]


def _replayed(start_response: StartResponse) -> list[bytes]:
    log.warning("refused a replayed request (a signature seen before)")
    return _answer(start_response, 409, {}, "replayed request")


def _call(inner: WSGIApp, environ: dict[str, Any]) -> tuple[int, list[tuple[str, str]], bytes]:
    """Run a WSGI app to the end and keep what it answered."""
    seen: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        seen["status"], seen["headers"] = status, headers
        # PEP 3333's write(): Bolt's adapter never calls it (it returns its body).
        return lambda _data: None  # pragma: no mutate

    result = inner(environ, start_response)
    try:
        chunks = b"".join(result)  # pragma: no mutate (Bolt answers in one chunk)
    finally:
        # PEP 3333: close what the app returned (Bolt returns a list: nothing to close).
        close = getattr(result, "close", None)  # pragma: no mutate
        if close is not None:  # pragma: no mutate
            close()  # pragma: no mutate
    return int(str(seen["status"]).split()[0]), list(seen["headers"]), chunks


def _answer(
    start_response: StartResponse, status: int, headers: dict[str, str], text: str
) -> list[bytes]:
    data = text.encode()
    kind = "application/json" if text.startswith("{") else "text/plain"
    start_response(
        _status_line(status),
        [
            ("Content-Type", f"{kind}; charset=utf-8"),  # pragma: no mutate (any case)
            ("Content-Length", str(len(data))),  # pragma: no mutate (any case)
            *headers.items(),
        ],
    )
    return [data]


# --- which guard protects which app ----------------------------------------------

_guards: WeakKeyDictionary[App, RequestGuard] = WeakKeyDictionary()


def attach(app: App, guard: RequestGuard) -> None:
    """Set the guard `protect(app, …)` puts in front of the app (bot.app.build)."""
    _guards[app] = guard


def protect(app: App, inner: WSGIApp) -> WSGIApp:
    """`inner` (Bolt's WSGI handler for `app`) behind the app's guard. An app built
    without one (no signing secret) cannot serve HTTP at all."""
    guard = _guards.get(app)
    if guard is None:
        raise RuntimeError("this app has no request guard: set SLACK_SIGNING_SECRET")
    return guard.wrap(inner)
