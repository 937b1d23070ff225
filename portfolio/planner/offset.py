"""Offset harvesting: taxable losses sold to cancel the gains the rebalance itself realises.

With the mandate's `offset_gains` switch, a client whose planned sales realise a net taxable gain
sells lots standing at a loss in taxable accounts, up to that gain and no further, and buys each
class back through a fund that is not substantially identical, so the household's allocation is
unchanged and the net gain falls toward zero. Capital losses offset capital gains of the same
year (IRS Publication 550, "Capital Losses"; Topic 409). A harvest that the wash-sale rule would
disallow is not made: no lot of a fund whose group (same index, data/fund_groups.csv) was bought
in any of the client's accounts in the 30 days before the sale, and the buy stage never buys the
sold fund's group back in the same proposal (IRC section 1091, Rev. Rul. 2008-5).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from functools import partial

import numpy as np
import pandas as pd

from portfolio.fund_groups import FundGroups
from portfolio.labels import class_label
from portfolio.lots import bought_within_wash_window, has_gain, sell_from_lots, walk_order
from portfolio.models import Lot
from portfolio.planner.buys import vehicle_prices
from portfolio.planner.forced import Forced
from portfolio.planner.lookback import Lookback
from portfolio.planner.sells import Sells
from portfolio.planner.state import EPS, HouseholdState


@dataclass(frozen=True)
class Offset:
    """What the harvest added: units per row, and value per (unit, class) to buy back."""

    qty: np.ndarray
    buyback: np.ndarray
    loss: np.ndarray  # per row: the loss the harvest added (positive dollars)
    notes: list[str]

    @staticmethod
    def none(s: HouseholdState) -> Offset:
        return Offset(np.zeros(s.n), np.zeros((s.n_unit, s.n_cls)), np.zeros(s.n), [])


def _unit_cost(lot: Lot) -> float | None:
    if lot.cost_basis is None or lot.quantity <= 0:
        return None
    return lot.cost_basis / lot.quantity


def _units_for(order: list[Lot], sold: float, price: float, wanted: float, as_of: date) -> float:
    """Units of the walk beyond its first `sold`, enough to realise `wanted` dollars of loss
    (recent lots at no gain, which the walk takes first, count on the way)."""
    skip, units, loss = sold, 0.0, 0.0
    for lt in order:
        cost = _unit_cost(lt)
        q = lt.quantity - min(skip, lt.quantity)
        skip = max(skip - lt.quantity, 0.0)
        if cost is not None and cost <= price and bought_within_wash_window(lt, as_of):
            if has_gain(lt, price):
                break  # the walk puts recent lots with a gain last, after every loss
            units += q  # no gain: ahead of the losses in the walk
            continue
        if cost is None or cost <= price:
            break  # after the recent lots, losses come first: the rest are gains or unknown
        if q <= EPS:
            continue
        per = cost - price
        take = min(q, (wanted - loss) / per)
        units += take
        loss += take * per
        if loss >= wanted - 0.005:
            break
    return units


def _clearing_units(order: list[Lot], price: float, s: HouseholdState) -> float | None:
    """Units to sell so the walk takes every recently bought lot of the row, realising no gain
    on the way (None when it cannot): sold in the same sale, they replace nothing."""
    units = 0.0
    last = max(
        (n for n, lt in enumerate(order) if bought_within_wash_window(lt, s.as_of)), default=-1
    )
    for lt in order[: last + 1]:
        # The sale's own test of a gain (to the cent): a lot with one is not walked freely.
        if _unit_cost(lt) is None or has_gain(lt, price):
            return None
        units += lt.quantity
    return units


def _recent_units(lots: list[Lot], s: HouseholdState) -> float:
    return sum(lt.quantity for lt in lots if bought_within_wash_window(lt, s.as_of))


def _replacement(
    sym: str,
    cls: str,
    vehicles: Mapping[str, str],
    fund_groups: FundGroups,
    may_buy: Mapping[str, bool],
    priced: Callable[[str], bool],
) -> str | None:
    """A fund of the class, not substantially identical to `sym`, the mandate may buy."""
    model = vehicles.get(cls)
    options = [model, fund_groups.partner(sym), fund_groups.partner(model) if model else None]
    own = fund_groups.group(sym)
    return next(
        (
            o
            for o in options
            if o and fund_groups.group(o) != own and may_buy.get(o, False) and priced(o)
        ),
        None,
    )


def offset_gains(
    s: HouseholdState,
    forced: Forced,
    sells: Sells,
    vehicles: Mapping[str, str],
    ref: pd.DataFrame,
    fund_groups: FundGroups,
    may_buy: Mapping[str, bool],
    lookback: Lookback,
) -> tuple[Sells, Offset]:
    """Harvest taxable losses up to each client's net realised gain; `Offset.buyback` tells the
    buys what to buy back per class."""
    none = Offset.none(s)
    if not (s.mandate.offset_gains and s.mandate.tax_aware) or s.lots_of is None or s.n_cls == 0:
        return sells, none
    taxable = s.taxable_row
    client = s.client_of_acct[s.acct]
    n_client = int(s.client_of_acct.max()) + 1
    gains = np.bincount(
        client,
        weights=np.where(taxable & (sells.qty > 0), np.nan_to_num(sells.realized), 0.0),
        minlength=n_client,
    )
    if not (gains > 0.005).any():
        return sells, none

    uv = s.unit_value
    cand = (
        taxable
        & s.tradable
        & ~s.is_cash
        & ~s.cash_hold
        & ~s.blended
        & ~s.excluded
        & (s.row_k >= 0)
        & (uv > 0)
        & np.isfinite(s.basis)
        & (gains[client] > 0.005)
        & (s.qty - sells.qty > EPS)
    )
    if not cand.any():
        return sells, none
    prices = vehicle_prices(s, vehicles, ref, fund_groups)
    # Best harvest first: the largest loss per dollar sold (least turnover per dollar offset).
    idx = np.flatnonzero(cand)
    ratio = (uv[idx] * s.qty[idx] - s.basis[idx]) / np.maximum(uv[idx] * s.qty[idx], EPS)
    idx = idx[np.argsort(ratio, kind="stable")]

    qty, disc = sells.qty.copy(), sells.disc_qty.copy()
    realized, short = sells.realized.copy(), sells.short_term.copy()
    loss_lots, picks = dict(sells.loss_lots), dict(sells.picks)
    added = np.zeros(s.n)
    loss_added = np.zeros(s.n)
    buyback = np.zeros((s.n_unit, s.n_cls))
    left = gains.copy()
    for i in idx.tolist():
        c = int(client[i])
        bought = lookback.bought_in(i)
        if left[c] <= 0.005 or not bought <= {i}:
            continue  # a purchase in another account would wash the loss
        sym, cls = str(s.symbol[i]), s.classes[int(s.row_k[i])]
        priced = partial(prices.has, c)
        if _replacement(sym, cls, vehicles, fund_groups, may_buy, priced) is None:
            continue  # the class could not be bought back without a wash sale
        lots, price, q0 = s.lots(i), float(uv[i]), float(qty[i])
        order = walk_order(lots, price, s.as_of, tax_aware=True)
        units = _units_for(order, q0, price, float(left[c]), s.as_of)
        if bought:
            clear = _clearing_units(order, price, s)
            if clear is None:
                continue
            units = max(units, clear - q0)
        units = min(units, float(s.qty[i] - q0))
        if s.whole:
            units = float(min(math.ceil(units - 1e-9), math.floor(s.qty[i] - q0 + 1e-9)))
        else:
            units = round(units, 6)
        if units <= EPS or units * price < s.mandate.min_trade_value:
            continue
        sale = sell_from_lots(
            lots,
            q0 + units,
            price,
            s.as_of,
            tax_aware=True,
            forced=float(forced.qty[i]),
            whole=s.whole,
        )
        before = float(np.nan_to_num(realized[i])) if q0 > 0 else 0.0
        if sale.realized_gain is None or sale.quantity <= q0 + EPS:
            continue
        loss = before - float(sale.realized_gain)
        if loss <= 0.005:
            continue
        if bought:
            # Every recent lot must go in this very sale, else it washes the loss; and clearing
            # it may not harvest beyond the gain by more than one share's loss.
            sold_recent = sum(
                p.quantity for p in sale.picks if bought_within_wash_window(p, s.as_of)
            )
            per_share = max(((_unit_cost(lt) or price) - price for lt in order), default=0.0)
            if sold_recent < _recent_units(lots, s) - EPS or loss > left[c] + per_share + 0.005:
                continue
        units = sale.quantity - q0
        qty[i], disc[i] = sale.quantity, max(0.0, sale.quantity - forced.qty[i])
        realized[i], short[i] = sale.realized_gain, sale.short_term_gain
        if sale.loss_lots:
            loss_lots[i] = sale.loss_lots
        picks[i] = sale.picks
        added[i], loss_added[i] = units, loss
        buyback[s.unit[i], int(s.row_k[i])] += units * price
        left[c] -= loss

    if not added.any():
        return sells, none
    notes = []
    for c in np.flatnonzero(gains > 0.005):
        rows = np.flatnonzero((client == c) & (added > 0))
        if not len(rows):
            continue
        harvested = float(loss_added[rows].sum())
        what = ", ".join(
            f"{s.symbol[i]} in {s.accounts[s.acct[i]]} "
            f"({class_label(s.classes[int(s.row_k[i])])} bought back)"
            for i in rows
        )
        notes.append(
            f"Harvested ${harvested:,.0f} of losses to offset ${gains[c]:,.0f} of gains this "
            f"proposal realises: {what}; the replacement is not substantially identical "
            "(wash-sale rule)"
        )
    new_sells = replace(
        sells,
        qty=qty,
        disc_qty=disc,
        realized=realized,
        short_term=short,
        loss_lots=loss_lots,
        picks=picks,
    )
    return new_sells, Offset(added, buyback, loss_added, notes)
