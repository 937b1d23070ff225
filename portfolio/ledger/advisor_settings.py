"""An advisor's language-model settings, kept across sessions in the ledger's database.

What the Settings page sets (provider, model, base URL, Azure endpoint and deployment, per-agent
models and temperatures, prices, budget, offline pace) is kept per advisor identity. An API key
never is: `keep` refuses settings that still carry one, so a caller cannot store it by mistake.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from portfolio.ledger.engine import WRITE
from portfolio.ledger.errors import LedgerError
from portfolio.ledger.schema import AdvisorSettingsRow

# Never written to the database, whatever the caller passes.
SECRET_FIELDS = frozenset({"api_key"})


class AdvisorSettings:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get(self, advisor: str) -> dict[str, Any] | None:
        """The settings `advisor` kept last, as plain JSON; None when they kept none."""
        with Session(self.engine) as s:
            row = s.get(AdvisorSettingsRow, advisor)
            return dict(row.llm) if row is not None else None

    def keep(self, advisor: str, llm: dict[str, Any]) -> None:
        """Replace what `advisor` kept; a key among the fields is refused, not stored."""
        if not advisor:
            raise LedgerError("settings are kept for a named advisor")
        if SECRET_FIELDS & set(llm):
            raise LedgerError("an API key is never kept in the database")
        with Session(self.engine) as s, s.begin():
            s.connection(execution_options={WRITE: True})
            row = s.get(AdvisorSettingsRow, advisor) or AdvisorSettingsRow(advisor=advisor)
            row.llm, row.updated_at = llm, datetime.now(UTC)
            s.add(row)
