"""The firm's people an admin manages on Settings, kept in the ledger beside the `[firm]` secrets.

The secrets table stays the root of trust: a person it lists keeps the role it gives, whatever
the ledger says, so the first admin is named there and no page can lock them out.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from portfolio.access import Firm, Identity, Person, may
from portfolio.ledger.engine import WRITE
from portfolio.ledger.errors import LedgerError
from portfolio.ledger.schema import FirmPersonRow


class FirmPeople:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def list(self) -> list[Person]:
        with Session(self.engine) as s:
            rows = s.execute(select(FirmPersonRow).order_by(FirmPersonRow.id)).scalars()
            return [Person(id=r.id, name=r.name, role=r.role, team=r.team) for r in rows]  # type: ignore[arg-type]

    def _check(self, who: Identity, firm: Firm) -> None:
        if firm.local or not may(who, "manage_firm", None, firm):
            raise LedgerError(f"the {who.role} role cannot manage the firm's people")

    def put(self, person: Person, who: Identity, firm: Firm) -> None:
        """Add or change a person (an admin only); someone the secrets list is left as is."""
        self._check(who, firm)
        if person.id in firm.secret_ids:
            raise LedgerError(f"{person.id} is set in the secrets file; change them there")
        with Session(self.engine) as s, s.begin():
            s.connection(execution_options={WRITE: True})
            row = s.get(FirmPersonRow, person.id) or FirmPersonRow(id=person.id)
            row.name, row.role, row.team = person.name, person.role, person.team
            row.updated_by, row.updated_at = who.id, datetime.now(UTC)
            s.add(row)

    def remove(self, person_id: str, who: Identity, firm: Firm) -> None:
        self._check(who, firm)
        with Session(self.engine) as s, s.begin():
            s.connection(execution_options={WRITE: True})
            row = s.get(FirmPersonRow, person_id.lower())
            if row is None:
                raise LedgerError(f"{person_id} was not added on this page")
            s.delete(row)
