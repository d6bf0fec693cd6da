"""Engine and sessions: SQLite by default (WAL, busy timeout, BEGIN IMMEDIATE for
writes), PostgreSQL through DATABASE_URL."""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, exc
from sqlalchemy.dialects import postgresql, sqlite
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


def _setup_sqlite(engine: Engine, writers: _SqliteWriters) -> None:
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
        if immediate:
            # Queued here, at the BEGIN, not around the session: what a write
            # does before its first statement and after its COMMIT happens
            # while the next writer already writes (Database.write releases).
            writers.acquire()
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class _SqliteWriters:
    """Writers to one SQLite file queue here, instead of letting SQLite's busy
    handler poll the file lock (it sleeps up to 100 ms between tries): threads
    on a lock, and the thread holding it takes an exclusive `flock` on
    `<file>.writers` for other processes (the kernel wakes the next waiter as
    soon as it is released). Taken at a write transaction's BEGIN, released by
    `released()` when the transaction has ended; an in-memory database has no
    other process."""

    def __init__(self, database: str | None) -> None:
        self._threads = threading.Lock()
        self._holder = threading.local()
        self._path = f"{database}.writers" if database and database != ":memory:" else None
        self._fd: int | None = None

    def acquire(self) -> None:
        if getattr(self._holder, "held", False):
            return  # this thread's transaction has it already
        self._threads.acquire()
        try:
            if self._path is not None:
                if self._fd is None:
                    self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
                fcntl.flock(self._fd, fcntl.LOCK_EX)
        except BaseException:
            self._threads.release()
            raise
        self._holder.held = True

    @contextmanager
    def released(self) -> Iterator[None]:
        """Around a write transaction: its lock, if it took one, is let go when
        the transaction has committed or rolled back."""
        if getattr(self._holder, "held", False):
            yield  # an enclosing transaction's: it lets go
            return
        try:
            yield
        finally:
            if getattr(self._holder, "held", False):
                self._holder.held = False
                if self._fd is not None:
                    fcntl.flock(self._fd, fcntl.LOCK_UN)
                self._threads.release()


# A pooled connection used this recently is taken to be alive without a ping.
PING_AFTER_IDLE = 5.0  # seconds


def _ping_after_idle(engine: Engine) -> None:
    """SQLAlchemy's pool_pre_ping pings on every checkout: one more round trip
    per transaction, on every click. Ping only a connection that sat in the pool
    longer than PING_AFTER_IDLE (the server restarted since, a proxy's idle
    timeout), and replace it if it is dead. A server restart in the last few
    seconds costs the one request that meets a dead connection an error (its
    503, as with the database down); SQLAlchemy then drops the whole pool."""

    @event.listens_for(engine, "checkin")
    def _checkin(_dbapi_conn: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.pop("idle_since", None)
        if since is None or time.monotonic() - since <= PING_AFTER_IDLE:
            return  # new, or just used
        try:
            engine.dialect.do_ping(dbapi_conn)
        except engine.dialect.loaded_dbapi.Error as e:
            raise exc.DisconnectionError(f"a pooled connection died while idle: {e}") from e


def insert_for(dialect: str) -> Callable[..., postgresql.Insert | sqlite.Insert]:
    """The dialect's INSERT, the one with ON CONFLICT (SQLite's and PostgreSQL's
    spell it the same; SQLAlchemy keeps it per dialect)."""
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


class Replayed(Exception):
    """The request's claim was lost: another delivery of it was carried out."""


class FirstWrite:
    """A statement a request must commit before anything it does takes effect (the
    replay claim, bot.replays): made in the request's first write transaction, so
    a click commits once instead of twice, or on its own by `settle` when the
    request writes nothing (or before it hands work to another thread). `claim`
    returns False when someone else holds it: that transaction raises `Replayed`
    and nothing of it is written."""

    def __init__(self, db: Database, claim: Callable[[Connection], bool]) -> None:
        self.db = db
        self.claim = claim
        self.state = "pending"  # then "won" (committed, or in a transaction) or "lost"

    def ride(self, conn: Connection) -> bool:
        """Claim in `conn`'s transaction if still pending; True if it did."""
        if self.state != "pending":
            if self.state == "lost":
                raise Replayed
            return False
        if not self.claim(conn):
            self.state = "lost"
            raise Replayed
        self.state = "won"
        return True

    def settle(self) -> None:
        """Claim now, alone, unless a write carried it already (raises `Replayed`)."""
        if self.state == "won":
            return
        with first_write(self), self.db.write_connection():
            pass


_first_write: ContextVar[FirstWrite | None] = ContextVar("mapbot_first_write", default=None)


@contextmanager
def first_write(pending: FirstWrite) -> Iterator[FirstWrite]:
    """While the block runs (one request, in its thread), this thread's first write
    transaction on `pending.db` carries `pending`'s claim."""
    token = _first_write.set(pending)
    try:
        yield pending
    finally:
        _first_write.reset(token)


def settle_first_write() -> None:
    """Commit this thread's pending claim now, if any (raises `Replayed` if lost)."""
    pending = _first_write.get()
    if pending is not None:
        pending.settle()


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
            kwargs["pool_size"] = 10
        self.engine = create_engine(self.url, **kwargs)
        if not self.is_sqlite:
            _ping_after_idle(self.engine)
        # SQLite has one writer at a time (see _SqliteWriters); PostgreSQL's
        # writers lock rows, not the database.
        self._writers: Callable[[], AbstractContextManager[Any]] = nullcontext
        if self.is_sqlite:
            writers = _SqliteWriters(parsed.database)
            _setup_sqlite(self.engine, writers)
            self._writers = writers.released
        write_engine = self.engine.execution_options(sqlite_immediate=True)
        self._write_engine = write_engine
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
        with (
            self._write() as session,
            self._writers(),
            self._claims() as ride,
            session.begin(),
        ):
            ride(session.connection)
            yield session

    @contextmanager
    def _claims(self) -> Iterator[Callable[[Callable[[], Connection]], None]]:
        """Around one write transaction: `ride(conn)` makes the thread's pending
        claim in it (FirstWrite); pending again if the transaction fails."""
        pending = _first_write.get()
        carried = False

        def ride(conn: Callable[[], Connection]) -> None:
            nonlocal carried
            if pending is not None and pending.db is self:
                carried = pending.ride(conn())

        try:
            yield ride
        except BaseException:
            if carried and pending is not None:
                pending.state = "pending"
            raise

    @contextmanager
    def write_connection(self) -> Iterator[Connection]:
        """One write transaction on a bare connection, no ORM session: for a
        single statement on every request (the replay claim)."""
        with self._writers(), self._claims() as ride, self._write_engine.begin() as conn:
            ride(lambda: conn)
            yield conn

    def upgrade(self) -> None:
        from storage.migrate import upgrade

        upgrade(self)

    def dispose(self) -> None:
        self.engine.dispose()
