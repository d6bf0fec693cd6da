"""One background sender that coalesces marks per key and paces calls per workspace.

Listeners mark what changed and return at once; the worker sends the latest state
of each key at most once per `interval` seconds per workspace (Slack's rate limits
are per workspace), so a burst of marks on one key costs few calls and the last
call, rendered from the database at send time, shows the final state. A 429 that
slack_sdk's retry handler could not absorb puts the key back and holds that
workspace for `Retry-After` seconds, without holding up the others.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from slack_sdk.errors import SlackApiError

log = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

# send(team_id, key, value) → True when it called Slack (and so used the workspace's turn).
Send = Callable[[str, K, V], bool]


def retry_after(error: SlackApiError) -> float | None:
    """Seconds Slack asked us to wait, when the error is a 429."""
    response = error.response
    if response.status_code != 429:
        return None
    headers = {k.lower(): v for k, v in (response.headers or {}).items()}
    value = headers.get("retry-after")
    if isinstance(value, list):
        value = value[0] if value else None
    try:
        return max(0.0, float(value)) if value is not None else 1.0
    except (TypeError, ValueError):
        return 1.0


class Coalescer(Generic[K, V]):
    def __init__(
        self,
        name: str,
        send: Send[K, V],
        *,
        interval: float,
        merge: Callable[[V, V], V] | None = None,
    ) -> None:
        self._name = name
        self._send = send
        self._interval = interval
        self._merge = merge  # (older, newer) → pending value; default: the newer wins
        self._cond = threading.Condition()
        self._pending: dict[K, tuple[str, V]] = {}
        self._busy = False
        self._next_at: dict[str, float] = {}  # team → monotonic time of its next turn
        self._thread: threading.Thread | None = None
        self._stopping = False

    def mark(self, team_id: str, key: K, value: V) -> None:
        with self._cond:
            self._put(team_id, key, value)
            self._ensure_thread()
            self._cond.notify_all()

    def _put(self, team_id: str, key: K, value: V) -> None:
        old = self._pending.get(key)
        if old is not None and self._merge is not None:
            value = self._merge(old[1], value)
        self._pending[key] = (team_id, value)

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._stopping = False
            self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
            self._thread.start()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until nothing is pending or being sent (tests, the shell, shutdown)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._pending or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()

    def _next_ready(self) -> tuple[K, str, V] | None:
        """A pending key whose workspace may be sent to now (caller holds the lock)."""
        now = time.monotonic()
        for key, (team_id, value) in self._pending.items():
            if self._next_at.get(team_id, 0.0) <= now:
                del self._pending[key]
                return key, team_id, value
        return None

    def _run(self) -> None:
        while True:
            with self._cond:
                job = self._next_ready()
                while job is None:
                    if self._stopping:
                        return
                    waits = [self._next_at.get(team, 0.0) for team, _ in self._pending.values()]
                    timeout = max(0.0, min(waits) - time.monotonic()) if waits else None
                    self._cond.wait(timeout)
                    job = self._next_ready()
                self._busy = True
            key, team_id, value = job
            started = time.monotonic()
            hold_until = 0.0
            try:
                if self._send(team_id, key, value):
                    hold_until = started + self._interval
            except SlackApiError as e:
                wait = retry_after(e)
                if wait is None:
                    log.exception("%s: could not send %r", self._name, key)
                else:
                    log.warning("%s: rate limited; retrying %r in %.1fs", self._name, key, wait)
                    hold_until = time.monotonic() + wait
                    with self._cond:  # put it back, under any mark that came meanwhile
                        newer = self._pending.pop(key, None)
                        self._put(team_id, key, value)
                        if newer is not None:
                            self._put(newer[0], key, newer[1])
            except Exception:  # keep the worker alive; the traceback goes to the log
                log.exception("%s: could not send %r", self._name, key)
            finally:
                with self._cond:
                    if hold_until:
                        self._next_at[team_id] = max(self._next_at.get(team_id, 0.0), hold_until)
                    self._busy = False
                    self._cond.notify_all()
