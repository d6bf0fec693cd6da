"""What the database benchmarks share: their command line and a fresh
PostgreSQL database per size."""

from __future__ import annotations

import argparse
import atexit
import os

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url

DEFAULT_PG = "postgresql+psycopg://mapbot:mapbot@127.0.0.1:5432/mapbot_test"


def parser(description: str | None = None) -> argparse.ArgumentParser:
    """`--plans N` (default 10,000; also measured at a tenth), `--pg URL` (default
    MAPBOT_BENCH_POSTGRES_URL, else the test server), `--no-pg`; a bench adds its own."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--plans", type=int, default=10000)
    ap.add_argument("--pg", default=os.environ.get("MAPBOT_BENCH_POSTGRES_URL", DEFAULT_PG))
    ap.add_argument("--no-pg", action="store_true")
    return ap


def fresh_pg(url: str, name: str) -> str:
    """An empty database `name` of this run's own on the server of `url` (the pid in
    its name: two bench runs at once must not drop each other's)."""
    name = f"{name}_{os.getpid()}"
    base = make_url(url)
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    atexit.register(_drop, base, name)  # a per-run name: not left behind on the server
    return base.set(database=name).render_as_string(hide_password=False)


def _drop(base: URL, name: str) -> None:
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()
