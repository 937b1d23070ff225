"""The ledger: runs, agent results, proposals, decisions and executions in a real database.

`open_ledger()` connects (DATABASE_URL, else a SQLite file in the data directory) and upgrades the
schema to head before returning, so a new release never starts on an old schema.
"""

from __future__ import annotations

from portfolio.ledger.chain import VerifyReport
from portfolio.ledger.engine import database_url, make_engine
from portfolio.ledger.errors import (
    ConflictError,
    LedgerError,
    NothingToExecute,
    TamperedError,
    UnknownRun,
    UnknownTrade,
)
from portfolio.ledger.execute import (
    ExecutionReport,
    execute_decided,
    execute_run,
    paper_broker,
    recover,
)
from portfolio.ledger.keys import LedgerKey, ledger_key
from portfolio.ledger.migrate import upgrade
from portfolio.ledger.store import Ledger

__all__ = [
    "ConflictError",
    "ExecutionReport",
    "Ledger",
    "LedgerError",
    "LedgerKey",
    "NothingToExecute",
    "TamperedError",
    "UnknownRun",
    "UnknownTrade",
    "VerifyReport",
    "database_url",
    "execute_decided",
    "execute_run",
    "ledger_key",
    "open_ledger",
    "paper_broker",
    "recover",
]


def open_ledger(url: str | None = None, key: LedgerKey | None = None) -> Ledger:
    """`key`: the firm key sealing the chains; by default from `keys.ledger_key()`."""
    key = key or ledger_key()
    engine = make_engine(database_url(url))
    upgrade(engine, key=key.secret)
    return Ledger(engine, key)
