"""Alembic, driven from code: the ledger upgrades its own schema to head whenever it opens.

`python -m portfolio.ledger.migrate revision "message"` autogenerates a new migration from
schema.py against a scratch SQLite database at head.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from portfolio.ledger.engine import WRITE

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, target: str = "head", key: bytes | None = None) -> None:
    """Upgrade in one transaction; replicas starting together serialise on the version table.

    `key` seals links that existed before the chains were keyed (default: `keys.ledger_key()`).
    """
    if target == "head" and current_revision(engine) == head_revision():
        return
    cfg = alembic_config()
    # SQLite: take the write lock first, so replicas starting together queue instead of failing.
    with engine.connect() as conn, conn.execution_options(**{WRITE: True}).begin():
        if conn.dialect.name == "postgresql":
            # Two replicas starting at once must not both run the same migration.
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7415263)")
        cfg.attributes["connection"] = conn
        cfg.attributes["ledger_key"] = key
        command.upgrade(cfg, target)


def downgrade(engine: Engine, target: str) -> None:
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, target)


def _revision(message: str) -> None:
    from portfolio.ledger.engine import make_engine

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'scratch.db'}"
        engine = make_engine(url)
        upgrade(engine)
        cfg = alembic_config(url)
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.revision(cfg, message=message, autogenerate=True)
        engine.dispose()


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "revision":
        sys.exit('usage: python -m portfolio.ledger.migrate revision "message"')
    _revision(sys.argv[2])
