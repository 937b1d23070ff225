"""The advisor's decisions: approve, veto or edit a trade, chained and refused whole when any part
is wrong (an unknown trade, a compliance veto, an edit the gate refuses, a final run, a trade
already sent)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from portfolio.broker import client_order_id, now_iso
from portfolio.ledger import chain, status
from portfolio.ledger import run_state as rs
from portfolio.ledger.errors import ConflictError, LedgerError, TamperedError, UnknownTrade
from portfolio.ledger.read_models import DecisionRecord
from portfolio.ledger.schema import Decision, TradeRow
from portfolio.ledger.session import LedgerSession
from portfolio.securities import load_securities
from portfolio.trade_edits import EditRefused, judge_edits, parse_quantity

DECISIONS = ("APPROVE", "VETO")


class DecisionStore(LedgerSession):
    def decide(
        self,
        run_id: str,
        approve: Sequence[str] = (),
        veto: Sequence[str] = (),
        by: str = "",
        reason: str | None = None,
        quantities: Mapping[str, float | str] | None = None,
    ) -> list[DecisionRecord]:
        """Append one decision per trade; all or nothing.

        Trade ids are the proposal's (T1) or the stored ones ({run_id}-T1). `quantities` edits
        trades (an edit approves the trade at its new quantity, which is what executes); each
        edit passes the compliance gate again with the other trades that may still run. Refused:
        unknown ids, a trade both approved and vetoed, approving or editing a compliance veto, an
        edit the gate refuses, and re-deciding a trade whose order has been sent.
        """
        by = (by or "").strip()
        if not by:
            raise LedgerError("a decision needs the name of who made it (--by)")
        approve, veto = rs.normalise_ids(run_id, approve), rs.normalise_ids(run_id, veto)
        try:
            edits = {
                rs.normalise_ids(run_id, [tid])[0]: parse_quantity(q)
                for tid, q in (quantities or {}).items()
                if tid.strip()
            }
        except EditRefused as exc:
            raise ConflictError(str(exc)) from None
        approve = [*approve, *(i for i in edits if i not in approve)]
        if not approve and not veto:
            raise LedgerError("name at least one trade to approve or veto")
        if both := sorted(set(approve) & set(veto)):
            raise ConflictError(f"{', '.join(both)} cannot be both approved and vetoed")
        for ids in (approve, veto):
            if dup := sorted(i for i, n in Counter(ids).items() if n > 1):
                raise ConflictError(f"{', '.join(dup)} named twice")
        wanted = {**dict.fromkeys(approve, "APPROVE"), **dict.fromkeys(veto, "VETO")}
        with self._write() as s:
            rs.get_run(s, run_id, lock=True)
            chained = rs.chained_proposal(s, self._key, run_id)
            if chained is None:
                raise LedgerError(f"run {run_id} has no trades to decide")
            proposal_link, body = chained
            if problems := rs.table_problems(s, run_id, body):
                raise TamperedError(f"decision refused: {problems[0]['reason']}; run `verify`")
            trades = {t["id"]: t for t in body["trades"]}
            ordinal = {tid: n for n, tid in enumerate(trades)}
            if not trades:
                raise LedgerError(f"run {run_id} has no trades to decide")
            current = status.derive_status(rs.states(s, self._key, run_id))
            if closed := status.final_reason(run_id, current):
                raise ConflictError(closed)
            if unknown := [i for i in wanted if i not in trades]:
                raise UnknownTrade(
                    f"run {run_id} has no trade {', '.join(unknown)} "
                    f"(its trades: {', '.join(trades)})"
                )
            for tid in approve:
                if trades[tid]["compliance"] == "VETOED":
                    row = s.get(TradeRow, client_order_id(run_id, tid))
                    rule = ", ".join(row.compliance_rules if row else []) or "compliance"
                    raise ConflictError(
                        f"{tid} was vetoed by compliance ({rule}) and cannot be approved"
                    )
            sent = rs.outcomes(s, run_id)
            if already := [i for i in wanted if i in sent]:
                raise ConflictError(
                    f"{', '.join(already)} already sent to the broker; the decision is final"
                )
            if edits:
                _judge_edits(s, self._key, run_id, edits, set(veto))
            at = now_iso()
            rows = chain.append_many(
                s,
                Decision,
                [
                    {
                        "run_id": run_id,
                        "trade_id": tid,
                        "decision": wanted[tid],
                        "decided_by": by,
                        "reason": reason or None,
                        "decided_at": at,
                        "proposal_hash": proposal_link.hash,
                        "quantity": edits.get(tid),
                    }
                    for tid in sorted(wanted, key=ordinal.__getitem__)
                ],
                self._key,
            )
            written = [DecisionRecord.of(row) for row in rows]
            rs.refresh_status(s, self._key, run_id)
            return written

    def decisions(self, run_id: str) -> list[DecisionRecord]:
        """Every decision on the run in the order made, superseded ones included."""
        with self._read() as s:
            rs.get_run(s, run_id)
            rows = s.execute(
                select(Decision).where(Decision.run_id == run_id).order_by(Decision.seq)
            ).scalars()
            return [DecisionRecord.of(d) for d in rows]


def _judge_edits(
    s: Session, key: bytes, run_id: str, edits: Mapping[str, float], vetoing: set[str]
) -> None:
    """Raise ConflictError, with the gate's reasons, unless every edit passes the gate."""
    proposal = rs.stored_proposal(s, key, run_id)
    if proposal is None:
        raise LedgerError(f"run {run_id} has no trades to decide")
    latest = rs.latest_decisions(s, run_id)
    vetoed = {tid for tid, d in latest.items() if d.decision == "VETO"} | vetoing
    try:
        judge_edits(proposal, edits, rs.edited(s, run_id), vetoed - set(edits), load_securities())
    except EditRefused as exc:
        raise ConflictError(str(exc)) from None
