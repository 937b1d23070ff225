"""What every part of the Ledger shares: the engine, the firm key, one transaction per method.

Each public method of the Ledger is one transaction. Writes that must not interleave (decisions
and orders of one run, links of a journal) lock the run row and the chain head; on SQLite every
write transaction takes the database write lock up front instead. A method that raises has
written nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from portfolio.ledger import chain
from portfolio.ledger.engine import WRITE


class Transactions:
    """One transaction per method on `engine`: `_read`, or `_write` (which takes SQLite's write
    lock up front)."""

    engine: Engine

    @contextmanager
    def _read(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as s, s.begin():
            yield s

    @contextmanager
    def _write(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as s, s.begin():
            s.connection(execution_options={WRITE: True})
            yield s


class LedgerSession(Transactions):
    _key: bytes  # the firm key sealing every chained link

    def _append(self, s: Session, model: type[Any], values: dict[str, Any]) -> Any:
        return chain.append(s, model, values, self._key)
