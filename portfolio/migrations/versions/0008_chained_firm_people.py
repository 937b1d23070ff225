"""chained firm people: every change to the people added on Settings is a keyed journal entry

Roles decide who may approve and execute, so `firm_people` becomes a copy of what the
`firm_entries` journal replays to. Each existing row gets a genesis 'put' entry sealed with the
firm key, so a ledger upgraded from 0007 verifies and keeps its people.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28 12:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS = "0" * 64
JOURNAL = "firm_entries"


def upgrade() -> None:
    op.create_table(
        JOURNAL,
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("person_id", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("team", sa.String(length=100), nullable=False),
        sa.Column("changed_by", sa.String(length=200), nullable=False),
        sa.Column("at", sa.String(length=40), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("mac", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("hash"),
        sa.UniqueConstraint("seq"),
    )
    op.create_index(op.f("ix_firm_entries_person_id"), JOURNAL, ["person_id"], unique=False)
    heads = sa.table(
        "chain_heads",
        sa.column("name", sa.String),
        sa.column("seq", sa.Integer),
        sa.column("hash", sa.String),
        sa.column("mac", sa.String),
    )
    op.bulk_insert(heads, [{"name": JOURNAL, "seq": 0, "hash": GENESIS, "mac": None}])
    _chain_existing(heads)


def _chain_existing(heads: sa.TableClause) -> None:
    """One 'put' per existing row, in id order, as the row stands; then seal the head."""
    from portfolio.ledger.chain import head_mac, link_hash, mac
    from portfolio.ledger.keys import ledger_key

    conn = op.get_bind()
    people = sa.table(
        "firm_people",
        sa.column("id", sa.String),
        sa.column("name", sa.String),
        sa.column("role", sa.String),
        sa.column("team", sa.String),
        sa.column("updated_by", sa.String),
        sa.column("updated_at", sa.DateTime(timezone=True)),
    )
    rows = conn.execute(sa.select(people).order_by(people.c.id)).mappings().all()
    if not rows:
        return
    key = context.config.attributes.get("ledger_key") or ledger_key().secret
    entries = sa.table(
        JOURNAL,
        *(
            sa.column(c)
            for c in (
                "seq",
                "kind",
                "person_id",
                "name",
                "role",
                "team",
                "changed_by",
                "at",
                "prev_hash",
                "hash",
                "mac",
            )
        ),
    )
    prev = GENESIS
    for seq, row in enumerate(rows, start=1):
        at = row["updated_at"]
        content = {
            "seq": seq,
            "kind": "put",
            "person_id": row["id"],
            "name": row["name"],
            "role": row["role"],
            "team": row["team"],
            "changed_by": row["updated_by"],
            "at": at.isoformat() if at is not None else "",
            "prev_hash": prev,
        }
        link = link_hash(content)
        conn.execute(entries.insert().values(**content, hash=link, mac=mac(key, link)))
        prev = link
    seq = len(rows)
    conn.execute(
        heads.update()
        .where(heads.c.name == JOURNAL)
        .values(seq=seq, hash=prev, mac=head_mac(key, JOURNAL, seq, prev))
    )


def downgrade() -> None:
    op.execute(f"DELETE FROM chain_heads WHERE name = '{JOURNAL}'")
    op.drop_index(op.f("ix_firm_entries_person_id"), table_name=JOURNAL)
    op.drop_table(JOURNAL)
