"""Shared fixtures: the real databases (SQLite always; PostgreSQL when one is
reachable, and required when MAPBOT_REQUIRE_POSTGRES=1 as in CI), a clock the
tests control, and the Slack stand-in."""

from __future__ import annotations

import atexit
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

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
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
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


def _postgres() -> Database:
    """One migrated PostgreSQL database per run; skip (or fail in CI) without one."""
    if "db" in _pg_state:
        return _pg_state["db"]  # type: ignore[return-value]
    if "error" in _pg_state:
        _no_postgres(str(_pg_state["error"]))
    try:
        db = Database(_private_database(PG_URL))
        db.upgrade()
    except Exception as e:  # any failure to reach or set up the server
        _pg_state["error"] = f"{type(e).__name__}: {str(e).splitlines()[0]}"
        _no_postgres(str(_pg_state["error"]))
    _pg_state["db"] = db
    return db


def _no_postgres(reason: str) -> None:
    message = f"PostgreSQL not reachable at MAPBOT_TEST_POSTGRES_URL ({reason})"
    if REQUIRE_PG:
        pytest.fail(message + " and MAPBOT_REQUIRE_POSTGRES=1", pytrace=False)
    pytest.skip(message)


def _truncate(db: Database) -> None:
    names = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with db.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: object) -> Iterator[Database]:
    """A fresh, migrated database of each kind."""
    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path}/mapbot.db")  # type: ignore[str-bytes-safe]
        database.upgrade()
        yield database
        database.dispose()
    else:
        database = _postgres()
        _truncate(database)
        yield database


@pytest.fixture
def sqlite_db(tmp_path: object) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path}/mapbot.db")  # type: ignore[str-bytes-safe]
    database.upgrade()
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
    have refused nothing we sent."""
    from tests.harness import running_app

    with running_app(db) as harness:
        yield harness
        assert harness.local.violations == [], "Slack would have refused something we sent"
