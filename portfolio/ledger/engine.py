"""Where the ledger lives and how to connect: one place decides the URL and the SQLite pragmas."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event

REPO_ROOT = Path(__file__).resolve().parents[2]
BUSY_TIMEOUT_MS = 30_000
# Execution option that asks SQLite for a write lock up front (BEGIN IMMEDIATE), so two writers
# queue on the busy timeout instead of failing when one upgrades a read lock.
WRITE = "ledger_write"


def data_dir() -> Path:
    """REBALANCE_DATA_DIR, else `var/` in the repository (git-ignored)."""
    return Path(os.environ.get("REBALANCE_DATA_DIR") or REPO_ROOT / "var")


def database_url(url: str | None = None) -> str:
    """An explicit URL, else DATABASE_URL, else the SQLite file in the data directory."""
    chosen = url or os.environ.get("DATABASE_URL", "").strip()
    if chosen:
        if chosen.startswith("postgresql://"):
            chosen = "postgresql+psycopg://" + chosen.removeprefix("postgresql://")
        return chosen
    folder = data_dir()
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'rebalance.db'}"


def _sqlite_file(url: str) -> Path | None:
    path = url.split("///", 1)[1] if "///" in url else ""
    return Path(path) if path and path != ":memory:" else None


def make_engine(url: str) -> Engine:
    """An engine with SQLite put in WAL mode, a busy timeout and explicit transaction control."""
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True)
    file = _sqlite_file(url)
    if file is not None:
        file.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # pysqlite's implicit transactions are turned off so "begin" below is the only BEGIN.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get(WRITE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine
