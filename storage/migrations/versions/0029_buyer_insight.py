"""plan_health.buyer_insight: the health and forecast lines of a buyer's copy of
the plan, as the day's health pass worked them out (the weekly digests read them)

Revision ID: 0029
Revises: 0020
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0029"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("plan_health", schema=None) as batch_op:
        batch_op.add_column(sa.Column("buyer_insight", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("plan_health", schema=None) as batch_op:
        batch_op.drop_column("buyer_insight")
