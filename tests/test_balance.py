"""Keep-alive connections are spread over `mapbot serve`'s HTTP processes
(bot.balance): the least loaded process takes the next connection, and a dead
process's row never holds new connections back."""

from __future__ import annotations

import http.client
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import balance, prefork
from tests.processes import free_port

PID_SERVER = Path(__file__).resolve().parent / "fixtures" / "pid_server.py"


def test_the_least_loaded_process_takes_the_next_connection() -> None:
    now = 100.0
    assert balance.may_accept([(1, now), (2, now)], 0, now)
    assert not balance.may_accept([(1, now), (2, now)], 1, now)
    assert balance.may_accept([(2, now), (2, now)], 1, now)  # a tie: either
    assert balance.may_accept([(5, now)], 0, now)  # alone


def test_a_row_not_refreshed_lately_holds_no_one_back() -> None:
    now = 100.0
    stale = now - balance.STALE - 0.01
    assert balance.may_accept([(3, now), (0, stale)], 0, now)
    assert not balance.may_accept([(3, now), (0, now - balance.STALE)], 0, now)
    assert balance.may_accept([(3, now), (0, float("-inf"))], 0, now)  # cleared


def test_the_table_is_shared_through_its_file() -> None:
    table = balance.Table.create(2)
    try:
        other = balance.Table(table.fd)  # as an HTTP process maps it: 2 rows, by its size
        table.publish(1, 4, 12.5)
        assert other.rows() == [(0, 0.0), (4, 12.5)]
        other.clear(1)
        assert table.rows()[1][0] == 0 and table.rows()[1][1] == float("-inf")
    finally:
        table.close()


@pytest.fixture
def pool() -> Iterator[tuple[prefork.Prefork, int]]:
    port = free_port()
    pool = prefork.Prefork(prefork.listen("127.0.0.1", port), 2, command=(str(PID_SERVER),))
    pool.start()
    try:
        _until(lambda: all(_fresh(pool, n) for n in range(2)), "both processes up")
        yield pool, port
    finally:
        pool.stop()


def _fresh(pool: prefork.Prefork, n: int) -> bool:
    assert pool.table is not None
    return time.monotonic() - pool.table.rows()[n][1] < 1.5


def _until(ok: object, what: str, within: float = 30) -> None:
    deadline = time.monotonic() + within
    while not ok():  # type: ignore[operator]
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def _connect(port: int) -> tuple[http.client.HTTPConnection, int]:
    """A keep-alive connection, and the pid of the process that took it."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/")
    return conn, int(conn.getresponse().read())


def test_four_connections_land_two_on_each_process(pool: tuple[prefork.Prefork, int]) -> None:
    p, port = pool
    assert p.table is not None
    # Three rounds: with the kernel alone choosing, 2 and 2 comes up 6 times in 16.
    for _ in range(3):
        conns = [_connect(port) for _ in range(4)]
        assert sorted(Counter(pid for _, pid in conns).values()) == [2, 2]
        # Every request on a connection stays with its process.
        for conn, pid in conns:
            conn.request("GET", "/")
            assert int(conn.getresponse().read()) == pid
        for conn, _ in conns:
            conn.close()
        _until(lambda: [held for held, _ in p.table.rows()] == [0, 0], "connections closed")  # type: ignore[union-attr]


def test_a_dead_process_does_not_hold_connections_back(pool: tuple[prefork.Prefork, int]) -> None:
    p, port = pool
    assert p.table is not None
    conns = [_connect(port) for _ in range(3)]  # 1 and 1, then a third on either
    held = Counter(pid for _, pid in conns)
    (busy, _), (victim, _) = held.most_common()
    (slot,) = [s for s in p.slots if s.proc is not None and s.proc.pid == victim]
    slot.quick_deaths = 10  # no new process in its place during the test
    # Its row fresh (it just answered) and fewer than the other's: the other
    # process leaves the next connection to it, until its row is cleared.
    (on_victim,) = [c for c, pid in conns if pid == victim]
    on_victim.request("GET", "/")
    on_victim.getresponse().read()
    assert slot.proc is not None
    slot.proc.kill()
    slot.proc.wait()
    p.check()  # the supervisor's next look
    started = time.monotonic()
    conn, pid = _connect(port)
    # The live process's loop wakes within a second (waitress's loop timeout),
    # not once the dead row has gone stale.
    assert pid == busy
    assert time.monotonic() - started < balance.STALE - 1
    for c, _ in [*conns, (conn, pid)]:
        c.close()


def test_a_process_without_its_table_serves_unbalanced(caplog: pytest.LogCaptureFixture) -> None:
    class Server:
        active_channels: dict[int, object] = {}

        def readable(self) -> bool:
            return True

    server = Server()
    before = server.readable
    balance.balance(server, {balance.FD_ENV: "987654", balance.SLOT_ENV: "0"})
    assert server.readable == before  # left as waitress made it
    assert "unbalanced" in caplog.text
    balance.balance(server, {})  # not started by a supervisor: nothing to do
    assert server.readable == before


def test_a_supervisor_without_a_table_still_serves(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def refused(_slots: int) -> balance.Table:
        raise OSError("no room for the table")

    monkeypatch.setattr(balance.Table, "create", refused)
    port = free_port()
    p = prefork.Prefork(prefork.listen("127.0.0.1", port), 1, command=(str(PID_SERVER),))
    p.start()
    try:
        assert p.table is None and "unbalanced" in caplog.text
        deadline = time.monotonic() + 30
        while True:
            try:
                conn, pid = _connect(port)
                break
            except OSError:
                assert time.monotonic() < deadline, "never answered"
                time.sleep(0.1)
        assert p.slots[0].proc is not None and pid == p.slots[0].proc.pid
        conn.close()
    finally:
        p.stop()
