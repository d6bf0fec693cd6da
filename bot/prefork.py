"""`mapbot serve` with several HTTP processes sharing one listening socket.

The supervisor binds the socket, starts N HTTP processes (each a fresh
interpreter, `python -m bot.prefork FD`, running waitress on the inherited
socket; bot.balance shares the connections out), starts a new one when
one dies, and on SIGTERM stops them all and waits for their in-flight requests.

Why processes and not threads: one Python process uses one core for the app's
own work. Why waitress on a shared socket rather than a new server: it is the
server the app already runs on, pure Python and kept, and sharing a socket is
all a pre-fork needs. Why spawned and not forked: the supervisor runs the
scheduler and delivery threads, and forking a process with threads copies locks
held by them (spawning starts clean).

Nothing an HTTP process holds is needed by another: replay claims, pacing,
refresh rows, rosters and the outbox live in the database.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bot import balance

log = logging.getLogger(__name__)

RESPAWN_MAX_DELAY = 30.0  # seconds; a process that keeps dying is restarted at most this often
STOP_GRACE = 20.0  # seconds an HTTP process gets to finish its requests on SIGTERM


def listen(host: str, port: int, backlog: int = 1024) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(backlog)
    sock.set_inheritable(True)
    return sock


@dataclass
class _Slot:
    proc: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    quick_deaths: int = 0
    due: float = 0.0  # when to start it (again)


@dataclass
class Prefork:
    sock: socket.socket
    workers: int
    # What each HTTP process runs, the socket's file descriptor appended (the
    # benchmark runs a bare Bolt app the same way).
    command: Sequence[str] = ("-m", "bot.prefork")
    slots: list[_Slot] = field(default_factory=list)
    # How many connections each HTTP process holds (bot.balance).
    table: balance.Table | None = None

    def start(self) -> None:
        self.slots = [_Slot() for _ in range(self.workers)]
        try:
            self.table = balance.Table.create(self.workers)
        except OSError as e:  # serving matters more than sharing connections out
            log.warning("no connection table (%s): HTTP processes take connections unbalanced", e)
        for n in range(self.workers):
            self._spawn(n)

    def watch(self, tick: float = 0.2) -> None:
        """Until interrupted (SIGTERM's handler raises SystemExit): restart the
        HTTP processes that die, with backoff if they die young."""
        while True:
            self.check()
            time.sleep(tick)

    def check(self) -> None:
        """One look at the HTTP processes: note the dead, start what is due."""
        now = time.monotonic()
        for n, slot in enumerate(self.slots):
            if slot.proc is not None and slot.proc.poll() is not None:
                code = slot.proc.returncode
                young = now - slot.started < 5
                slot.quick_deaths = slot.quick_deaths + 1 if young else 0
                delay = min(RESPAWN_MAX_DELAY, 2.0**slot.quick_deaths - 1)
                log.warning(
                    "HTTP process %d (pid %d) exited with %s; starting another in %.0f s",
                    n + 1,
                    slot.proc.pid,
                    code,
                    delay,
                )
                slot.proc, slot.due = None, now + delay
                if self.table is not None:
                    self.table.clear(n)  # no connection waits for it
            if slot.proc is None and now >= slot.due:
                self._spawn(n)

    def stop(self) -> None:
        """SIGTERM to each HTTP process, then wait for them (killing what lingers).
        Idempotent: the SIGTERM handler and the `finally` after `watch` both call it."""
        running = [s.proc for s in self.slots if s.proc is not None and s.proc.poll() is None]
        for slot in self.slots:
            slot.proc, slot.due = None, float("inf")  # and none started again
        for proc in running:
            proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE
        for proc in running:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("HTTP process %d did not stop in %.0f s: killed", proc.pid, STOP_GRACE)
                proc.kill()
                proc.wait()
        if self.sock.fileno() != -1:
            self.sock.close()
        if self.table is not None:
            self.table.close()
            self.table = None

    def _spawn(self, n: int) -> None:
        slot, fd = self.slots[n], self.sock.fileno()
        fds: tuple[int, ...] = (fd,)
        env = {**os.environ, SUPERVISOR_ENV: str(os.getpid())}
        if self.table is not None:
            self.table.clear(n)  # until the new process first says what it holds
            fds, env = (fd, self.table.fd), {**env, **balance.child_env(self.table, n)}
        slot.proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, *self.command, str(fd)], pass_fds=fds, env=env
        )
        slot.started = time.monotonic()


def http_server(app: Any, fd: int, threads: int, **options: Any) -> Any:
    """An HTTP process's waitress server on the inherited socket, taking its share
    of new connections (bot.balance)."""
    from waitress import create_server

    server = create_server(app, sockets=[socket.socket(fileno=fd)], threads=threads, **options)
    balance.balance(server)
    return server


SUPERVISOR_ENV = "MAPBOT_SUPERVISOR_PID"
_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def die_with_supervisor() -> None:
    """An HTTP process ends when its supervisor does, however it ends. Killed
    (SIGKILL, the OOM killer) it cannot stop us, and an orphan would go on
    answering clicks on the inherited socket with no delivery behind it, and
    hold the port a restart needs. Linux: the kernel sends us SIGKILL then
    (PR_SET_PDEATHSIG; the supervisor spawns from its main thread, whose end
    is what the kernel watches); if it died before we asked, we stop now."""
    supervisor = os.environ.get(SUPERVISOR_ENV)
    if not supervisor or not sys.platform.startswith("linux"):
        return
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        log.warning("prctl(PR_SET_PDEATHSIG) failed: errno %d", ctypes.get_errno())
    if os.getppid() != int(supervisor):
        raise SystemExit("the supervisor is gone")


def _child(fd: int) -> int:
    """One HTTP process: the app on the inherited socket; no scheduler, no delivery
    (the supervisor, or `mapbot worker`, sends what the outbox holds)."""
    from bot import logs
    from bot.app import build
    from bot.config import Settings, default_threads
    from bot.server import wsgi_app
    from bot.slack_link import bot_token_link
    from storage.db import Database

    die_with_supervisor()
    settings = Settings.from_env()
    logs.configure(settings.log_level, settings.log_format)
    db = Database(settings.database_url)  # migrated by the supervisor before we started
    bot = build(settings, db, upgrade=False, deliver=False, verify_token=False)
    link = bot_token_link(settings, bot.app, quiet=True)  # the supervisor says it
    links = [link.start()] if link else []
    app = wsgi_app(bot.app, db, links)
    threads = settings.threads or default_threads(2, db.is_sqlite)  # one of several
    server = http_server(app, fd, threads, ident="mapbot")

    def stop(_signum: int, _frame: object) -> None:
        raise SystemExit(0)  # waitress's loop catches it and lets its threads finish

    signal.signal(signal.SIGTERM, stop)
    log.debug("HTTP process %d ready", os.getpid())
    server.run()
    return 0


if __name__ == "__main__":
    sys.exit(_child(int(sys.argv[1])))
