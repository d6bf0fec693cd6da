"""outbox: what a send in flight leaves behind (recovery), refresh generations, shared pacing

Revision ID: 0016
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("posting_since", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("posting_thread", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("lookup_mark", sa.String(length=32), nullable=True))
        batch_op.add_column(
            sa.Column("generation", sa.Integer(), server_default="0", nullable=False)
        )
    op.create_table(
        "card_day",
        sa.Column("tz", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("tz"),
    )
    op.create_table(
        "pace",
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("next_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )


def downgrade() -> None:
    op.drop_table("pace")
    op.drop_table("card_day")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("generation")
        batch_op.drop_column("lookup_mark")
        batch_op.drop_column("posting_thread")
        batch_op.drop_column("posting_since")
