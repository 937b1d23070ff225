"""What the ticket offers to download: exactly what will be executed, or what was.

Before execution that is the approved set, and only when it stands on its own: the gate judged
each buy assuming every proposed sell ran first, so a vetoed sell can leave an approved buy
without its cash (the same re-judgement `Ledger.execute_run` makes before sending anything).
After execution it is the filled orders at their filled quantities.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from portfolio.compliance import check_trades
from portfolio.models import RebalanceProposal, Trade
from portfolio.orders import OrderLine, lines_from_run
from portfolio.securities import SecurityMaster

if TYPE_CHECKING:
    from portfolio.ledger.read_models import RunRecord

FUNDING_RULES = frozenset({"cash_floor", "no_shorts"})


@dataclass(frozen=True)
class OrderSet:
    """The orders a download would hold, or why there are none to offer."""

    lines: list[OrderLine]
    executed: bool
    reason: str | None = None  # set when nothing may be downloaded


def approved_ids(run: RunRecord) -> list[str]:
    """Trades the advisor approved that the gate approved and nobody has sent yet."""
    return [
        t.trade_id
        for t in run.trades
        if t.compliance == "APPROVED" and t.decided == "APPROVE" and t.execution is None
    ]


def unfunded(
    proposal: RebalanceProposal, trade_ids: list[str], securities: SecurityMaster
) -> list[tuple[Trade, list[str]]]:
    """The chosen trades that cannot stand without the others (a buy short of cash, a sell of
    more than is held), each with the plain reasons why."""
    chosen = [t for t in proposal.trades if t.id in set(trade_ids)]
    if not chosen or not proposal.positions:
        return []
    out = []
    for t in check_trades(chosen, proposal.positions, proposal.mandate, securities):
        why = [
            reason.split(" vetoed: ", 1)[-1]
            for reason, rule in zip(t.compliance.reasons, t.compliance.rules, strict=False)
            if rule in FUNDING_RULES
        ]
        if why:
            out.append((t, why))
    return out


def funding_problem(refused: list[tuple[Trade, list[str]]]) -> str | None:
    """One sentence an advisor can act on, or None when the approved trades stand."""
    if not refused:
        return None
    detail = "; ".join(
        f"{t.id} {t.action.lower()} {t.symbol} {' and '.join(why)}" for t, why in refused
    )
    n = len(refused)
    if all(t.action == "BUY" for t, _ in refused):
        what = "approved buy lacks its cash" if n == 1 else f"{n} approved buys lack their cash"
    else:
        what = (
            "approved trade cannot run alone" if n == 1 else f"{n} approved trades cannot run alone"
        )
    return (
        f"The approved trades do not stand on their own: {'the ' if n == 1 else ''}{what} "
        f"({detail}). Approve the sells that fund them, or veto these buys."
    )


def order_set(
    run: RunRecord, proposal: RebalanceProposal | None, securities: SecurityMaster
) -> OrderSet:
    """The filled orders once anything was executed; before, the approved set if it is funded."""
    if any(t.filled for t in run.trades):
        return OrderSet(lines_from_run(run, "executed"), executed=True)
    if any(t.execution for t in run.trades):
        return OrderSet(
            [], executed=True, reason="No order was filled, so there is nothing to send."
        )
    ids = approved_ids(run)
    if not ids:
        return OrderSet([], executed=False, reason="Approve trades to download their orders.")
    problem = funding_problem(unfunded(proposal, ids, securities)) if proposal else None
    if problem:
        return OrderSet([], executed=False, reason=problem)
    return OrderSet(lines_from_run(run, "approved"), executed=False)
