"""The vectorised planner: an enriched book + targets -> the trades every household needs.

Stages, each a module, all reading one frozen `HouseholdState`:
forced (exclusions, the cap) -> drift (unit classes against bands) -> sells (where each
reduction comes from, which lots) -> buys (funding per account, location, vehicles, wash sales)
-> wash (look-back flags) -> reasons (the trade frame). The planning unit is the household
(default) or each account (`per_account`). Work is done on arrays and grouped pandas
operations; Python loops run only over sold lots and the few (account, class) ranks.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from portfolio.fund_groups import FundGroups, load_fund_groups
from portfolio.models import AssetClass, ClientMandate, Lot, ModelPortfolio
from portfolio.planner.buys import plan_buys
from portfolio.planner.drift import class_drift
from portfolio.planner.forced import forced_sales
from portfolio.planner.reasons import TRADE_COLUMNS, trade_frame
from portfolio.planner.sells import plan_sells
from portfolio.planner.state import HouseholdState, build_state
from portfolio.planner.wash import recent_purchase_flags
from portfolio.securities import ESG_NEUTRAL_CLASSES, SecurityMaster, esg_eligible

__all__ = [
    "TRADE_COLUMNS",
    "HouseholdState",
    "Plan",
    "buy_vehicles",
    "plan_trades",
]


@dataclass
class Plan:
    """What the vectorised core decided, before pydantic models are built around it."""

    trades: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    target_values: dict[str, float] = field(default_factory=dict)  # tradable part, all units
    held_back_gains: float = 0.0


def _may_buy(ref: pd.DataFrame, mandate: ClientMandate) -> dict[str, bool]:
    """Symbol -> may the mandate buy it (screens, exclusions, ESG-only)."""
    ok = pd.Series(True, index=ref.index)
    for cat in mandate.screened_categories:
        if cat in ref:
            ok &= ~ref[cat].astype(bool)
    ok &= ~ref.index.isin(mandate.excluded_symbols)
    if mandate.esg_only:
        neutral = ref["asset_class"].isin(list(ESG_NEUTRAL_CLASSES))
        ok &= ~ref["is_fund"].astype(bool) | ref["esg_fund"].astype(bool) | neutral
    return ok.to_dict()


def plan_trades(
    book: pd.DataFrame,
    mandate: ClientMandate,
    weights: Mapping[str, float],
    vehicles: Mapping[str, str],
    ref: pd.DataFrame,
    *,
    as_of: date,
    lots_of: Callable[[int], list[Lot]] | None = None,
    account_types: Mapping[str, str] | None = None,
    per_account: bool = False,
    max_gains: float | None = None,
    fund_groups: FundGroups | None = None,
) -> Plan:
    """Decide every trade for every account of `book` (an enriched frame, see portfolio.book).

    `weights` are target weights by asset class (summing to 1, cash included); `vehicles` the
    fund to buy per asset class when the account holds no eligible fund there; `ref` the
    reference frame (indexed by symbol) used to price and screen those vehicles. A `household`
    column, when present, says which accounts belong to one client (else all of them do).
    """
    if len(book) == 0:
        return Plan(pd.DataFrame(columns=TRADE_COLUMNS), [], {})
    groups = fund_groups or load_fund_groups()
    state = build_state(
        book,
        mandate,
        weights,
        as_of=as_of,
        account_types=account_types,
        per_account=per_account,
        lots_of=lots_of,
    )
    forced = forced_sales(state)
    drift = class_drift(state, forced, weights)
    sells, drift = plan_sells(state, forced, drift, max_gains)
    buys = plan_buys(state, forced, drift, sells, vehicles, ref, groups, _may_buy(ref, mandate))
    trades = trade_frame(state, forced, drift, sells, buys)
    flags = recent_purchase_flags(state, sells, buys.sell_qty, groups)
    if flags:
        rows = trades["row"].to_numpy()
        sell = (trades["action"] == "SELL").to_numpy()
        for i, text in flags.items():
            hit = sell & (rows == i)
            trades.loc[hit, "reason"] = trades.loc[hit, "reason"] + "; " + text
    notes = forced.notes + sells.notes + buys.notes
    targets = {c: float(drift.T[:, k].sum()) for k, c in enumerate(state.classes)}
    targets[AssetClass.CASH.value] = float(drift.T_cash.sum())
    return Plan(trades, notes, targets, float(np.sum(sells.held_back)))


def buy_vehicles(
    model: ModelPortfolio, mandate: ClientMandate, securities: SecurityMaster
) -> dict[str, str]:
    """The fund to buy per asset class: the ESG one under an ESG mandate, never an excluded one."""
    out: dict[str, str] = {}
    screened = mandate.screened_categories
    for s in model.sleeves:
        options = [s.esg_vehicle, s.vehicle] if mandate.esg_only else [s.vehicle, s.esg_vehicle]
        for sym in options:
            if sym in mandate.excluded_symbols or securities.flags(sym) & screened:
                continue
            if mandate.esg_only and not esg_eligible(sym, securities):
                continue
            out[s.asset_class] = sym
            break
    return out
