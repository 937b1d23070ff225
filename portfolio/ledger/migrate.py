"""Alembic, driven from code: the ledger upgrades its own schema to head whenever it opens.

`python -m portfolio.ledger.migrate revision "message"` autogenerates a new migration from
schema.py against a scratch SQLite database at head.
"""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from portfolio.ledger.engine import WRITE

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"
_REVISION = re.compile(r"""^revision: str = ["']([^"']+)["']""", re.M)
_DOWN = re.compile(r"""^down_revision: str \| None = ["']([^"']+)["']""", re.M)


def alembic_config(url: str | None = None) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_from_files() -> str | None:
    """The head revision as the version files state it (the one no other revises), read without
    importing Alembic, which a server's first page would otherwise wait on; None when the files
    do not name exactly one head (Alembic then decides)."""
    revisions, revised = set(), set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        body = path.read_text(encoding="utf-8")
        rev, down = _REVISION.search(body), _DOWN.search(body)
        if rev is None:
            return None
        revisions.add(rev.group(1))
        if down is not None:
            revised.add(down.group(1))
    heads = revisions - revised
    return heads.pop() if len(heads) == 1 else None


def _stored_revision(engine: Engine) -> str | None:
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT version_num FROM alembic_version")).all()
    except DBAPIError:  # no version table yet
        return None
    return rows[0][0] if len(rows) == 1 else None


def upgrade(engine: Engine, target: str = "head", key: bytes | None = None) -> None:
    """Upgrade in one transaction; replicas starting together serialise on the version table.

    `key` seals links that existed before the chains were keyed (default: `keys.ledger_key()`).
    """
    if target == "head":
        head = head_from_files()
        if head is not None and _stored_revision(engine) == head:
            return  # at head: Alembic is not even imported
        if current_revision(engine) == head_revision():
            return
    from alembic import command

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
    from alembic import command

    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, target)


def _revision(message: str) -> None:
    from alembic import command

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
