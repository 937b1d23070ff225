"""Buys: each account funds its own buys; classes go where they are taxed least.

A unit's buys are sized to what it can spend (its swept cash above the floor plus its sales),
then placed account by account: every (account, class) pair ranked by location, filled greedily
from the account's own money (its sales, then its swept cash, then cash-class holdings it sells).
No cash moves between accounts. The vehicle is a fund the account already holds in the class,
else the model's; a fund substantially identical to one sold at a loss in a taxable account of
the client is replaced by its partner (IRC section 1091, Rev. Rul. 2008-5).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from portfolio.compliance import MAX_EQUITY_SHARE
from portfolio.fund_groups import FundGroups
from portfolio.labels import class_label
from portfolio.models import EQUITY_CLASSES, RiskProfile
from portfolio.planner.drift import Drift
from portfolio.planner.forced import Forced
from portfolio.planner.locate import location_ranks
from portfolio.planner.sells import GAIN_EDGE, Sells
from portfolio.planner.state import EPS, HouseholdState, round_qty, segment_rank
from portfolio.securities import SecurityMaster


@dataclass(frozen=True)
class Buys:
    acct: np.ndarray
    k: np.ndarray
    symbol: np.ndarray
    qty: np.ndarray
    price: np.ndarray
    row: np.ndarray  # held row bought into, or -1
    replaced: np.ndarray  # the symbol a wash-sale partner stands in for ("" when none)
    cash_sell_qty: np.ndarray  # per row: cash-class holdings sold to fund the buys
    sell_qty: np.ndarray  # per row, after orphan sales are dropped
    notes: list[str]


def _within_equity_ceiling(s: HouseholdState, want: np.ndarray, sell_val: np.ndarray) -> np.ndarray:
    """Scale equity buys so the client's equity share stays within what the gate finds suitable
    (portfolio/compliance.py judges the household's equity share, classes as booked)."""
    eq_k = np.isin(np.asarray(s.classes, dtype=object), list(EQUITY_CLASSES))
    if not eq_k.any() or not len(want):
        return want
    ceiling = MAX_EQUITY_SHARE[RiskProfile(s.mandate.risk_profile)]
    client = s.client_of_acct[s.acct]
    n_client = int(s.client_of_acct.max()) + 1
    V = np.bincount(client, weights=s.value, minlength=n_client)
    eq_rows = pd.Series(s.cls_row, dtype=object).isin(EQUITY_CLASSES).to_numpy() & ~s.is_cash
    E = np.bincount(client, weights=np.where(eq_rows, s.value - sell_val, 0.0), minlength=n_client)
    # Whole-share top-ups add at most a share per buy: keep a little room for them.
    room = np.maximum(ceiling * V - E - (1_000.0 + 0.002 * V), 0.0)
    client_of_unit = np.zeros(s.n_unit, dtype=np.int64)
    client_of_unit[s.unit_of_acct] = s.client_of_acct
    W = np.bincount(client_of_unit, weights=want[:, eq_k].sum(1), minlength=n_client)
    f = np.where(room < W, room / np.where(W > 0, W, 1.0), 1.0)
    out = want.copy()
    out[:, eq_k] *= f[client_of_unit][:, None]
    return out


def _funding(s: HouseholdState, drift: Drift, sell_val: np.ndarray, buyback: np.ndarray):
    """(want per unit and class, supply per account, cash-class sales per row).

    An account spends its sales and its swept cash above its own share of the floor (the gate
    holds each account to it); cash-class holdings are sold, by an order, only for what that
    leaves short.
    """
    m = s.mandate
    cash_swept = s.by_acct(np.where(s.is_cash, s.value, 0.0))
    free_hold = s.cash_hold & (sell_val == 0)  # not already sold (an exclusion)
    cash_hold = s.by_acct(np.where(free_hold, s.value, 0.0))
    sold = s.by_acct(sell_val)
    n_sells = s.by_acct((sell_val > 0).astype(float))
    U = s.n_unit
    ua = s.unit_of_acct
    # Trades carry values rounded to the cent; keep half a cent per possible trade in hand.
    margin = 0.005 * (n_sells + s.n_cls)
    base = sold + cash_swept - m.cash_floor * s.by_acct(s.value) - margin
    budget = np.bincount(ua, weights=np.maximum(base + cash_hold, 0.0), minlength=U)
    # What the sales raised may fall short of what the drift planned (gains stop at the band's
    # edge): the buys then spend no more than leaves the unit's cash inside its band.
    keep = np.maximum(drift.T_cash - GAIN_EDGE * drift.tol_cash, 0.0)
    money = np.bincount(ua, weights=sold + cash_swept + cash_hold, minlength=U)
    budget = np.minimum(budget, np.maximum(money - keep, 0.0))
    want = np.clip(drift.D, 0.0, None)
    W = want.sum(1)
    # Harvested classes are bought back first, from the harvest's own proceeds.
    free = np.maximum(budget - buyback.sum(1), 0.0)
    want = want * np.where(free < W, free / np.where(W > 0, W, 1.0), 1.0)[:, None] + buyback
    want = _within_equity_ceiling(s, want, sell_val)
    supply0 = np.maximum(base, 0.0)
    rest_u = np.clip(want.sum(1) - np.bincount(ua, weights=supply0, minlength=U), 0.0, None)
    hold_u = np.bincount(ua, weights=cash_hold, minlength=U)
    draw_hold = np.minimum(
        rest_u[ua] * cash_hold / np.where(hold_u > 0, hold_u, 1.0)[ua], cash_hold
    )
    # An account below its floor share first fills it from its cash-class holdings.
    draw_hold = np.where(
        draw_hold > 0, np.minimum(draw_hold - np.minimum(base, 0.0), cash_hold), 0.0
    )
    # Cash-class holdings are sold by an order, pro rata within the account, in whole units.
    cash_rows = np.flatnonzero(free_hold & (draw_hold[s.acct] > EPS))
    cash_sell = np.zeros(s.n)
    if len(cash_rows):
        a = s.acct[cash_rows]
        frac = s.value[cash_rows] / np.where(cash_hold[a] > 0, cash_hold[a], 1.0)
        q = draw_hold[a] * frac / s.unit_value[cash_rows]
        q = np.minimum(round_qty(q, s.whole, up=True), s.qty[cash_rows])
        small = q * s.unit_value[cash_rows] < m.min_trade_value
        # Below the minimum trade the gate vetoes a sale even when it empties the holding.
        cash_sell[cash_rows] = np.where(small, 0.0, q)
    raised = s.by_acct(cash_sell * s.unit_value)
    supply = np.maximum(base + raised, 0.0)
    return want, supply, cash_sell


class VehiclePrices:
    """The price a client buys a fund at: the first price its own book gives for it (file or
    override), else the reference price.

    Scoped to the client (the household): planned with other households (a chunk of a book, a
    Dask partition), a household buys at the prices its own proposal would use, never at the
    price another household's rows state for the same fund."""

    def __init__(self, held: dict[tuple[int, str], float], reference: dict[str, float]) -> None:
        self._held = held
        self._reference = reference

    def get(self, client: int, sym: str) -> float | None:
        price = self._held.get((client, sym))
        return self._reference.get(sym) if price is None else price

    def has(self, client: int, sym: str) -> bool:
        return (client, sym) in self._held or sym in self._reference

    def update(self, other: VehiclePrices) -> None:
        self._held.update(other._held)
        self._reference.update(other._reference)


def vehicle_prices(
    s: HouseholdState, vehicles: Mapping[str, str], ref: pd.DataFrame, fund_groups: FundGroups
) -> VehiclePrices:
    """The vehicles' and their partners' prices, per client (`VehiclePrices`)."""
    wanted = set(vehicles.values())
    wanted |= {p for v in list(wanted) if (p := fund_groups.partner(v))}
    hit = np.flatnonzero(
        pd.Series(s.symbol, dtype=object).isin(wanted).to_numpy() & (s.unit_value > 0)
    )
    held: dict[tuple[int, str], float] = {}
    rows = zip(
        s.client_of_acct[s.acct[hit]].tolist(),
        s.symbol[hit].tolist(),
        s.unit_value[hit].tolist(),
        strict=True,
    )
    for client, sym, price in rows:
        held.setdefault((client, sym), price)  # the first row of a symbol wins
    reference: dict[str, float] = {}
    for sym in wanted:
        if sym in ref.index and pd.notna(ref.at[sym, "price"]) and ref.at[sym, "price"] > 0:
            reference[sym] = float(ref.at[sym, "price"])
    return VehiclePrices(held, reference)


def _price(price: float | None) -> float:
    return np.nan if price is None else price


def plan_buys(
    s: HouseholdState,
    forced: Forced,
    drift: Drift,
    sells: Sells,
    vehicles: Mapping[str, str],
    ref: pd.DataFrame,
    fund_groups: FundGroups,
    eligible_vehicle: Mapping[str, bool],
    securities: SecurityMaster | None = None,
    buyback: np.ndarray | None = None,
) -> Buys:
    """`buyback` (units x classes): value of each class to buy back after a harvest
    (planner.offset), on top of what the drift asks."""
    m = s.mandate
    notes: list[str] = []
    sell_qty = sells.qty.copy()
    sell_val = sell_qty * s.unit_value
    if buyback is None:
        buyback = np.zeros((s.n_unit, s.n_cls))
    want, supply, cash_sell = _funding(s, drift, sell_val, buyback)

    # ---- place: (account, class) pairs by location rank, filled from each account's money ----
    ua = s.unit_of_acct
    ranks = location_ranks(s.classes)
    acc_i, k_i = np.nonzero(want[ua] > EPS)
    u_i = ua[acc_i]
    order = np.lexsort((-supply[acc_i], ranks[s.acct_type[acc_i], k_i], u_i))
    acc_i, k_i, u_i = acc_i[order], k_i[order], u_i[order]
    rank = segment_rank(u_i)
    by_rank = np.argsort(rank, kind="stable")
    bounds = np.searchsorted(rank[by_rank], np.arange(rank.max() + 2 if len(rank) else 1))
    sup = supply.copy()
    dem = want.copy()
    X = np.zeros((s.n_acct, s.n_cls))
    for r in range(len(bounds) - 1):
        sel = by_rank[bounds[r] : bounds[r + 1]]
        a, k, u = acc_i[sel], k_i[sel], u_i[sel]
        amt = np.clip(np.minimum(sup[a], dem[u, k]), 0.0, None)
        sup[a] -= amt
        dem[u, k] -= amt
        X[a, k] += amt

    # ---- vehicles ---------------------------------------------------------------------------
    # A held fund is bought into only when it meets the mandate's screens (the gate's test).
    eligible = s.tradable & s.is_fund & ~s.excluded & (sell_qty == 0) & (s.row_k >= 0)
    eligible &= s.esg_ok
    held = (
        pd.DataFrame(
            {
                "a": s.acct[eligible],
                "k": s.row_k[eligible],
                "row": np.flatnonzero(eligible),
                "value": s.value[eligible],
            }
        )
        .sort_values(["a", "k", "value"], ascending=[True, True, False])
        .drop_duplicates(["a", "k"])
    )
    held_row = np.full((s.n_acct, s.n_cls), -1, dtype=np.int64)
    held_row[held["a"].to_numpy(), held["k"].to_numpy()] = held["row"].to_numpy()

    buy_a, buy_k = np.nonzero(X > EPS)
    bv = X[buy_a, buy_k]
    hr = held_row[buy_a, buy_k]
    prices = vehicle_prices(s, vehicles, ref, fund_groups)
    model_sym = np.array([vehicles.get(c) for c in s.classes], dtype=object)
    b_sym = np.where(hr >= 0, s.symbol[np.maximum(hr, 0)], model_sym[buy_k])
    replaced = np.full(len(buy_a), "", dtype=object)

    # Wash sales: no fund substantially identical to one sold at a loss in a taxable account of
    # the client is bought anywhere in the household in the same proposal.
    loss_rows = [i for i in sells.loss_lots if sell_qty[i] > 0]
    if loss_rows and len(buy_a):
        washed = {
            (int(s.client_of_acct[s.acct[i]]), fund_groups.group(str(s.symbol[i])))
            for i in loss_rows
        }
        client = s.client_of_acct[buy_a]
        for j in range(len(buy_a)):
            sym = b_sym[j]
            if sym is None or (int(client[j]), fund_groups.group(sym)) not in washed:
                continue
            cls = s.classes[buy_k[j]]
            options = [vehicles.get(cls)] if hr[j] >= 0 else []
            options += [fund_groups.partner(sym)]
            if vehicles.get(cls):
                options.append(fund_groups.partner(vehicles[cls]))
            if securities is not None:
                # Any other fund of the class that meets the mandate's screens.
                options += securities.qualifying_funds(
                    cls, sorted(m.screened_categories), exclude=sorted(m.excluded_symbols)
                )
            who = int(client[j])
            unpriced = {o: o for o in options if o and not prices.has(who, o)}
            if unpriced:
                prices.update(vehicle_prices(s, unpriced, ref, fund_groups))
            pick = next(
                (
                    o
                    for o in options
                    if o
                    and o != sym
                    and (int(client[j]), fund_groups.group(o)) not in washed
                    and eligible_vehicle.get(o, False)
                    and prices.has(who, o)
                ),
                None,
            )
            replaced[j] = sym
            if pick is None:
                notes.append(
                    f"{class_label(cls)} in {s.accounts[buy_a[j]]}: not bought, because "
                    f"{sym} was sold at a loss and no replacement fund is allowed (wash sale)"
                )
                b_sym[j] = None
            else:
                b_sym[j] = pick
            hr[j] = -1

    missing = sorted({s.classes[k] for k, sym in zip(buy_k, b_sym, strict=True) if sym is None})
    for cls in missing:
        if not any(r.startswith(class_label(cls)) for r in notes):
            notes.append(f"No vehicle with a reference price to buy {class_label(cls)}; not bought")
    buyer = s.client_of_acct[buy_a].tolist()
    b_price = np.array(
        [
            s.unit_value[h] if h >= 0 else _price(prices.get(c, sym)) if sym else np.nan
            for h, sym, c in zip(hr.tolist(), b_sym.tolist(), buyer, strict=True)
        ],
        dtype=float,
    )
    ok = np.isfinite(b_price) & (b_price > 0)
    b_qty = np.where(ok, round_qty(bv / np.where(ok, b_price, 1.0), s.whole, up=False), 0.0)
    b_val = b_qty * np.where(ok, b_price, 0.0)
    if s.whole and len(b_qty):
        # Whole-share rounding leaves cash behind; spend it one share at a time on the buys
        # furthest from their aim, never beyond the account's money or the buys' shortfall.
        short = np.where(ok, bv - b_val, 0.0)
        spent = np.bincount(buy_a, weights=b_val, minlength=s.n_acct)
        room = np.minimum(supply - spent, np.bincount(buy_a, weights=short, minlength=s.n_acct))
        order = np.lexsort((-short, buy_a))
        step = np.where(ok, b_price, np.inf)[order]
        cum = pd.Series(step).groupby(buy_a[order]).cumsum().to_numpy()
        extra = np.zeros(len(b_qty))
        extra[order] = ((cum <= room[buy_a[order]] + 1e-9) & np.isfinite(step)).astype(float)
        b_qty = b_qty + extra
        b_val = b_qty * np.where(ok, b_price, 0.0)
    keep = (b_qty > 0) & (b_val >= m.min_trade_value)

    # Sales that only funded buys which did not survive (tiny accounts) would just park the
    # money in cash: drop them unless the unit must raise cash anyway.
    bu = ua[buy_a]
    wanted = np.bincount(bu, minlength=s.n_unit) > 0
    funded = np.bincount(bu[keep], minlength=s.n_unit) > 0
    orphan_u = wanted & ~funded & (drift.need <= 0)
    orphan = orphan_u[s.unit] & (sell_qty > forced.qty)
    if orphan.any():
        sell_qty = np.where(orphan, forced.qty, sell_qty)
    cash_sell = np.where(orphan_u[s.unit], 0.0, cash_sell)
    # A cash-class holding sold to fund buys that did not all survive: sell only what is spent.
    idx = np.flatnonzero(keep)
    return Buys(
        acct=buy_a[idx],
        k=buy_k[idx],
        symbol=b_sym[idx],
        qty=b_qty[idx],
        price=b_price[idx],
        row=hr[idx],
        replaced=replaced[idx],
        cash_sell_qty=cash_sell,
        sell_qty=sell_qty,
        notes=notes,
    )
