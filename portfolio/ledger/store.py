"""The Ledger: every read and write of runs, decisions and executions goes through here (the
firm's people through `Ledger.people`).

One class for callers, assembled from one part per concern, each a small module:
`snapshot_store` (clients' kept books), `runs` (runs and their proposals), `events` (agent
results and the event log), `decisions`, `sign_offs` (four-eyes), `executions` (the execution
journal) and `integrity` (verify, heads). They share the transactions of `session` and read a
run through `run_state`; readers return the typed records of `read_models`.
"""

from __future__ import annotations

from sqlalchemy import Engine

from portfolio.ledger import people as firm_people
from portfolio.ledger.decisions import DECISIONS, DecisionStore
from portfolio.ledger.events import EventStore
from portfolio.ledger.executions import ExecutionStore
from portfolio.ledger.integrity import IntegrityStore
from portfolio.ledger.keys import LedgerKey
from portfolio.ledger.runs import RunStore, new_run_id
from portfolio.ledger.sign_offs import SignOffStore
from portfolio.ledger.snapshot_store import SnapshotStore, client_key

__all__ = ["DECISIONS", "Ledger", "client_key", "new_run_id"]


class Ledger(
    SnapshotStore,
    RunStore,
    EventStore,
    DecisionStore,
    SignOffStore,
    ExecutionStore,
    IntegrityStore,
):
    def __init__(self, engine: Engine, key: LedgerKey) -> None:
        self.engine = engine
        self._key = key.secret
        self.key_source = key.source
        self.key_created = key.created

    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    def close(self) -> None:
        self.engine.dispose()

    @property
    def people(self) -> firm_people.FirmPeople:
        """The firm's people added on Settings, read and written through their chained journal."""
        return firm_people.FirmPeople(self.engine, self._key)
