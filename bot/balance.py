"""Keep-alive connections spread over the HTTP processes of `mapbot serve`.

The HTTP processes share one listening socket, and the kernel hands a new
connection to whichever process accepts first; the connection then stays with
that process for every request on it. A proxy's upstream pool, or any client
with a few long-lived connections, can so land them all on one process: one
core works while the others idle (the benchmark saw 4 of 4 connections on one
of 2 processes in half its slices, and a click's throughput fall by a third).

So each process publishes, in a table the supervisor shares with them (a file
of one row per process), how many connections it holds, and listens for new
ones only while it holds no more than the fewest among the live processes: the
least loaded takes the next connection. A row not refreshed for STALE seconds
(a hung process) is left out, and the supervisor clears a dead process's row at
once, so no connection waits on a process that cannot take it.
"""

from __future__ import annotations

import logging
import mmap
import os
import struct
import tempfile
import time
from collections.abc import Mapping, Sequence
from typing import Any

log = logging.getLogger(__name__)

# connections held, last refreshed (time.monotonic(): one clock for all processes)
_ROW = struct.Struct("=qd")
# waitress's loop wakes at least once a second (asyncore_loop_timeout) and
# refreshes its row then: a live process's row is never this old.
STALE = 3.0
FD_ENV = "MAPBOT_BALANCE_FD"
SLOT_ENV = "MAPBOT_BALANCE_SLOT"


def may_accept(rows: Sequence[tuple[int, float]], mine: int, now: float) -> bool:
    """Whether process `mine` should take the next connection: it holds no more
    than any other live process (ties all take it; the kernel picks one)."""
    held = rows[mine][0]
    others = [count for i, (count, beat) in enumerate(rows) if i != mine and now - beat <= STALE]
    return all(held <= count for count in others)


class Table:
    """One row per HTTP process, in a file every process maps."""

    def __init__(self, fd: int, slots: int | None = None) -> None:
        """The table in file `fd`; its size says how many rows, unless given."""
        self.fd = fd
        self.slots = os.fstat(fd).st_size // _ROW.size if slots is None else slots
        self._map = mmap.mmap(fd, self.slots * _ROW.size)

    @classmethod
    def create(cls, slots: int) -> Table:
        """The supervisor's: a file in memory (Linux), else an unlinked temporary
        file, inherited by the HTTP processes."""
        if hasattr(os, "memfd_create"):
            fd = os.memfd_create("mapbot-balance")
        else:
            with tempfile.TemporaryFile(prefix="mapbot-balance-") as f:
                fd = os.dup(f.fileno())
        os.ftruncate(fd, slots * _ROW.size)
        return cls(fd, slots)

    def rows(self) -> list[tuple[int, float]]:
        return [_ROW.unpack_from(self._map, i * _ROW.size) for i in range(self.slots)]

    def publish(self, slot: int, held: int, now: float) -> None:
        _ROW.pack_into(self._map, slot * _ROW.size, held, now)

    def clear(self, slot: int) -> None:
        """A dead process's row: never fresh, so no one waits on it."""
        self.publish(slot, 0, float("-inf"))

    def close(self) -> None:
        self._map.close()
        os.close(self.fd)


def child_env(table: Table, slot: int) -> dict[str, str]:
    """What an HTTP process is started with to find its row."""
    return {FD_ENV: str(table.fd), SLOT_ENV: str(slot)}


def balance(server: Any, env: Mapping[str, str] = os.environ) -> None:
    """Make waitress `server` listen only while this process is among the least
    loaded (`may_accept`); unchanged when not started by a supervisor's table."""
    fd, slot = env.get(FD_ENV), env.get(SLOT_ENV)
    if fd is None or slot is None:
        return
    mine = int(slot)
    try:
        table = Table(int(fd))
    except (OSError, ValueError) as e:  # an environment inherited without the file
        log.warning("no connection table (%s): this process takes connections unbalanced", e)
        return
    listens = server.readable  # waitress's own: its cleanup and connection limit

    def readable() -> bool:
        # Called on every turn of waitress's loop, and after every accept.
        now = time.monotonic()
        table.publish(mine, len(server.active_channels), now)
        return bool(listens()) and may_accept(table.rows(), mine, now)

    server.readable = readable
