"""Requests already carried out: an insert-or-fail claim on (kind, key), shared by
every process on the database, with rows that expire."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Connection, CursorResult, bindparam, delete
from sqlalchemy.sql.expression import Executable

from storage.db import Database, insert_for
from storage.models import SeenRequest


def claim(db: Database, kind: str, key: str, *, now: datetime, ttl: timedelta) -> bool:
    """True for the first claim of (kind, key) until it expires; False for every
    other, including one racing it from another replica (the primary key decides).
    One statement on every request: insert, or take over a claim that expired
    (it may not have been pruned yet); a live claim is left alone and nothing
    is written and no row comes back: whether one did says who won (RETURNING,
    since psycopg reports no row count for an upsert)."""
    with db.write_connection() as conn:
        return claim_in(conn, kind, key, now=now, ttl=ttl)


def claim_in(conn: Connection, kind: str, key: str, *, now: datetime, ttl: timedelta) -> bool:
    """`claim`, as one statement of the transaction `conn` is in."""
    dialect = conn.dialect.name
    stmt = _CLAIMS.get(dialect)
    if stmt is None:
        stmt = _CLAIMS.setdefault(dialect, _claim_statement(dialect))
    won = conn.execute(stmt, {"kind": kind, "key": key, "now": now, "until": now + ttl})
    return won.first() is not None


_CLAIMS: dict[str, Executable] = {}


def _claim_statement(dialect: str) -> Executable:
    insert = insert_for(dialect)
    expires = SeenRequest.__table__.c.expires_at
    stmt = insert(SeenRequest).values(
        kind=bindparam("kind"),
        key=bindparam("key"),
        expires_at=bindparam("until", type_=expires.type),
    )
    return stmt.on_conflict_do_update(
        index_elements=["kind", "key"],
        set_={"expires_at": stmt.excluded.expires_at},
        where=expires <= bindparam("now", type_=expires.type),
    ).returning(SeenRequest.kind)


def release(db: Database, kind: str, key: str) -> None:
    """Forget a claim whose request was not carried out, so a retry can be."""
    with db.write() as s:
        s.execute(delete(SeenRequest).where(SeenRequest.kind == kind, SeenRequest.key == key))


def prune(db: Database, now: datetime) -> int:
    """Drop expired claims (one indexed range delete); the number dropped."""
    with db.write() as s:
        result = s.execute(delete(SeenRequest).where(SeenRequest.expires_at <= now))
    return int(cast(CursorResult[Any], result).rowcount)
