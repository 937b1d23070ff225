"""The vectorised planner: an enriched book + targets -> the trades every household needs.

Stages, each a module, all reading one frozen `HouseholdState`:
forced (exclusions, the cap) -> withdraw (cash a requested withdrawal needs, in its account)
-> drift (unit classes against bands) -> sells (where each reduction comes from, which lots)
-> offset (with the mandate's switch: taxable losses harvested against the gains, bought back)
-> buys (funding per account, location, vehicles, wash sales) -> settle (each sale's final
lots; losses the wash-sale look-back disallows) -> reasons (the trade frame). The planning unit
is the household (default) or each account (`per_account`). Work is done on arrays and grouped
pandas operations; Python loops run only over sold lots and the few (account, class) ranks.
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
from portfolio.planner.lookback import Lookback
from portfolio.planner.offset import offset_gains
from portfolio.planner.reasons import TRADE_COLUMNS, trade_frame
from portfolio.planner.sells import plan_sells
from portfolio.planner.settle import budget_notes, settle_sales
from portfolio.planner.state import HouseholdState, build_state
from portfolio.planner.wash import Match
from portfolio.planner.withdraw import withdrawal_sales
from portfolio.securities import SecurityMaster, load_securities

__all__ = [
    "TRADE_COLUMNS",
    "HouseholdState",
    "Plan",
    "buy_vehicles",
    "plan_trades",
    "sleeve_vehicles",
]


@dataclass
class Plan:
    """What the vectorised core decided, before pydantic models are built around it."""

    trades: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    target_values: dict[str, float] = field(default_factory=dict)  # tradable part, all units
    held_back_gains: float = 0.0
    # Per trade row: a sale made (at least in part) to raise a requested withdrawal.
    for_withdrawal: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    # Account -> why it cannot raise its withdrawal (only accounts that fall short).
    withdrawal_short: dict[str, str] = field(default_factory=dict)
    # Losses harvested against the plan's gains (planner.offset): news, not warnings.
    harvest_notes: list[str] = field(default_factory=list)


def _may_buy(securities: SecurityMaster, mandate: ClientMandate) -> dict[str, bool]:
    """Symbol -> may the mandate buy it: the gate's own test (per-fund screens, exclusions)."""
    ref = securities.frame
    ok = securities.meets_exclusions_many(list(ref.index), mandate.screened_categories)
    ok &= ~ref.index.isin(list(mandate.excluded_symbols))
    return dict(zip(ref.index, ok.tolist(), strict=True))


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
    securities: SecurityMaster | None = None,
    withdrawals: Mapping[str, float] | None = None,
    reach: frozenset[str] = frozenset(),
) -> Plan:
    """Decide every trade for every account of `book` (an enriched frame, see portfolio.book).

    `weights` are target weights by asset class (summing to 1, cash included); `vehicles` the
    fund to buy per asset class when the account holds no eligible fund there; `reach` the
    classes brought to target even inside their band (an income lean moved them); `ref` the
    reference frame (indexed by symbol) used to price those vehicles; `securities` screens any
    fund the plan buys (default: the bundled reference data). A `household`
    column, when present, says which accounts belong to one client (else all of them do).
    `withdrawals` (account -> amount) are cash requests already in the book as negative cash
    rows; each such account raises its own cash by sales (see planner.withdraw).
    """
    if len(book) == 0:
        return Plan(pd.DataFrame(columns=TRADE_COLUMNS), [], {})
    groups = fund_groups or load_fund_groups()
    securities = securities or load_securities()
    state = build_state(
        book,
        mandate,
        weights,
        as_of=as_of,
        account_types=account_types,
        per_account=per_account,
        lots_of=lots_of,
        fund_groups=groups,
    )
    forced, raised = withdrawal_sales(state, forced_sales(state), withdrawals or {})
    drift = class_drift(state, forced, weights, reach)
    lookback = Lookback.of(state)
    sells, drift = plan_sells(state, forced, drift, max_gains, lookback)
    may_buy = _may_buy(securities, mandate)
    sells, offset = offset_gains(state, forced, sells, vehicles, ref, groups, may_buy, lookback)
    buys = plan_buys(
        state,
        forced,
        drift,
        sells,
        vehicles,
        ref,
        groups,
        may_buy,
        securities,
        offset.buyback,
    )
    # Cash-class holdings sold for the buys (a T-bill ETF) are taxable sales like any other.
    sold = buys.sell_qty + buys.cash_sell_qty
    settled = settle_sales(state, sells, sold, lookback)
    sells = settled.sells
    trades = trade_frame(state, forced, drift, sells, buys, offset)
    rows = trades["row"].to_numpy(dtype=np.int64)
    sell = (trades["action"] == "SELL").to_numpy() & (sold[rows] > 0)
    trades["wash_disallowed"] = np.where(sell, settled.disallowed[rows], 0.0)
    on = np.flatnonzero(sell).tolist()
    at = rows.tolist()
    lots: list[object] = [()] * len(trades)
    deferred: list[object] = [()] * len(trades)
    for j in on:
        if picks := settled.lots.get(at[j]):
            lots[j] = picks
        if matches := settled.deferred.get(at[j]):
            deferred[j] = tuple(_deferred(state, matches))
    trades["lots"] = pd.Series(lots, index=trades.index, dtype=object)
    trades["wash_deferred"] = pd.Series(deferred, index=trades.index, dtype=object)
    for i, text in settled.flags.items():
        hit = sell & (rows == i)
        trades.loc[hit, "reason"] = trades.loc[hit, "reason"] + "; " + text
    notes = forced.notes + sells.notes + buys.notes
    if max_gains is not None:
        notes += budget_notes(state, settled, sold, max_gains)
    targets = {c: float(drift.T[:, k].sum()) for k, c in enumerate(state.classes)}
    targets[AssetClass.CASH.value] = float(drift.T_cash.sum())
    for_withdrawal = (trades["action"] == "SELL").to_numpy() & (raised.qty[rows] > 0)
    return Plan(
        trades,
        notes,
        targets,
        float(np.sum(sells.held_back)),
        for_withdrawal,
        raised.notes,
        offset.notes,
    )


def _deferred(s: HouseholdState, matches: list[Match]) -> list[dict[str, object]]:
    return [
        {
            "account": str(s.accounts[s.acct[m.replacement_row]]),
            "symbol": str(s.symbol[m.replacement_row]),
            "acquired": m.replacement_acquired,
            "quantity": m.units,
            "basis_added": round(m.loss, 2),
            "sold_acquired": m.sold_acquired,
        }
        for m in matches
    ]


def buy_vehicles(
    model: ModelPortfolio, mandate: ClientMandate, securities: SecurityMaster
) -> dict[str, str]:
    """The fund to buy per asset class; see `sleeve_vehicles`."""
    return sleeve_vehicles(model, mandate, securities)[0]


def sleeve_vehicles(
    model: ModelPortfolio, mandate: ClientMandate, securities: SecurityMaster
) -> tuple[dict[str, str], dict[str, str]]:
    """(asset class -> the fund to buy, sleeve -> the sleeve its weight moves to).

    The fund is the first that meets every screen of the mandate (`qualifying_funds`: the
    model's vehicle, its ESG vehicle under an ESG mandate, else the closest qualifying fund of
    the class), never an excluded symbol, so the gate never vetoes the engine's own buy. A sleeve
    no fund qualifies for moves its weight to the nearest sleeve that has one
    (`nearest_qualifying_sleeve`), else to cash.
    """
    cats = sorted(mandate.screened_categories)
    exclude = sorted(mandate.excluded_symbols)
    out: dict[str, str] = {}
    moves: dict[str, str] = {}
    for s in model.sleeves:
        pair = [s.esg_vehicle, s.vehicle] if mandate.esg_only else [s.vehicle, s.esg_vehicle]
        prefer = [p for p in pair if p]
        funds = securities.qualifying_funds(s.asset_class, cats, prefer=prefer, exclude=exclude)
        if funds:
            out[s.asset_class] = funds[0]  # a sleeve's own fund wins over a moved weight's
            continue
        if s.asset_class == AssetClass.CASH.value:
            continue
        near = securities.nearest_qualifying_sleeve(
            s.asset_class, cats, prefer=prefer, exclude=exclude
        )
        if near is None:
            moves[s.asset_class] = AssetClass.CASH.value
            continue
        moves[s.asset_class] = near.asset_class
        if near.asset_class != AssetClass.CASH.value:
            out.setdefault(near.asset_class, near.fund)
    return out, moves
