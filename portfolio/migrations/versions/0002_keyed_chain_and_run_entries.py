"""keyed chain: run entries journal, MACs, decisions reference the chained proposal

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 08:40:00

Existing links are sealed with the firm key as they stand (their plain hashes are kept), and each
existing run gets its proposal and current status chained, so runs saved before the upgrade can
still be executed under the new checks.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS = "0" * 64


def upgrade() -> None:
    op.create_table(
        "run_entries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("at", sa.String(length=40), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("mac", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("hash"),
        sa.UniqueConstraint("seq"),
    )
    op.create_index(op.f("ix_run_entries_run_id"), "run_entries", ["run_id"], unique=False)
    op.add_column("decisions", sa.Column("mac", sa.String(length=64), nullable=True))
    op.add_column("decisions", sa.Column("proposal_hash", sa.String(length=64), nullable=True))
    op.add_column("executions", sa.Column("mac", sa.String(length=64), nullable=True))
    op.add_column("chain_heads", sa.Column("mac", sa.String(length=64), nullable=True))
    heads = sa.table(
        "chain_heads",
        sa.column("name", sa.String),
        sa.column("seq", sa.Integer),
        sa.column("hash", sa.String),
        sa.column("mac", sa.String),
    )
    op.bulk_insert(heads, [{"name": "run_entries", "seq": 0, "hash": GENESIS, "mac": None}])
    _seal_existing(heads)


def _seal_existing(heads: sa.TableClause) -> None:
    """MAC every existing link and head, and chain existing runs' proposals and statuses."""
    from portfolio.ledger.chain import head_mac, mac
    from portfolio.ledger.keys import ledger_key
    from portfolio.ledger.proposal_entry import legacy_entries

    conn = op.get_bind()
    has_rows = conn.execute(sa.text("SELECT count(*) FROM runs")).scalar_one()
    if not has_rows:
        return
    key = context.config.attributes.get("ledger_key") or ledger_key().secret
    for name in ("decisions", "executions"):
        table = sa.table(name, sa.column("id"), sa.column("hash"), sa.column("mac"))
        for row_id, link in conn.execute(sa.select(table.c.id, table.c.hash)).all():
            conn.execute(table.update().where(table.c.id == row_id).values(mac=mac(key, link)))
    legacy_entries(conn, key)
    for name, seq, link in conn.execute(sa.select(heads.c.name, heads.c.seq, heads.c.hash)).all():
        if seq:
            conn.execute(
                heads.update()
                .where(heads.c.name == name)
                .values(mac=head_mac(key, name, seq, link))
            )


def downgrade() -> None:
    op.execute("DELETE FROM chain_heads WHERE name = 'run_entries'")
    with op.batch_alter_table("chain_heads") as batch:
        batch.drop_column("mac")
    with op.batch_alter_table("executions") as batch:
        batch.drop_column("mac")
    with op.batch_alter_table("decisions") as batch:
        batch.drop_column("proposal_hash")
        batch.drop_column("mac")
    op.drop_index(op.f("ix_run_entries_run_id"), table_name="run_entries")
    op.drop_table("run_entries")
