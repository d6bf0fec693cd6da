"""plan_health: per-plan health thresholds and the last recorded health

Revision ID: 0020
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "plan_health",
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("overdue_tasks", sa.Integer(), nullable=True),
        sa.Column("milestone_late_days", sa.Integer(), nullable=True),
        sa.Column("stall_days", sa.Integer(), nullable=True),
        sa.Column("buyer_silence_days", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=True),
        sa.Column("reasons", sa.Text(), server_default="", nullable=False),
        sa.Column("assessed_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(["plan_id"], ["plan.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("plan_id"),
    )


def downgrade() -> None:
    op.drop_table("plan_health")
