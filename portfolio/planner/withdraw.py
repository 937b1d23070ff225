"""Withdrawals: the cash each account must hold after the trades, raised in that account.

A withdrawal is in the book as a negative cash row (portfolio.cash_requests), so an account
with one is short of its floor by the withdrawal. This stage raises that cash before the drift is
measured, by sales in the same account (no money moves between accounts), cheapest tax first:
cash-class holdings (T-bill ETFs, purchased money-market funds), then in a taxable account lots
at a loss, then long-term gains (smallest gain per dollar first), short-term gains last (IRS
Publication 550: long-term is held more than one year); in a tax-deferred or tax-free account no
sale is taxed, so the planner's usual order applies (worst-located class first). The sales join
the forced ones: the gains budget never cuts them and the drift sees their cash.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np

from portfolio.lots import is_long_term
from portfolio.planner.forced import Forced
from portfolio.planner.sells import ESG_FIRST, sell_keys
from portfolio.planner.state import HouseholdState, round_qty

CASH_FIRST = -100.0
SHORT_TERM = 2.0


@dataclass(frozen=True)
class Raised:
    qty: np.ndarray  # per row: units sold for a withdrawal
    short: np.ndarray  # per account: cash the account cannot raise
    notes: dict[str, str]  # account -> why it falls short


def _pieces(s: HouseholdState, i: int, avail: float, row_key: float) -> list[tuple[float, float]]:
    """(key, units) pieces of row `i`: its lots in a taxable account, else the whole row."""
    price = float(s.unit_value[i])
    lots = s.lots(i) if s.taxable_row[i] and s.mandate.tax_aware else []
    if s.cash_hold[i] or not lots:
        return [(row_key, avail)]
    shift = ESG_FIRST if s.mandate.esg_only and not s.esg_ok[i] else 0.0
    out: list[tuple[float, float]] = []
    left = avail
    # Highest unit cost first: the order sell_from_lots walks a position's lots in.
    ordered = sorted(
        lots,
        key=lambda lt: -(lt.cost_basis / lt.quantity if lt.cost_basis and lt.quantity else 0.0),
    )
    for lt in ordered:
        if left <= 1e-12:
            break
        take = min(float(lt.quantity), left)
        left -= take
        if lt.cost_basis is None or lt.quantity <= 0 or price <= 0:
            key = 0.5
        else:
            ratio = (price - lt.cost_basis / lt.quantity) / price
            short = lt.acquired is not None and not is_long_term(lt.acquired, s.as_of)
            key = ratio + (SHORT_TERM if ratio > 0 and short else 0.0)
        out.append((key + shift, take))
    if left > 1e-12:
        out.append((row_key, left))
    return out


def withdrawal_sales(
    s: HouseholdState, forced: Forced, withdrawals: Mapping[str, float]
) -> tuple[Forced, Raised]:
    """Sales in each account with a withdrawal, enough to leave its floor in swept cash."""
    zero = np.zeros(s.n)
    flagged = np.isin(s.accounts, [a for a, w in withdrawals.items() if w > 0])
    if not flagged.any():
        return forced, Raised(zero, np.zeros(s.n_acct), {})
    m = s.mandate
    V = s.by_acct(s.value)
    cash = s.by_acct(np.where(s.is_cash, s.value, 0.0))
    need = np.where(flagged, m.cash_floor * V - cash - s.by_acct(forced.value), 0.0)
    need = np.maximum(need, 0.0)
    avail = s.qty - forced.qty
    uv = s.unit_value
    cand = (
        s.tradable
        & (need[s.acct] > 0.005)
        & (avail > 0)
        & (uv > 0)
        & (avail * uv >= m.min_trade_value)
    )
    qty = np.zeros(s.n)
    if cand.any():
        keys = sell_keys(s, losses_first=False)  # the lots of one account, by gain
        pieces: list[tuple[int, float, float, int]] = []  # (account, key, units, row)
        for i in np.flatnonzero(cand):
            row_key = CASH_FIRST if s.cash_hold[i] else float(keys[i])
            for key, units in _pieces(s, int(i), float(avail[i]), row_key):
                pieces.append((int(s.acct[i]), key, units, int(i)))
        pieces.sort(key=lambda p: (p[0], p[1], -p[2] * uv[p[3]]))
        left = need.copy()
        for a, _key, units, i in pieces:
            if left[a] <= 0.005:
                continue
            take = min(units, left[a] / uv[i])
            qty[i] += take
            left[a] -= take * uv[i]
        qty = np.minimum(round_qty(qty, s.whole, up=True), avail)
        # No sale below the minimum trade: the gate would refuse it.
        small = (qty > 0) & (qty * uv < m.min_trade_value)
        lift = round_qty(
            np.where(small, m.min_trade_value / np.where(uv > 0, uv, 1.0), 0.0), s.whole, up=True
        )
        qty = np.where(small, np.minimum(lift, avail), qty)
    raised = s.by_acct(qty * uv)
    short = np.where(flagged, np.maximum(need - raised, 0.0), 0.0)
    notes: dict[str, str] = {}
    stuck = s.by_acct(np.where(~s.tradable & ~s.is_cash, s.value, 0.0))
    tiny = s.by_acct(np.where(s.tradable & (avail * uv < m.min_trade_value), avail * uv, 0.0))
    for a in np.flatnonzero(short > 0.005):
        text = f"selling what can be sold there raises ${raised[a]:,.2f}"
        if stuck[a] > 0.005:
            text += f"; ${stuck[a]:,.2f} is in holdings the desk cannot trade"
        if tiny[a] > 0.005:
            text += (
                f"; ${tiny[a]:,.2f} is in holdings smaller than the "
                f"${m.min_trade_value:,.0f} minimum trade"
            )
        notes[str(s.accounts[a])] = text
    new_qty = forced.qty + qty
    out = replace(forced, qty=new_qty, value=new_qty * uv, request_qty=qty)
    return out, Raised(qty, short, notes)
