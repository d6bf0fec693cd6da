"""crm: a workspace's CRM connection, the deal a plan is linked to

Revision ID: 0028
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("plan", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("crm_linked", sa.Boolean(), server_default=sa.text("false"), nullable=False)
        )
    op.create_table(
        "crm_connection",
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("vendor", sa.String(length=16), nullable=False),
        sa.Column("sealed_token", sa.Text(), nullable=False),
        sa.Column("fields", sa.Text(), nullable=False),
        sa.Column("added_by", sa.String(length=32), nullable=False),
        sa.Column("broken", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("team_id"),
    )
    op.create_table(
        "crm_link",
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("vendor", sa.String(length=16), nullable=False),
        sa.Column("object_id", sa.String(length=64), nullable=False),
        sa.Column("linked_by", sa.String(length=32), nullable=False),
        sa.Column("pushed", sa.Text(), nullable=True),
        sa.Column("close_date", sa.Date(), nullable=True),
        sa.Column("pulled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(["plan_id"], ["plan.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("plan_id"),
    )
    op.create_index("ix_crm_link_team_id", "crm_link", ["team_id"])


def downgrade() -> None:
    op.drop_index("ix_crm_link_team_id", table_name="crm_link")
    op.drop_table("crm_link")
    op.drop_table("crm_connection")
    with op.batch_alter_table("plan", schema=None) as batch_op:
        batch_op.drop_column("crm_linked")
