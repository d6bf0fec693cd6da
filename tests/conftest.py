"""Shared fixtures: the real databases (SQLite always; PostgreSQL when one is
reachable, and required when MAPBOT_REQUIRE_POSTGRES=1 as in CI), a clock the
tests control, and the Slack stand-in."""

from __future__ import annotations

import atexit
import os
import shutil
import sqlite3
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from storage import clock
from storage.db import Database
from storage.models import Base

if TYPE_CHECKING:
    from tests.harness import Harness

PG_URL = os.environ.get(
    "MAPBOT_TEST_POSTGRES_URL", "postgresql+psycopg://mapbot:mapbot@127.0.0.1:5432/mapbot_test"
)
REQUIRE_PG = os.environ.get("MAPBOT_REQUIRE_POSTGRES") == "1"

_pg_state: dict[str, object] = {}


def _private_database(base_url: str) -> str:
    """A database of this test run's own (several runs may share the server),
    made fresh from the configured one's server; dropped when the run ends."""
    url = make_url(base_url)
    name = f"{url.database}_{os.getpid()}"
    # A server that never answers (a firewall drops the packets) must not hang the run.
    admin = create_engine(url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()

    def drop() -> None:
        for db in [_pg_state.get("db")]:
            if isinstance(db, Database):
                db.dispose()
        engine = create_engine(url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        except Exception as e:  # cleanup only: the next run of this pid drops it first
            print(f"note: test database {name} not dropped: {type(e).__name__}")
        finally:
            engine.dispose()

    atexit.register(drop)
    return url.set(database=name).render_as_string(hide_password=False)


# What libpq says when no server answers, and when one answers and refuses the login.
_UNREACHABLE = (
    "connection refused",
    "timeout expired",
    "timed out",
    "could not translate host",
    "no route to host",
    "network is unreachable",
)
_LOGIN_REFUSED = ("authentication failed", "no pg_hba.conf entry", "does not exist")


def why_postgres_unusable(error: Exception) -> str | None:
    """Why the tests cannot use the server at all (a reason to skip), or None when
    the server answered and let us in, so whatever went wrong is a real failure."""
    if not isinstance(error, OperationalError):
        return None
    said = str(error.orig).strip()
    first = said.splitlines()[0] if said else type(error.orig).__name__
    # Connection-time errors only: a "does not exist" here is the role or database.
    if any(m in said.lower() for m in _LOGIN_REFUSED):
        return f"PostgreSQL login refused at MAPBOT_TEST_POSTGRES_URL ({first})"
    if any(m in said.lower() for m in _UNREACHABLE):
        return f"PostgreSQL server unreachable at MAPBOT_TEST_POSTGRES_URL ({first})"
    return None


def _postgres() -> Database:
    """One migrated PostgreSQL database per run. No server, or a login refused: a
    skip saying which (a failure in CI). Anything else, a failing migration above
    all, fails the test: it is a bug, not a missing server."""
    if "db" in _pg_state:
        return _pg_state["db"]  # type: ignore[return-value]
    if "skip" in _pg_state:
        _no_postgres(str(_pg_state["skip"]))
    if "broken" in _pg_state:
        pytest.fail(str(_pg_state["broken"]), pytrace=False)
    try:
        url = _private_database(PG_URL)
    except Exception as e:
        reason = why_postgres_unusable(e)
        if reason is None:
            _pg_state["broken"] = f"PostgreSQL test database not created: {e}"
            raise
        _pg_state["skip"] = reason
        _no_postgres(reason)
    db = Database(url)
    try:
        db.upgrade()
    except Exception as e:
        _pg_state["broken"] = f"migrations failed on PostgreSQL: {type(e).__name__}: {e}"
        db.dispose()
        raise
    _pg_state["db"] = db
    return db


def _no_postgres(reason: str) -> None:
    if REQUIRE_PG:
        pytest.fail(reason + " and MAPBOT_REQUIRE_POSTGRES=1", pytrace=False)
    pytest.skip(reason)


def _truncate(db: Database) -> None:
    names = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with db.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


_sqlite_migrated: dict[str, Path] = {}


def _fresh_sqlite(tmp_path: object) -> Database:
    """A migrated SQLite database of the test's own: a copy of one migrated once per
    run (the migrations cost ~0.4 s a test; tests/test_migrations.py runs them
    itself, from empty and step by step)."""
    if "path" not in _sqlite_migrated:
        folder = Path(tempfile.mkdtemp(prefix="mapbot-migrated-"))
        atexit.register(shutil.rmtree, folder, True)
        template = Database(f"sqlite:///{folder}/mapbot.db")
        template.upgrade()
        template.dispose()
        _sqlite_migrated["path"] = folder / "mapbot.db"
    target = Path(str(tmp_path)) / "mapbot.db"
    # sqlite3's backup copies a consistent database whatever its journal mode.
    with (
        closing(sqlite3.connect(_sqlite_migrated["path"])) as src,
        closing(sqlite3.connect(target)) as dst,
    ):
        src.backup(dst)
    return Database(f"sqlite:///{target}")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: object) -> Iterator[Database]:
    """A fresh, migrated database of each kind."""
    if request.param == "sqlite":
        database = _fresh_sqlite(tmp_path)
        yield database
        database.dispose()
    else:
        database = _postgres()
        _truncate(database)
        yield database


@pytest.fixture
def sqlite_db(tmp_path: object) -> Iterator[Database]:
    database = _fresh_sqlite(tmp_path)
    yield database
    database.dispose()


class FixedClock:
    """A clock that stands still until moved."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def set(self, at: datetime) -> None:
        self.at = at


@pytest.fixture
def fixed_clock() -> Iterator[FixedClock]:
    fc = FixedClock(datetime(2026, 11, 23, 15, 0, tzinfo=UTC))  # a Monday afternoon
    clock.set_clock(fc)
    yield fc
    clock.set_clock(None)


@pytest.fixture(autouse=True)
def _fresh_identity_cache() -> Iterator[None]:
    """The per-process people cache must not outlive the rows it mirrors."""
    from bot.identity import forget_everyone

    forget_everyone()
    yield
    forget_everyone()


@pytest.fixture
def h(db: Database) -> Iterator[Harness]:
    """The whole app over HTTP with the Slack stand-in; at the end, Slack would
    have refused nothing we sent, and no rate tier was exceeded (a test that injects
    429s with `fail_next` is not counted: those are not the tier's)."""
    from tests.harness import running_app

    with running_app(db) as harness:
        yield harness
        assert harness.local.violations == [], "Slack would have refused something we sent"
        assert harness.local.rate_limited == [], "we went past Slack's rate for these"


# Background threads of ours that must end with the app that started them: one left
# running would keep claiming outbox rows of later tests on the shared PostgreSQL.
_OURS = ("refresh-", "after-ack")


@pytest.fixture(autouse=True)
def _no_sender_outlives_its_test() -> Iterator[None]:
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 15
    while True:
        left = [
            t.name
            for t in threading.enumerate()
            if t not in before and t.is_alive() and t.name.startswith(_OURS)
        ]
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert not left, f"still running after the test: {left}"
