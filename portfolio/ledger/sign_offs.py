"""Four-eyes: a supervisor's chained sign-off of a run's decisions, and who may execute it now."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from portfolio.access import Firm, Identity, execution_blockers, may
from portfolio.broker import now_iso
from portfolio.ledger import chain, status
from portfolio.ledger import proposal_entry as entry
from portfolio.ledger import run_state as rs
from portfolio.ledger.errors import ConflictError, LedgerError, NothingToExecute
from portfolio.ledger.read_models import SignOff, SignOffRecord
from portfolio.ledger.schema import Decision, Run, RunEntry
from portfolio.ledger.session import LedgerSession


def _last_decision_hash(s: Session, run_id: str) -> str | None:
    return s.execute(
        select(Decision.hash)
        .where(Decision.run_id == run_id)
        .order_by(Decision.seq.desc())
        .limit(1)
    ).scalar_one_or_none()


def _deciders(s: Session, run_id: str) -> list[str]:
    return list(
        s.execute(select(Decision.decided_by).where(Decision.run_id == run_id).distinct())
        .scalars()
        .all()
    )


def sign_off_records(s: Session, run_id: str) -> list[SignOffRecord]:
    """Every sign-off of the run; `current` when no decision was made after it."""
    last = _last_decision_hash(s, run_id)
    rows = s.execute(
        select(RunEntry)
        .where(RunEntry.run_id == run_id, RunEntry.kind == entry.SIGN_OFF)
        .order_by(RunEntry.seq)
    ).scalars()
    out = []
    for row in rows:
        body = entry.parse(row.body)
        out.append(
            SignOffRecord(
                seq=row.seq,
                by=body["by"],
                role=body.get("role"),
                at=row.at,
                hash=row.hash,
                current=body.get("last_decision") == last,
            )
        )
    return out


def blockers(s: Session, run: Run, who: Identity, firm: Firm) -> list[str]:
    """Why `who` may not execute the run now, by the firm's rules (empty when they may)."""
    signers = [x.by for x in sign_off_records(s, run.id) if x.current]
    return execution_blockers(
        who, owner=run.owner, firm=firm, deciders=_deciders(s, run.id), sign_offs=signers
    )


class SignOffStore(LedgerSession):
    def sign_offs(self, run_id: str) -> list[SignOffRecord]:
        with self._read() as s:
            rs.get_run(s, run_id)
            return sign_off_records(s, run_id)

    def sign_off(self, run_id: str, who: Identity, firm: Firm) -> SignOff:
        """A supervisor's word that the run's decisions may be executed, as a chained run entry.

        It covers the decisions as they stand: a later decision makes it stale. Refused: a role
        that may not sign off this run, a person who made any of its decisions, undecided or no
        approved trades, a final run."""
        with self._write() as s:
            run = rs.get_run(s, run_id, lock=True)
            if not may(who, "sign_off", run.owner, firm):
                raise ConflictError(f"the {who.role} role cannot sign off run {run_id}")
            if rs.chained_proposal(s, self._key, run_id) is None:
                raise LedgerError(f"run {run_id} has no trades to sign off")
            states = rs.states(s, self._key, run_id)
            if closed := status.final_reason(run_id, status.derive_status(states)):
                raise ConflictError(closed)
            if undecided := [x.trade_id for x in states if not x.settled]:
                raise ConflictError(
                    f"{', '.join(undecided)} in run {run_id} have no decision yet; "
                    "every trade is decided before sign-off"
                )
            if not any(x.approved for x in states):
                raise NothingToExecute(f"run {run_id} has no approved trades to sign off")
            if who.id.lower() in {d.lower() for d in _deciders(s, run_id)}:
                raise ConflictError(
                    "four-eyes: you made decisions on this run; a second person must sign off"
                )
            last = _last_decision_hash(s, run_id)
            row = self._append(
                s,
                RunEntry,
                {
                    "run_id": run_id,
                    "kind": entry.SIGN_OFF,
                    "body": chain.canonical_json(
                        {"by": who.id, "role": who.role, "last_decision": last}
                    ),
                    "at": now_iso(),
                },
            )
            return SignOff(seq=row.seq, by=who.id, role=who.role, at=row.at)

    def execution_blockers(self, run_id: str, who: Identity, firm: Firm) -> list[str]:
        """Why `who` may not execute the run now, by the firm's rules (empty when they may)."""
        with self._read() as s:
            return blockers(s, rs.get_run(s, run_id), who, firm)
