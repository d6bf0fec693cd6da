"""Work a request leaves for after its answer: the Slack calls that are the
interaction's own reply (views.open/push/update with its trigger, ephemeral
replies through response_url or chat.postEphemeral, waking the outbox worker)
and the lookups that refresh who someone is (users.info, conversations.members).

Bolt runs with `process_before_response=True`, so the HTTP response leaves only
when the listener returns: anything that talks to Slack inside the listener holds
the ack (and slack_sdk's 429 handler sleeps Retry-After inside the call). The
database change is not work for here when it can be decided without Slack: a
job in this pool is lost if the process dies, so a click by someone we know is
saved in the listener and only its reply comes here (bot.change_first). The
change itself runs here only when Slack must answer first (someone not placed
yet, a channel whose members we don't know). Messages for the channel
(announcements, comments, welcomes) are not sent from here but written to the
outbox with the change.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from storage.db import settle_first_write

log = logging.getLogger(__name__)


class AfterAck:
    """A small pool that runs jobs after the request's answer; `settle` waits for
    all of them (tests, the shell, shutdown)."""

    def __init__(self, workers: int = 4) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="after-ack")
        self._pending = 0
        self._idle = threading.Condition()

    def later(self, job: Callable[[], None]) -> None:
        # Nothing a replay hands over may run: the request's claim commits first
        # (raises storage.db.Replayed for a replay), if no write carried it yet.
        settle_first_write()
        with self._idle:
            self._pending += 1
        self._pool.submit(self._run, job)

    def _run(self, job: Callable[[], None]) -> None:
        try:
            job()
        except Exception:  # keep the pool; the traceback goes to the log
            log.exception("work after the ack failed")
        finally:
            with self._idle:
                self._pending -= 1
                self._idle.notify_all()

    @property
    def pending(self) -> int:
        """Jobs handed over and not finished yet (queued or running)."""
        with self._idle:
            return self._pending

    def settle(self, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    def stop(self) -> None:
        self._pool.shutdown(wait=True)
