"""draft: call notes and the plan proposed from them, until the rep reviews it

Revision ID: 0023
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "draft",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("channel_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("call_date", sa.Date(), nullable=False),
        sa.Column("proposal", sa.Text(), nullable=False),
        sa.Column("view_id", sa.String(length=32), nullable=True),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_draft_owner", "draft", ["team_id", "user_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_draft_owner", table_name="draft")
    op.drop_table("draft")
