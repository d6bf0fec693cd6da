"""PostgreSQL's pooled connections: a transaction on a connection just used costs
no ping (pool_pre_ping's round trip on every click), and one that sat idle is
pinged and, if the server dropped it meanwhile, replaced without an error."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import text

from storage import db as db_module
from storage.db import Database
from tests.conftest import _postgres

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg() -> Iterator[Database]:
    database = Database(_postgres().url)  # an engine and pool of the test's own
    yield database
    database.dispose()


def _backend(db: Database) -> int:
    with db.read() as s:
        return int(s.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _pings(db: Database, monkeypatch: pytest.MonkeyPatch) -> list[object]:
    pings: list[object] = []
    ping = db.engine.dialect.do_ping

    def counted(conn: object) -> bool:
        pings.append(conn)
        return bool(ping(conn))

    monkeypatch.setattr(db.engine.dialect, "do_ping", counted)
    return pings


def test_a_connection_just_used_is_not_pinged(
    pg: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    pings = _pings(pg, monkeypatch)
    first = _backend(pg)
    for _ in range(5):
        with pg.write() as s:
            s.execute(text("SELECT 1"))
        assert _backend(pg) == first  # the same pooled connection
    assert pings == []


def test_an_idle_connection_the_server_dropped_is_replaced(
    pg: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    pings = _pings(pg, monkeypatch)
    dropped = _backend(pg)
    with _postgres().engine.connect() as other:  # the server ends it (a restart, a timeout)
        ended = other.execute(text("SELECT pg_terminate_backend(:p)"), {"p": dropped})
        assert ended.scalar_one() is True
    monkeypatch.setattr(db_module, "PING_AFTER_IDLE", 0.0)  # it has been idle long enough
    assert _backend(pg) != dropped  # no error: a new connection took its place
    assert len(pings) == 1


def test_a_recent_connection_the_server_dropped_fails_once_then_the_pool_is_renewed(
    pg: Database,
) -> None:
    from sqlalchemy.exc import DBAPIError

    dropped = _backend(pg)
    with _postgres().engine.connect() as other:  # a restart within the last seconds
        other.execute(text("SELECT pg_terminate_backend(:p)"), {"p": dropped})
    with pytest.raises(DBAPIError) as failed:  # the request's 503
        _backend(pg)
    assert failed.value.connection_invalidated
    assert _backend(pg) != dropped  # the next one is served
