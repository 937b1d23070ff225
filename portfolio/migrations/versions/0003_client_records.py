"""client records: owner, notes, mandate and household accounts with their tax types

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 08:55:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "client_records",
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("mandate", sa.JSON(), nullable=True),
        sa.Column("model_portfolio", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"]),
        sa.PrimaryKeyConstraint("client_id"),
    )
    with op.batch_alter_table("client_records", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_client_records_owner"), ["owner"], unique=False)

    op.create_table(
        "client_accounts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("account", sa.String(length=100), nullable=False),
        sa.Column("tax_type", sa.String(length=16), nullable=False),
        sa.Column("snapshot_id", sa.Integer(), nullable=True),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"]),
        sa.ForeignKeyConstraint(["snapshot_id"], ["snapshots.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("client_id", "account", name="uq_client_accounts_client_account"),
    )
    with op.batch_alter_table("client_accounts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_client_accounts_client_id"), ["client_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("client_accounts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_client_accounts_client_id"))
    op.drop_table("client_accounts")
    with op.batch_alter_table("client_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_client_records_owner"))
    op.drop_table("client_records")
