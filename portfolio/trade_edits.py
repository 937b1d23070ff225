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
from datetime import date

from portfolio.compliance import check_trades
from portfolio.lots import is_long_term
from portfolio.models import RebalanceProposal, Trade
from portfolio.orders import first_lots
from portfolio.securities import SecurityMaster


class EditRefused(ValueError):
    """An edit the gate or the rules of a quantity refuse; the message says why, in a sentence."""


def edited(trade: Trade, quantity: float, as_of: date | None = None) -> Trade:
    """The trade at another quantity. Its value follows. A sale cut down keeps the first of the
    lots it named, which is what the same walk takes for fewer units, so its gain is known to
    the cent (`as_of`, the proposal's trade date, says which lots are short-term). Otherwise an
    estimated realised gain does not scale (lots are chosen highest cost first): it becomes
    unknown, and so do lots and wash-sale figures chosen for the old quantity."""
    if abs(quantity - trade.quantity) <= 1e-9:
        return trade
    update: dict[str, object] = {
        "quantity": quantity,
        "value": round(quantity * trade.price, 2),
        "realized_gain": None,
        "short_term_gain": None,
        "wash_loss_disallowed": 0.0,
        "lots": [],  # chosen for the old quantity; the fill walks lots as the plan would
        "wash_deferred": [],
    }
    update.update(_first_named_lots(trade, quantity, as_of))
    return trade.model_copy(update=update)


def _first_named_lots(trade: Trade, quantity: float, as_of: date | None) -> dict[str, object]:
    """Lots and gains of a sale cut to `quantity`, where they follow from its named lots: every
    unit named, each lot's cost known, and no wash sale (its matching depends on which loss
    shares are sold, Treas. Reg. 1.1091-1(b)); else nothing."""
    lots = trade.lots
    if (
        trade.action != "SELL"
        or as_of is None
        or quantity > trade.quantity
        or not lots
        or trade.wash_loss_disallowed
        or trade.wash_deferred
        or any(lt.cost_basis is None for lt in lots)
        or abs(sum(lt.quantity for lt in lots) - trade.quantity) > 1e-6
    ):
        return {}
    kept = first_lots(lots, quantity)  # as the order file names them
    gains = [(lt, lt.quantity * trade.price - (lt.cost_basis or 0.0)) for lt in kept]
    short = sum(g for lt, g in gains if lt.acquired and not is_long_term(lt.acquired, as_of))
    return {
        "lots": list(kept),
        "realized_gain": round(sum(g for _, g in gains), 2),
        "short_term_gain": round(short, 2),
    }


def with_quantities(
    trades: Sequence[Trade], quantities: Mapping[str, float], as_of: date | None = None
) -> list[Trade]:
    """Every trade at its edited quantity where it has one."""
    return [edited(t, quantities[t.id], as_of) if t.id in quantities else t for t in trades]


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
    chosen = with_quantities(live, current, proposal.as_of)
    if not proposal.positions:  # no book to judge against: the quantity rules alone
        return [t for t in chosen if t.id in edits]
    judged = check_trades(chosen, proposal.positions, proposal.mandate, securities)
    before = check_trades(
        with_quantities(live, quantities, proposal.as_of),
        proposal.positions,
        proposal.mandate,
        securities,
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
