"""Alembic, driven from code so `mapbot db upgrade` needs no alembic.ini.

Replicas that start together all run `upgrade`: on PostgreSQL they queue on an
advisory lock, so one migrates and the others find the schema at its heads and
do nothing (without it two would both CREATE the same tables, and one fails).
SQLite has one writer at a time and one process per file."""

from __future__ import annotations

import logging
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

if TYPE_CHECKING:
    from storage.db import Database

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"
# pg_advisory_lock's key for "migrating MAP bot's schema": any constant the
# application uses for nothing else (here the ASCII of "mapbotdb").
MIGRATION_LOCK = 0x6D6170626F746462


def alembic_config(db: Database) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", db.url.replace("%", "%%"))
    cfg.attributes["engine"] = db.engine
    return cfg


@cache
def _heads() -> frozenset[str]:
    """The revisions the code's migrations end at (read from the files once)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return frozenset(ScriptDirectory.from_config(cfg).get_heads())


def _at_heads(db: Database) -> bool:
    """The schema is already where the code expects it: one SELECT, not Alembic's
    walk over every migration file (each process, replica and test starts here)."""
    try:
        with db.engine.connect() as conn:
            versions = conn.execute(text("SELECT version_num FROM alembic_version"))
            found = frozenset(versions.scalars())
    except DBAPIError:  # no schema yet
        return False
    return found == _heads()


def upgrade(db: Database, revision: str = "heads") -> None:
    # "heads": features add their tables in independent migrations off 0001.
    if revision == "heads" and _at_heads(db):
        return
    if db.is_sqlite:
        command.upgrade(alembic_config(db), revision)
        return
    # A session-level lock on a connection of its own, held while Alembic
    # migrates on another; released even when the migration fails.
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as lock:
        lock.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK})
        try:
            command.upgrade(alembic_config(db), revision)
        finally:
            lock.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK})
