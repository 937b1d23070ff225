"""sign-offs and executors: a run's owner, who sent each order, and the firm's people

Sign-offs are chained run entries (kind 'signoff'), so they need no table of their own; the owner
of a run decides who may see and act on it, and every execution entry names its executor.
`firm_people` holds the people an admin adds on Settings, beside the `[firm]` secrets table.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 09:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("runs", sa.Column("owner", sa.String(length=200), nullable=True))
    op.create_index(op.f("ix_runs_owner"), "runs", ["owner"], unique=False)
    with op.batch_alter_table("executions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("executed_by", sa.String(length=200), nullable=True))
    op.create_table(
        "firm_people",
        sa.Column("id", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("team", sa.String(length=100), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    # Runs recorded before owners existed belong to whoever owns their client's record.
    op.execute(
        "UPDATE runs SET owner = (SELECT client_records.owner FROM client_records "
        "WHERE client_records.client_id = runs.client_id) WHERE owner IS NULL"
    )


def downgrade() -> None:
    op.drop_table("firm_people")
    with op.batch_alter_table("executions", schema=None) as batch_op:
        batch_op.drop_column("executed_by")
    # Not a batch copy of `runs`: other tables' foreign keys refer to it, and SQLite (3.35+)
    # drops a plain column in place.
    op.drop_index(op.f("ix_runs_owner"), table_name="runs")
    op.drop_column("runs", "owner")
