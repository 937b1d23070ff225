"""partial-book acknowledgements and advisors' settings

A client record keeps the advisor's "Proceed without these rows" for the book it was given on,
so a reload finds it; `advisor_settings` keeps what an advisor set for the language model (never
a key) across sessions.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 12:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("client_records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("partial_ack", sa.JSON(), nullable=True))
    op.create_table(
        "advisor_settings",
        sa.Column("advisor", sa.String(length=200), nullable=False),
        sa.Column("llm", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("advisor"),
    )


def downgrade() -> None:
    op.drop_table("advisor_settings")
    with op.batch_alter_table("client_records", schema=None) as batch_op:
        batch_op.drop_column("partial_ack")
