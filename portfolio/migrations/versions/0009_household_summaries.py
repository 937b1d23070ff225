"""household summaries: the Book page's figures per household, kept between server starts

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 06:00:00

A new table holding a cache; nothing existing changes, so every chain link still holds.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "household_summaries",
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("record_stamp", sa.String(length=64), nullable=False),
        sa.Column("basis", sa.String(length=64), nullable=False),
        sa.Column("as_of", sa.String(length=10), nullable=False),
        sa.Column("until", sa.String(length=10), nullable=True),
        sa.Column("figures", sa.Text(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"]),
        sa.PrimaryKeyConstraint("client_id"),
    )


def downgrade() -> None:
    op.drop_table("household_summaries")
