"""sides: channel rosters (conversations.members, kept current by join/leave events)

Revision ID: 0011
Revises: 0009
Create Date: 2026-12-01 09:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "channel_roster",
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("channel_id", sa.String(length=32), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("team_id", "channel_id"),
    )
    op.create_table(
        "channel_member",
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("channel_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("team_id", "channel_id", "user_id"),
    )
    op.create_index("ix_channel_member_user", "channel_member", ["team_id", "user_id"])


def downgrade() -> None:
    op.drop_index("ix_channel_member_user", table_name="channel_member")
    op.drop_table("channel_member")
    op.drop_table("channel_roster")
