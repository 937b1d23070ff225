"""A trade's quantity as the advisor edited it on the ticket, and the gate's word on an edit.

An edit is judged by the same gate as the proposal (`compliance.check_trades`: price, holdings,
screens, cap, cash floor and funding, suitability, whole shares, minimum trade), together with
every other trade that may still run: the ones the gate approved and the advisor has not vetoed,
at their own edited quantities. The gate judged the proposal assuming all its trades ran, so an
edit is held to the same assumption; execution judges the approved subset again on its own.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from portfolio.compliance import check_trades
from portfolio.models import RebalanceProposal, Trade
from portfolio.securities import SecurityMaster


class EditRefused(ValueError):
    """An edit the gate or the rules of a quantity refuse; the message says why, in a sentence."""


def edited(trade: Trade, quantity: float) -> Trade:
    """The trade at another quantity. Its value follows; an estimated realised gain does not
    scale (lots are chosen highest cost first), so it becomes unknown for an edited sell."""
    if abs(quantity - trade.quantity) <= 1e-9:
        return trade
    return trade.model_copy(
        update={
            "quantity": quantity,
            "value": round(quantity * trade.price, 2),
            "realized_gain": None,
            "short_term_gain": None,
            "wash_loss_disallowed": 0.0,
            "lots": [],  # chosen for the old quantity; the fill walks lots as the plan would
            "wash_deferred": [],
        }
    )


def with_quantities(trades: Sequence[Trade], quantities: Mapping[str, float]) -> list[Trade]:
    """Every trade at its edited quantity where it has one."""
    return [edited(t, quantities[t.id]) if t.id in quantities else t for t in trades]


def parse_quantity(raw: object) -> float:
    """A quantity typed by the advisor: a finite number above zero (zero is a veto, not an edit)."""
    try:
        q = float(str(raw).replace(",", "").strip())
    except ValueError:
        raise EditRefused(f"{raw!r} is not a number of shares") from None
    if not math.isfinite(q) or q <= 0:
        raise EditRefused("a quantity must be a number above zero; to drop a trade, veto it")
    if q > 1e9:
        raise EditRefused("a quantity above 1,000,000,000 shares is not a trade")
    return q


def judge_edits(
    proposal: RebalanceProposal,
    edits: Mapping[str, float],
    quantities: Mapping[str, float],
    vetoed: set[str],
    securities: SecurityMaster,
) -> list[Trade]:
    """The edited trades as the gate judges them, with the other trades that may still run.

    `quantities` are the edits already recorded, `vetoed` the trades the advisor dropped. Raises
    EditRefused naming each refused trade and the gate's reasons; returns the edited trades.
    """
    trades = {t.id: t for t in proposal.trades}
    if unknown := [tid for tid in edits if tid not in trades]:
        raise EditRefused(f"no trade {', '.join(unknown)} in this proposal")
    if gate := [tid for tid in edits if trades[tid].compliance.status != "APPROVED"]:
        raise EditRefused(f"{', '.join(gate)} was vetoed by compliance and cannot be edited")
    current = {**quantities, **edits}
    live = [
        t
        for t in proposal.trades
        if t.compliance.status == "APPROVED" and (t.id in edits or t.id not in vetoed)
    ]
    chosen = with_quantities(live, current)
    if not proposal.positions:  # no book to judge against: the quantity rules alone
        return [t for t in chosen if t.id in edits]
    judged = check_trades(chosen, proposal.positions, proposal.mandate, securities)
    before = check_trades(
        with_quantities(live, quantities), proposal.positions, proposal.mandate, securities
    )
    stood = {t.id for t in before if t.compliance.status == "APPROVED"}
    # The edited trades, and any other trade the edit leaves without its cash or its shares.
    refused = [
        t for t in judged if t.compliance.status != "APPROVED" and (t.id in edits or t.id in stood)
    ]
    if refused:
        why = "; ".join(
            f"{t.id} {t.action.lower()} {t.quantity:g} {t.symbol}: "
            + "; ".join(r.split(" vetoed: ", 1)[-1] for r in t.compliance.reasons)
            for t in refused
        )
        raise EditRefused(f"the compliance gate refuses the edit ({why})")
    return [t for t in judged if t.id in edits]
