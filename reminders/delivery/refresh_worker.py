"""This process's delivery worker for refreshes (cards, Homes) and the posts requests
leave for the channel (announcements, comments, welcomes): a thread that sends
what the outbox holds, woken at once by this process's marks and polling for
the rest (marks from other processes, rows a crashed process left, turns that
pacing put off). Several processes may run one: claims are exclusive."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time

from sqlalchemy import func, select

from commands.drafting.llm import LlmExtractor
from reminders import delivery
from reminders.delivery import refreshes
from reminders.delivery.card import ClientFor, send_card
from reminders.delivery.draft import send_draft
from reminders.delivery.home import send_home
from reminders.delivery.outgoing import LIVE_KINDS
from reminders.delivery.unfurl import send_unfurl
from reminders.delivery.upload import (
    send_export,
    send_pipeline_csv,
    send_pipeline_reply,
    send_timeline,
)
from storage.db import Database
from storage.models import Outbox

log = logging.getLogger(__name__)

POLL = 0.5  # seconds between looks when nothing woke us


def refreshers(
    db: Database, interval: float, llm: LlmExtractor | None = None, public_url: str = ""
) -> dict[str, tuple[delivery.Refresher, float]]:
    """How each refresh kind is sent, and its pacing per workspace: views.publish
    is Tier 4, chat.update Tier 3, so Homes may go twice as often. A drafting modal
    is one person waiting: not paced beyond Slack's own answer."""
    return {
        refreshes.CARD: (lambda c, item: send_card(db, c, item), interval),
        refreshes.HOME: (lambda c, item: send_home(db, c, item), interval / 2),
        refreshes.DRAFT: (lambda c, item: send_draft(db, llm, c, item), 0.0),
        refreshes.UNFURL: (lambda c, item: send_unfurl(db, public_url, c, item), interval),
        # files.getUploadURLExternal / completeUploadExternal are Tier 4, like views.publish
        refreshes.TIMELINE: (lambda c, item: send_timeline(db, c, item), interval / 2),
        refreshes.PIPELINE_CSV: (lambda c, item: send_pipeline_csv(db, c, item), interval / 2),
        refreshes.PIPELINE_REPLY: (lambda c, item: send_pipeline_reply(db, c, item), interval / 2),
        refreshes.EXPORT: (lambda c, item: send_export(db, c, item), interval / 2),
    }


class RefreshWorker:
    def __init__(
        self,
        db: Database,
        client_for: ClientFor,
        *,
        interval: float,
        llm: LlmExtractor | None = None,
        public_url: str = "",
        sends: bool = True,
    ) -> None:
        # `sends=False`: an HTTP process of a pre-fork `serve` only marks; waking it
        # is a no-op, since the delivery process polls the outbox (were each HTTP
        # process to run a pass per click, they would spend their core claiming
        # rows the delivery process sends anyway).
        self._sends = sends
        self._db = db
        self._client_for = client_for
        self._refreshers = refreshers(db, interval, llm, public_url)
        self._name = f"refresh-{socket.gethostname()}-{os.getpid()}-{id(self):x}"
        self._wakeup = threading.Event()
        self._stopping = threading.Event()
        self._idle = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def wake(self) -> None:
        if not self._sends:
            return
        with self._lock:
            # After stop() a wake (a request still in flight while draining) must not
            # start sending again: what is left is another process's to send.
            if self._stopping.is_set():
                return
            self._idle.clear()
            self._wakeup.set()
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()

    def start(self) -> None:
        """Send what earlier processes left (a crash, a restart) without waiting
        for a new mark."""
        self.wake()

    def stop(self) -> None:
        """No new sends; the one in flight finishes, the rest go back to the outbox
        for another process (or this one's next run) to send; a stopped worker stays stopped."""
        with self._lock:
            self._stopping.set()
        self._wakeup.set()
        if self._thread is not None:
            self._thread.join(10)

    def pending(self) -> int:
        """Refreshes and posts left by requests not yet sent (queued, in flight,
        or waiting for their turn)."""
        with self._db.read() as s:
            return (
                s.scalar(
                    select(func.count())
                    .select_from(Outbox)
                    .where(
                        Outbox.kind.in_(refreshes.KINDS + LIVE_KINDS),
                        Outbox.state.in_(("pending", "sending")),
                    )
                )
                or 0
            )

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every refresh is sent (tests, the shell, shutdown)."""
        deadline = time.monotonic() + timeout
        self.wake()
        while not self._sends and time.monotonic() < deadline:  # another process sends
            if not self.pending():
                return True
            time.sleep(0.05)
        while time.monotonic() < deadline:
            if self._idle.wait(min(0.05, max(0.0, deadline - time.monotonic()))) and not (
                self.pending()
            ):
                return True
            self._wakeup.set()
        return self.pending() == 0

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wakeup.clear()
            try:
                delivery.deliver(
                    self._db,
                    self._client_for,
                    self._name,
                    refreshers=self._refreshers,
                    messages=False,
                    keep_going=lambda: not self._stopping.is_set(),
                )
            except Exception:  # keep the worker; the traceback goes to the log
                log.exception("refresh delivery failed")
            self._idle.set()
            self._wakeup.wait(POLL)
