"""Checking the ledger: every chain from its genesis and every table against it (`verify`), and
the chains' heads an anchor records and is checked against."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from portfolio.ledger import chain
from portfolio.ledger import people as firm_people
from portfolio.ledger import proposal_entry as entry
from portfolio.ledger import run_state as rs
from portfolio.ledger.read_models import ChainHeadRecord, LinkRecord
from portfolio.ledger.schema import Proposal, Run, RunEntry
from portfolio.ledger.session import LedgerSession


def _problem(table: str, run_id: str, reason: str) -> dict[str, Any]:
    return {"journal": table, "seq": None, "id": None, "run_id": run_id, "reason": reason}


class IntegrityStore(LedgerSession):
    def verify(self) -> chain.VerifyReport:
        """Every chain from its genesis, then every run's tables against its chained entries."""
        with self._read() as s:
            chains = chain.verify(s, self._key)
            tables: list[dict[str, Any]] = []
            if all(c.ok for c in chains if c.name != firm_people.JOURNAL):
                latest: dict[tuple[str, str], RunEntry] = {}
                for row in s.execute(select(RunEntry).order_by(RunEntry.seq)).scalars():
                    latest[(row.run_id, row.kind)] = row
                for run in s.execute(select(Run).order_by(Run.created_at, Run.id)).scalars():
                    proposal = latest.get((run.id, entry.PROPOSAL))
                    state = latest.get((run.id, entry.STATUS))
                    chained_status = entry.parse(state.body)["status"] if state else None
                    if proposal is None:
                        if s.get(Proposal, run.id) is not None:
                            tables.append(_problem("proposals", run.id, "a proposal never chained"))
                        if chained_status is not None and run.status != chained_status:
                            tables.append(
                                _problem(
                                    "runs",
                                    run.id,
                                    f"run {run.id}: status is {run.status} in the runs table "
                                    f"but {chained_status} in the chain",
                                )
                            )
                        continue
                    tables += rs.table_problems(s, run.id, entry.parse(proposal.body), run)
            if all(c.ok for c in chains if c.name == firm_people.JOURNAL):
                tables += firm_people.compare(s).problems
            return chain.VerifyReport(
                ok=all(c.ok for c in chains) and not tables, chains=chains, tables=tables
            )

    def heads(self) -> list[ChainHeadRecord]:
        """The last link of every chain (sequence, hash, MAC, time): what an anchor records."""
        out = []
        with self._read() as s:
            for name, model in chain.JOURNALS.items():
                last = s.execute(
                    select(model).order_by(model.seq.desc()).limit(1)
                ).scalar_one_or_none()
                at = None
                if last is not None:
                    at = getattr(last, "at", None) or getattr(last, "decided_at", None)
                out.append(
                    ChainHeadRecord(
                        name=name,
                        seq=last.seq if last else 0,
                        hash=last.hash if last else chain.GENESIS,
                        mac=last.mac if last else None,
                        at=at,
                    )
                )
        return out

    def link(self, name: str, seq: int) -> LinkRecord | None:
        model = chain.JOURNALS[name]
        with self._read() as s:
            row = s.execute(select(model).where(model.seq == seq)).scalar_one_or_none()
            return None if row is None else LinkRecord(seq=row.seq, hash=row.hash, mac=row.mac)
