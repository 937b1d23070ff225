"""decisions carry the quantity the advisor approved when it was edited on the ticket

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 09:40:00

The column is empty on every existing decision, and an empty quantity is left out of a link's
hashed content, so every existing link still holds.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("quantity", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.drop_column("quantity")
