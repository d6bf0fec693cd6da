"""team templates and the plan's holiday country

Revision ID: 0008
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "team_template",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("yaml_text", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("team_id", "name", name="uq_team_template_name"),
    )
    op.create_index("ix_team_template_team_id", "team_template", ["team_id"])
    with op.batch_alter_table("plan") as batch_op:
        batch_op.add_column(sa.Column("country", sa.String(length=8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("plan") as batch_op:
        batch_op.drop_column("country")
    op.drop_index("ix_team_template_team_id", table_name="team_template")
    op.drop_table("team_template")
