"""Whether Slack answers this process: `serve`, `socket` and `worker` start when
Slack is unreachable or refuses the token, say so in one log line (no traceback),
try again in the background with backoff, and `/healthz` reports the state and
since when. Nothing is sent meanwhile that is not already safe in the outbox:
rows wait there and go out once Slack answers.

The state is this process's own view of Slack (each replica and worker asks for
itself); what processes must share lives in the database."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from slack_bolt import App
from slack_bolt.middleware.authorization import SingleTeamAuthorization
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.config import Settings
from storage import clock

log = logging.getLogger(__name__)

State = Literal["unknown", "ok", "refused", "unreachable"]

FIRST_DELAY = 1.0  # seconds before the first retry; doubled each time
MAX_DELAY = 60.0


@dataclass(frozen=True)
class LinkState:
    state: State
    since: datetime
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "since": self.since.isoformat(timespec="seconds"),
            "error": self.error,
        }


def classify(error: BaseException) -> tuple[State, str]:
    """A failed check as (state, one-line reason). Slack answering `ok: false`
    is a refusal; a 429 or 5xx, a timeout, DNS or a refused connection mean we
    did not get an answer about the token at all."""
    if isinstance(error, SlackApiError):
        status = getattr(error.response, "status_code", 200)
        code = str(error.response.get("error") or "unknown_error")
        return ("refused", code) if status == 200 else ("unreachable", f"HTTP {status} {code}")
    reason = getattr(error, "reason", None) or error
    text = str(reason).strip().splitlines()
    return "unreachable", text[0] if text else type(error).__name__


class SlackLink:
    """One check (`check` raises on failure and returns what Slack said), tried
    at start and then in a background thread with backoff until it succeeds.
    `on_ok` gets Slack's answer once (e.g. to hand Bolt the auth.test result)."""

    def __init__(
        self,
        what: str,
        check: Callable[[], Any],
        *,
        on_ok: Callable[[Any], None] | None = None,
        first_delay: float = FIRST_DELAY,
        max_delay: float = MAX_DELAY,
        quiet: bool = False,
    ) -> None:
        self.what = what
        self._level = logging.DEBUG if quiet else logging.ERROR
        self._check = check
        self._on_ok = on_ok
        self.first_delay = first_delay
        self._max_delay = max_delay
        self._state = LinkState("unknown", clock.now())
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ok = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def state(self) -> LinkState:
        with self._lock:
            return self._state

    def try_once(self) -> bool:
        try:
            answer = self._check()
        except Exception as e:  # noqa: BLE001 - whatever it was, said in one line, tried again
            state, reason = classify(e)
            self._set(state, reason)
            return False
        self._set("ok", None)
        if self._on_ok is not None:
            self._on_ok(answer)
        self._ok.set()
        return True

    def start(self) -> SlackLink:
        """Check now; if that failed, keep trying in the background."""
        if not self.try_once():
            self._thread = threading.Thread(
                target=self._retry, name=f"slack-link-{self.what}", daemon=True
            )
            self._thread.start()
        return self

    def wait_ok(self, timeout: float | None = None) -> bool:
        return self._ok.wait(timeout)

    def stop(self) -> None:
        self._stop.set()

    def _retry(self) -> None:
        delay = self.first_delay
        while not self._stop.wait(delay):
            if self.try_once():
                return
            delay = min(delay * 2, self._max_delay)

    def _set(self, state: State, error: str | None) -> None:
        with self._lock:
            old = self._state
            if old.state == state and old.error == error:
                return  # the same failure again: said once already
            self._state = LinkState(state, clock.now(), error)
        if state == "ok":
            if old.state != "unknown":
                log.log(min(self._level, logging.INFO), "Slack answers %s again", self.what)
            return
        said = "refused" if state == "refused" else "not reachable for"
        log.log(
            self._level,
            "Slack %s %s: %s; running anyway, trying again in the background",
            said,
            self.what,
            error,
        )


def _quiet_client(settings: Settings, token: str) -> WebClient:
    # One try per check, and slack_sdk's own error lines kept out: the link's
    # log line says it all, once.
    quiet = logging.getLogger("bot.slack_link.client")
    quiet.disabled = True
    return WebClient(token, base_url=settings.slack_api_url, timeout=10, logger=quiet)


def bot_token_link(
    settings: Settings, app: App | None = None, *, quiet: bool = False
) -> SlackLink | None:
    """auth.test with SLACK_BOT_TOKEN (None in OAuth mode: each installation has
    its own token, checked when used). Once Slack answers, Bolt is handed the
    answer, so no request waits for Bolt's own auth.test."""
    if not settings.bot_token:
        return None
    client = _quiet_client(settings, settings.bot_token)

    def check() -> Any:
        return client.auth_test()

    on_ok = (lambda answer: _hand_to_bolt(app, answer)) if app else None
    return SlackLink("SLACK_BOT_TOKEN", check, on_ok=on_ok, quiet=quiet)


def _hand_to_bolt(app: App, answer: Any) -> None:
    # Built with token_verification_enabled=False, Bolt's single-workspace
    # authorization asks auth.test on its first request unless it has the answer.
    for middleware in app._middleware_list:  # noqa: SLF001 - Bolt has no public setter
        if isinstance(middleware, SingleTeamAuthorization) and not middleware.auth_test_result:
            middleware.auth_test_result = answer
