"""A run's status, derived from its trades, the advisor's latest decisions and the fills.

Final statuses follow the product's vocabulary: EXECUTED (every trade in the proposal filled),
PARTIALLY_EXECUTED (some filled, while others were vetoed, left undecided or failed), REJECTED
(nothing approved), PENDING_REVIEW (awaiting the advisor). In between: APPROVED (decided, not yet
sent), EXECUTING (orders out), EXECUTION_FAILED (every approved order was rejected). The agent
crew may also set RUNNING or FAILED before a proposal exists.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

PENDING_REVIEW = "PENDING_REVIEW"
APPROVED = "APPROVED"
EXECUTING = "EXECUTING"
EXECUTED = "EXECUTED"
PARTIALLY_EXECUTED = "PARTIALLY_EXECUTED"
REJECTED = "REJECTED"
EXECUTION_FAILED = "EXECUTION_FAILED"
RUNNING = "RUNNING"
FAILED = "FAILED"

CREW_STATUSES = frozenset({RUNNING, FAILED, PENDING_REVIEW})
# A run in one of these states is closed: it accepts no further decision, so nothing vetoed or
# left out when it was executed can be approved and filled afterwards.
FINAL = frozenset({EXECUTED, PARTIALLY_EXECUTED, REJECTED})


def final_reason(run_id: str, current: str) -> str | None:
    """The one line that says why a run accepts no decision, or None when it still does."""
    if current not in FINAL:
        return None
    return f"run {run_id} is {current}, which is final: it accepts no further decision"


@dataclass(frozen=True)
class TradeState:
    trade_id: str
    compliance: str  # APPROVED | VETOED
    decision: str | None  # APPROVE | VETO | None (undecided)
    order_sent: bool
    outcome: str | None  # FILLED | REJECTED | None

    @property
    def approved(self) -> bool:
        """Executable: the advisor approved and compliance did not veto."""
        return self.decision == "APPROVE" and self.compliance == "APPROVED"

    @property
    def settled(self) -> bool:
        """Nothing left to decide: vetoed by compliance or by the advisor, or decided at all."""
        return self.compliance == "VETOED" or self.decision is not None


def trade_states(
    trades: Sequence[tuple[str, str]],
    decisions: Mapping[str, str],
    sent: set[str],
    outcomes: Mapping[str, str],
) -> list[TradeState]:
    """`trades` is (trade_id, compliance status) in proposal order."""
    return [
        TradeState(tid, comp, decisions.get(tid), tid in sent, outcomes.get(tid))
        for tid, comp in trades
    ]


def derive_status(states: Sequence[TradeState]) -> str:
    if not any(s.decision for s in states) and not any(s.order_sent for s in states):
        return PENDING_REVIEW
    if any(s.order_sent and s.outcome is None for s in states):
        return EXECUTING
    filled = [s for s in states if s.outcome == "FILLED"]
    waiting = [s for s in states if s.approved and not s.order_sent]
    if not any(s.order_sent for s in states):
        if not all(s.settled for s in states):
            return PENDING_REVIEW
        return APPROVED if waiting else REJECTED
    if waiting:
        return APPROVED if not filled else PARTIALLY_EXECUTED
    if len(filled) == len(states):
        return EXECUTED
    return PARTIALLY_EXECUTED if filled else EXECUTION_FAILED
