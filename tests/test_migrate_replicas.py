"""Replicas that start together all run `mapbot db upgrade`; on PostgreSQL they
queue on an advisory lock, so the schema is made once and every one exits 0."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from storage.db import Database
from storage.migrate import alembic_config
from storage.models import Base
from tests.conftest import PG_URL, _postgres

ROOT = Path(__file__).resolve().parent.parent
REPLICAS = 4


@pytest.fixture
def fresh_pg_url() -> Iterator[str]:
    """An empty database of this test's own on the test server."""
    _postgres()  # the server is there (else skip, or fail in CI)
    url = make_url(PG_URL)
    name = f"{url.database}_replicas_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.mark.postgres
def test_replicas_upgrading_at_once_all_succeed_and_migrate_once(
    fresh_pg_url: str, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    env["DATABASE_URL"] = fresh_pg_url
    # Each waits for a go file, so they all reach Alembic at the same moment.
    go = tmp_path / "go"
    start = (
        "import pathlib, sys, time\n"
        f"go = pathlib.Path({str(go)!r})\n"
        "from bot.cli import main\n"
        "import storage.migrate, alembic.command\n"
        "while not go.exists(): time.sleep(0.005)\n"
        "sys.exit(main(['db', 'upgrade']))\n"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", start],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(REPLICAS)
    ]
    time.sleep(3)  # all imported and waiting
    go.touch()
    results = [p.communicate(timeout=120) for p in procs]
    codes = [p.returncode for p in procs]
    assert codes == [0] * REPLICAS, results
    assert all(out.strip() == "database is up to date" for out, _ in results), results

    db = Database(fresh_pg_url)
    try:
        heads = set(ScriptDirectory.from_config(alembic_config(db)).get_heads())
        with db.engine.connect() as conn:
            versions = {r[0] for r in conn.execute(text("SELECT version_num FROM alembic_version"))}
            tables = set(inspect(conn).get_table_names())
        assert versions == heads
        assert set(Base.metadata.tables) <= tables
    finally:
        db.dispose()
