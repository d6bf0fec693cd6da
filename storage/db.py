"""Engine and sessions: SQLite by default (WAL, busy timeout, BEGIN IMMEDIATE for
writes), PostgreSQL through DATABASE_URL."""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

DEFAULT_SQLITE_PATH = "mapbot.db"


def default_url() -> str:
    return f"sqlite:///{DEFAULT_SQLITE_PATH}"


def normalise_url(url: str) -> str:
    """Accept the usual `postgres://` / `postgresql://` spellings and use psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _setup_sqlite(engine: Engine) -> None:
    # pysqlite's own transaction handling issues BEGIN lazily and never
    # IMMEDIATE; take it over so writers lock up front instead of failing
    # with "database is locked" when they upgrade a read lock.
    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=10000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get("sqlite_immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class _SqliteWriters:
    """Writers to one SQLite file queue here: threads on an RLock, and the thread
    holding it takes an exclusive `flock` on `<file>.writers` for other
    processes (the kernel wakes the next waiter as soon as it is released).
    Re-entrant within a thread; an in-memory database has no other process."""

    def __init__(self, database: str | None) -> None:
        self._threads = threading.RLock()
        self._depth = 0
        self._path = f"{database}.writers" if database and database != ":memory:" else None
        self._fd: int | None = None

    def __enter__(self) -> None:
        self._threads.acquire()
        self._depth += 1
        if self._depth == 1 and self._path is not None:
            if self._fd is None:
                self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self._fd, fcntl.LOCK_EX)

    def __exit__(self, *_exc: object) -> None:
        self._depth -= 1
        if self._depth == 0 and self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._threads.release()


class Database:
    """One engine and the two kinds of session the app uses."""

    def __init__(self, url: str | None = None, *, echo: bool = False) -> None:
        self.url = normalise_url(url or os.environ.get("DATABASE_URL") or default_url())
        parsed = make_url(self.url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        kwargs: dict[str, Any] = {"echo": echo}
        if self.is_sqlite:
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 10}
        else:
            kwargs["pool_pre_ping"] = True
            kwargs["pool_size"] = 10
        self.engine = create_engine(self.url, **kwargs)
        if self.is_sqlite:
            _setup_sqlite(self.engine)
        write_engine = self.engine.execution_options(sqlite_immediate=True)
        self._write_engine = write_engine
        self._write_lock: AbstractContextManager[Any] = (
            _SqliteWriters(parsed.database) if self.is_sqlite else nullcontext()
        )
        # A read model is several SELECTs (plan, milestones, tasks…): on PostgreSQL
        # they share one snapshot, or a write committed between two of them shows
        # a task whose milestone the first did not see. Read-only: never a
        # serialization failure. (SQLite's read transaction is a snapshot already.)
        read_engine = (
            self.engine
            if self.is_sqlite
            else self.engine.execution_options(isolation_level="REPEATABLE READ")
        )
        self._read = sessionmaker(read_engine, expire_on_commit=False)
        self._write = sessionmaker(write_engine, expire_on_commit=False)

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._read() as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One write transaction: committed on success, rolled back on any error."""
        # SQLite has one writer at a time. Queue writers on a lock, which wakes
        # the next one at once, instead of letting them poll the file lock
        # (SQLite's busy handler sleeps up to 100 ms between tries): this
        # process's threads on an RLock, other processes on a file lock beside
        # the database (`serve --workers N` on one SQLite file).
        with self._write_lock, self._write() as session, session.begin():
            yield session

    @contextmanager
    def write_connection(self) -> Iterator[Connection]:
        """One write transaction on a bare connection, no ORM session: for a
        single statement on every request (the replay claim)."""
        with self._write_lock, self._write_engine.begin() as conn:
            yield conn

    def upgrade(self) -> None:
        from storage.migrate import upgrade

        upgrade(self)

    def dispose(self) -> None:
        self.engine.dispose()
