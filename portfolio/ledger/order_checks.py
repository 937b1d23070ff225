"""What a run must pass before any order is journaled: every chain link its proposal relies on
intact and every table agreeing with the chain, and the approved trades, on their own, through the
whole compliance gate again."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from portfolio.compliance import check_trades
from portfolio.ledger import chain
from portfolio.ledger import run_state as rs
from portfolio.ledger.errors import ConflictError, TamperedError
from portfolio.ledger.schema import Decision, Execution, RunEntry
from portfolio.securities import load_securities
from portfolio.trade_edits import with_quantities


def verified_proposal(s: Session, key: bytes, run_id: str) -> tuple[RunEntry, dict[str, Any]]:
    """The run's chained proposal, once every link it relies on and every copy agree."""
    chained = rs.chained_proposal(s, key, run_id)
    if chained is None:
        raise TamperedError(f"execution refused: run {run_id} has no chained proposal")
    link, body = chained
    segments = (
        (RunEntry, link.seq - 1),
        (Decision, int(body["decisions_from"])),
        (Execution, int(body["executions_from"])),
    )
    for model, after in segments:
        report = chain.verify_segment(s, model, key, after)
        if report.broken is not None:
            b = report.broken
            raise TamperedError(
                f"execution refused: the {report.name} chain is broken at link {b['seq']}: "
                f"{b['reason']}; run `verify`"
            )
    if problems := rs.table_problems(s, run_id, body):
        raise TamperedError(f"execution refused: {problems[0]['reason']}; run `verify`")
    stray = s.execute(
        select(Decision.trade_id).where(
            Decision.run_id == run_id,
            Decision.proposal_hash.is_not(None),
            Decision.proposal_hash != link.hash,
        )
    ).first()
    if stray is not None:
        raise TamperedError(
            f"execution refused: a decision on {stray[0]} refers to another proposal"
        )
    return link, body


def recheck(s: Session, key: bytes, run_id: str, to_send: Sequence[str]) -> None:
    """The gate judged each trade assuming every other one ran too; judge again, whole, what
    the advisor actually approved: screens, caps, suitability, cash and shorts."""
    if not to_send:
        return
    proposal = rs.stored_proposal(s, key, run_id)
    if proposal is None or not proposal.positions:  # nothing saved, or nothing to judge against
        return
    chosen = with_quantities(
        [t for t in proposal.trades if t.id in set(to_send)], rs.edited(s, run_id), proposal.as_of
    )
    judged = check_trades(chosen, proposal.positions, proposal.mandate, load_securities())
    refused = [t for t in judged if t.compliance.status != "APPROVED"]
    if not refused:
        return
    why = "; ".join(
        f"{t.id} {t.symbol} [{', '.join(t.compliance.rules)}]: {t.compliance.reasons[0]}"
        for t in refused
    )
    if any({"cash_floor", "no_shorts"} & set(t.compliance.rules) for t in refused):
        raise ConflictError(
            f"the approved trades do not stand on their own ({why}); approve the sells "
            "that fund them or veto these buys"
        )
    raise ConflictError(f"the approved trades fail the compliance gate again ({why})")
