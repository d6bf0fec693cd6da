"""Alembic environment: reuses the app's engine when given one."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from storage.models import Base

config = context.config
engine = config.attributes.get("engine") or create_engine(
    config.get_main_option("sqlalchemy.url") or ""
)

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters by copying tables
        # slack_sdk's OAuth tables are created by migration 0006, not by our models:
        # keep autogenerate from proposing to drop them.
        include_object=lambda obj, name, type_, reflected, compare_to: (
            not (
                type_ == "table"
                and reflected
                and compare_to is None
                and str(name).startswith("slack_")
            )
        ),
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
