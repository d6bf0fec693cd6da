"""Requests already carried out: an insert-or-fail claim on (kind, key), shared by
every process on the database, with rows that expire."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete
from sqlalchemy.exc import IntegrityError

from storage.db import Database
from storage.models import SeenRequest


def claim(db: Database, kind: str, key: str, *, now: datetime, ttl: timedelta) -> bool:
    """True for the first claim of (kind, key) until it expires; False for every
    other, including one racing it from another replica (the primary key decides)."""
    try:
        with db.write() as s:
            # An expired claim no longer counts (it may not have been pruned yet).
            s.execute(
                delete(SeenRequest).where(
                    SeenRequest.kind == kind,
                    SeenRequest.key == key,
                    SeenRequest.expires_at <= now,
                )
            )
            s.add(SeenRequest(kind=kind, key=key, expires_at=now + ttl))
            s.flush()
    except IntegrityError:
        return False
    return True


def release(db: Database, kind: str, key: str) -> None:
    """Forget a claim whose request was not carried out, so a retry can be."""
    with db.write() as s:
        s.execute(delete(SeenRequest).where(SeenRequest.kind == kind, SeenRequest.key == key))


def prune(db: Database, now: datetime) -> int:
    """Drop expired claims (one indexed range delete); the number dropped."""
    with db.write() as s:
        result = s.execute(delete(SeenRequest).where(SeenRequest.expires_at <= now))
    return int(cast(CursorResult[Any], result).rowcount)
