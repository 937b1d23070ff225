"""The rebalance engine: holdings + mandate + model + prices -> a `RebalanceProposal`.

Orchestrates the deterministic pieces (book, targets, planner, compliance gate, post-trade
view) and builds the pydantic contract the agents, the ledger and the UI consume.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from portfolio.accounts import account_types as resolve_account_types
from portfolio.apply import after_trades
from portfolio.book import enrich, positions_frame
from portfolio.cash_requests import (
    DEPOSIT_SYMBOL,
    WITHDRAWAL_SYMBOL,
    outcomes,
    validate,
    with_requests,
    withdrawals,
)
from portfolio.compliance import check_portfolio, check_trades
from portfolio.lookthrough import class_values
from portfolio.model_portfolios import load_model
from portfolio.models import (
    AccountSummary,
    AssetClass,
    CashRequest,
    ClassWeight,
    ClientMandate,
    Holdings,
    ModelPortfolio,
    PortfolioCheck,
    PositionWeight,
    RebalanceProposal,
    ReferencePrice,
    SoldLot,
    Trade,
)
from portfolio.planner import Plan, plan_trades, sleeve_vehicles
from portfolio.securities import SecurityMaster, load_securities
from portfolio.targets import (
    band_width,
    clamp_tilts,
    lean_for_income,
    reassign_unbuyable,
    target_weights,
)


def _weights_of(frame: pd.DataFrame, total: float) -> list[PositionWeight]:
    return [
        PositionWeight(
            account=str(r.account),
            symbol=str(r.symbol),
            asset_class=str(r.asset_class),
            quantity=float(r.quantity),
            price=None if pd.isna(r.price) else float(r.price),
            value=round(float(r.value), 2),
            weight=float(r.value) / total if total else 0.0,
            is_cash=bool(r.is_cash),
            is_fund=bool(r.is_fund),
            known=bool(r.known),
        )
        for r in frame.itertuples(index=False)
    ]


def _class_weights(
    before: pd.DataFrame,
    after: pd.DataFrame,
    targets: Mapping[str, float],
    weights: Mapping[str, float],
    mandate: ClientMandate,
    total: float,
) -> dict[str, ClassWeight]:
    # Blended funds (VT, allocation funds) count in each class by what they hold.
    cur = class_values(before)
    post = class_values(after)
    classes = list(dict.fromkeys([*weights, *cur.index, *post.index]))
    out: dict[str, ClassWeight] = {}
    for c in classes:
        c_w = float(cur.get(c, 0.0)) / total if total else 0.0
        t_w = float(targets.get(c, 0.0)) / total if total else 0.0
        p_w = float(post.get(c, 0.0)) / total if total else 0.0
        band = band_width(float(weights.get(c, 0.0)), mandate)
        drift = c_w - t_w
        status = "in_band" if abs(drift) <= band + 1e-9 else ("over" if drift > 0 else "under")
        out[c] = ClassWeight(
            current=c_w, target=t_w, post_trade=p_w, drift=drift, band=band, status=status
        )
    return out


def _or_zero(x: object) -> float:
    return 0.0 if pd.isna(x) else float(x)  # type: ignore[arg-type]


def _sold_lots(picks: object) -> list[SoldLot]:
    if not isinstance(picks, tuple):
        return []
    return [
        SoldLot(
            acquired=p.acquired,
            quantity=p.quantity,
            cost_basis=None if p.unit_cost is None else round(p.unit_cost * p.quantity, 2),
            line=p.line,
        )
        for p in picks
        if p.quantity > 0
    ]


def _trades_from(plan_trades_frame: pd.DataFrame) -> list[Trade]:
    trades: list[Trade] = []
    for i, r in enumerate(plan_trades_frame.itertuples(index=False), start=1):
        trades.append(
            Trade(
                id=f"T{i}",
                account=str(r.account),
                symbol=str(r.symbol),
                action=r.action,
                quantity=float(r.quantity),
                price=round(float(r.price), 6),
                value=round(float(r.quantity) * round(float(r.price), 6), 2),
                asset_class=str(r.asset_class),
                reason=str(r.reason),
                realized_gain=None if pd.isna(r.realized_gain) else float(r.realized_gain),
                short_term_gain=None if pd.isna(r.short_term_gain) else float(r.short_term_gain),
                forced=bool(r.forced),
                wash_loss_disallowed=_or_zero(r.wash_disallowed),
                lots=_sold_lots(r.lots),
                wash_deferred=list(r.wash_deferred)
                if isinstance(r.wash_deferred, (list, tuple))
                else [],
            )
        )
    return trades


STALE_AFTER = timedelta(days=5)


def _as_of(holdings: Holdings, as_of: date | None) -> tuple[date, str]:
    """The trade date the tax clock runs to: given, else the file's stated date, else today."""
    if as_of is not None:
        return as_of, "argument"
    if holdings.as_of is not None:
        return holdings.as_of, "file"
    return date.today(), "today"


def _reference_prices(book: pd.DataFrame, as_of: date) -> list[ReferencePrice]:
    ref = book[(book["price_source"] == "reference") & ~book["is_cash"]]
    ref = ref.drop_duplicates("symbol")
    days = pd.to_datetime(ref["price_as_of"]).dt.date.tolist()  # one conversion, not one a row
    out = []
    symbols, prices = ref["symbol"].tolist(), ref["price"].tolist()
    for symbol, price, when in zip(symbols, prices, days, strict=True):
        out.append(
            ReferencePrice(
                symbol=str(symbol),
                price=float(price),
                as_of=when,
                stale=as_of - when > STALE_AFTER,
            )
        )
    return out


def _swept(frame: pd.DataFrame) -> pd.Series:
    """Swept cash rows; a requested withdrawal's row is money leaving, not cash held."""
    return frame["is_cash"] & (frame["symbol"] != WITHDRAWAL_SYMBOL)


def _account_summaries(
    book: pd.DataFrame,
    after: pd.DataFrame,
    approved: Sequence[Trade],
    types: Mapping[str, str],
    sources: Mapping[str, str],
) -> list[AccountSummary]:
    # A household has a handful of accounts and rows: sums by plain Python, not a frame filter
    # per account and figure (once a third of a proposal's time).
    value = _sums(book)
    cash = _sums(book, _swept(book).to_numpy(bool))
    cash_after = _sums(after, _swept(after).to_numpy(bool))
    symbols = book["symbol"].to_numpy(dtype=object)
    deposit = _sums(book, symbols == DEPOSIT_SYMBOL)
    withdrawal = _sums(book, symbols == WITHDRAWAL_SYMBOL)
    out = []
    for acct in sorted(types):
        mine = [t for t in approved if t.account == acct]
        gains = [t.realized_gain or 0.0 for t in mine if t.action == "SELL"]
        shorts = [t.short_term_gain or 0.0 for t in mine if t.action == "SELL"]
        taxable = types[acct] == "taxable"
        out.append(
            AccountSummary(
                account=acct,
                type=types[acct],  # type: ignore[arg-type]
                type_source=sources[acct],  # type: ignore[arg-type]
                value=round(value.get(acct, 0.0), 2),
                cash=round(cash.get(acct, 0.0), 2),
                cash_after=round(cash_after.get(acct, 0.0), 2),
                buys=round(sum(t.value for t in mine if t.action == "BUY"), 2),
                sells=round(sum(t.value for t in mine if t.action == "SELL"), 2),
                realized_gains=round(float(sum(gains)), 2) if taxable else 0.0,
                short_term_gains=round(float(sum(shorts)), 2) if taxable else 0.0,
                deposit=round(deposit.get(acct, 0.0), 2),
                withdrawal=round(abs(withdrawal.get(acct, 0.0)), 2),
            )
        )
    return out


def _sums(frame: pd.DataFrame, rows: np.ndarray | None = None) -> dict[str, float]:
    """Account -> the sum of `value` over the rows picked (all when None); a missing value adds
    nothing, as in a frame's sum."""
    accounts = frame["account"].to_numpy(dtype=object)
    values = frame["value"].to_numpy(dtype=float)
    if rows is not None:
        accounts, values = accounts[rows], values[rows]
    parts: dict[str, list[float]] = {}
    for a, v in zip(accounts.tolist(), values.tolist(), strict=True):
        parts.setdefault(a, []).append(0.0 if math.isnan(v) else v)
    return {a: math.fsum(vs) for a, vs in parts.items()}


def rebalance(
    holdings: Holdings,
    mandate: ClientMandate,
    *,
    model: ModelPortfolio | None = None,
    securities: SecurityMaster | None = None,
    prices: Mapping[str, float] | None = None,
    tilts: Mapping[str, float] | None = None,
    as_of: date | None = None,
    extra_trades: Sequence[Trade] = (),
    account_types: Mapping[str, str] | None = None,
    per_account: bool = False,
    max_gains: float | None = None,
    income_reserve_months: float = 12.0,
    cash_requests: Sequence[CashRequest] = (),
) -> RebalanceProposal:
    """Propose the trades that bring `holdings` back to the mandate and the model.

    The household is the unit (targets, bands, cash floor), unless `per_account`. `tilts`
    (asset class -> change of target weight) are clamped to ±5 points. `extra_trades` (for
    instance ones a language model suggests) join the engine's and face the same gate.
    `account_types` (account name -> taxable / tax_deferred / tax_free) overrides what the
    names and the file say; `max_gains` is a household budget for discretionary realised gains.
    A stated income need keeps `income_reserve_months` of it in cash (a floor for the planner).
    `cash_requests` (withdrawals, deposits per account) are checked against the household
    (`CashRequestError` when one cannot be taken) and planned for: values, targets and the gate
    see the book after them (portfolio.cash_requests).
    """
    requests = validate(list(cash_requests), holdings)
    holdings = with_requests(holdings, requests)
    securities = securities or load_securities()
    model = model or load_model(mandate.risk_profile)
    as_of, as_of_source = _as_of(holdings, as_of)
    book = enrich(positions_frame(holdings.positions), securities, mandate, prices)
    types, type_sources, type_notes = resolve_account_types(
        list(dict.fromkeys(book["account"])) if len(book) else [],
        custodian=holdings.account_types,
        overrides=account_types,
    )
    applied_tilts = clamp_tilts(tilts, model)
    reserve = mandate.income_need * max(income_reserve_months, 0.0) / 12.0
    # The planner keeps the income reserve as cash; the gate still judges the client's own floor.
    plan_mandate = (
        mandate.model_copy(update={"cash_floor": min(reserve, 1.0)})
        if reserve > mandate.cash_floor
        else mandate
    )
    weights = target_weights(model, plan_mandate, applied_tilts)
    vehicles, moves = sleeve_vehicles(model, mandate, securities)
    weights, target_notes = reassign_unbuyable(weights, moves)

    def plan_for(w: Mapping[str, float], reach: frozenset[str] = frozenset()) -> Plan:
        return plan_trades(
            book,
            plan_mandate,
            w,
            vehicles,
            securities.frame,
            as_of=as_of,
            lots_of=lambda i: holdings.positions[i].lots,
            account_types=types,
            per_account=per_account,
            max_gains=max_gains,
            securities=securities,
            reach=reach,
            withdrawals=withdrawals(requests),
        )

    plan = plan_for(weights)
    total = float(book["value"].sum())
    yields = securities.frame["yield"]
    lean = _lean_for_income(
        plan, plan_for, weights, vehicles, yields, book, total, mandate, securities
    )
    plan, weights = lean.plan, lean.weights
    current = _weights_of(book, total)
    trades = _trades_from(plan.trades)
    start = len(trades)
    # A model's trade is classified by the reference data, never by what the model said.
    trades += [
        t.model_copy(
            update={
                "id": f"T{start + j + 1}",
                "source": "model",
                "symbol": t.symbol.upper(),
                "asset_class": securities.asset_class(t.symbol) or AssetClass.UNCLASSIFIED.value,
                # Gains are estimated by the engine only, and only in taxable accounts.
                "realized_gain": None if types.get(t.account) == "taxable" else 0.0,
                "short_term_gain": None if types.get(t.account) == "taxable" else 0.0,
            }
        )
        for j, t in enumerate(extra_trades)
    ]
    trades = check_trades(trades, current, mandate, securities)
    approved = [t for t in trades if t.compliance.status == "APPROVED"]
    after = after_trades(book, approved, securities)
    made_for = [trades[i].id for i in np.flatnonzero(plan.for_withdrawal)]
    request_results = outcomes(
        requests, current, approved, mandate.cash_floor, made_for, plan.withdrawal_short
    )

    # Targets: the model applied to each unit's tradable part, plus what is frozen as it is.
    targets = dict(plan.target_values)
    frozen = class_values(book[~book["tradable"] & ~book["is_cash"]])
    for c, v in frozen.items():
        targets[str(c)] = targets.get(str(c), 0.0) + float(v)
    class_weights = _class_weights(book, after, targets, weights, plan_mandate, total)

    post_positions = _weights_of(after[after["quantity"].abs() > 1e-9], total)
    post_by_symbol = after.groupby("symbol")["value"].sum()
    post_trade_weights = (
        {str(s): float(v) / total for s, v in post_by_symbol.items() if abs(v) > 0.005}
        if total
        else {}
    )
    ref_prices = _reference_prices(book, as_of) if len(book) else []
    stale = [r for r in ref_prices if r.stale]
    price_notes = (
        [
            "Reference prices older than the trade date by more than five days: "
            + ", ".join(f"{r.symbol} ${r.price:,.2f} of {r.as_of.isoformat()}" for r in stale)
            + " (supply current prices with --prices)"
        ]
        if stale
        else []
    )
    checks: list[PortfolioCheck] = [
        PortfolioCheck(rule="account_type", status="warn", message=m) for m in type_notes
    ]
    checks += [
        PortfolioCheck(rule="engine_note", status="warn", message=m)
        for m in target_notes + plan.notes
    ]
    checks += [
        PortfolioCheck(rule="offset_harvest", status="pass", message=m) for m in plan.harvest_notes
    ]
    checks += [
        PortfolioCheck(rule="reference_price", status="warn", message=m) for m in price_notes
    ]
    checks += [
        PortfolioCheck(rule="cash_request", status="pass" if r.met else "fail", message=r.message)
        for r in request_results
    ]
    y_before = _yield(book, yields, total)
    y_after = _yield(after, yields, total)
    short_by = max(mandate.income_need - y_after, 0.0) if mandate.income_need > 0 else 0.0
    if mandate.income_need > 0:
        checks.append(
            PortfolioCheck(
                rule="income_plan",
                status="pass" if short_by <= 1e-9 else "warn",
                message=_income_message(
                    mandate.income_need, y_before, y_after, lean, reserve, income_reserve_months
                ),
            )
        )
    checks += check_portfolio(post_positions, mandate, securities, class_weights)

    traded = sum(t.value for t in approved)
    # Realised gains count only in taxable accounts (IRS Publications 550, 590-A/B, 969).
    taxable = [t for t in approved if types.get(t.account) == "taxable"]
    gains = [t.realized_gain for t in taxable if t.realized_gain is not None]
    shorts = [t.short_term_gain for t in taxable if t.short_term_gain is not None]
    cash_before = float(book.loc[_swept(book), "value"].sum())
    cash_after = float(after.loc[_swept(after), "value"].sum())
    unknown = sorted(set(book.loc[~book["known"] & ~book["is_cash"], "symbol"]))
    turnover_base = total + sum(withdrawals(requests).values())
    return RebalanceProposal(
        as_of=as_of,
        as_of_source=as_of_source,  # type: ignore[arg-type]
        profile=mandate.risk_profile,
        mandate=mandate,
        model=model,
        total_value=round(total, 2),
        cash_value=round(cash_before, 2),
        cash_after=round(cash_after, 2),
        positions=current,
        trades=trades,
        post_trade_weights=post_trade_weights,
        asset_class_weights=class_weights,
        checks=checks,
        import_issues=holdings.issues,
        unknown_symbols=unknown,
        # Measured against the household before it pays out: a large withdrawal is a sale of
        # what it held, not a multiple of what is left.
        turnover=traded / 2 / turnover_base if turnover_base else 0.0,
        realized_gains=round(float(np.sum(gains)), 2) if gains else 0.0,
        short_term_gains=round(float(np.sum(shorts)), 2) if shorts else 0.0,
        wash_loss_disallowed=round(sum(t.wash_loss_disallowed for t in taxable), 2),
        tilts=applied_tilts,
        household=not per_account,
        accounts=_account_summaries(book, after, approved, types, type_sources),
        reference_prices=ref_prices,
        max_gains=max_gains,
        yield_before=y_before,
        yield_after=y_after,
        income_reserve=reserve,
        cash_requests=request_results,
        income_lean={c: round(v, 6) for c, v in lean.shifts.items()},
        income_short_by=round(short_by, 6),
    )


LEAN_ROUNDS = 3


@dataclass(frozen=True)
class _Lean:
    plan: Plan
    weights: dict[str, float]
    shifts: dict[str, float]  # class -> change of target weight, model to plan
    exhausted: bool  # the bands allow no further lean toward yield


def _lean_for_income(
    plan: Plan,
    plan_for: Callable[[Mapping[str, float], frozenset[str]], Plan],
    weights: dict[str, float],
    vehicles: Mapping[str, str],
    yields: pd.Series,
    book: pd.DataFrame,
    total: float,
    mandate: ClientMandate,
    securities: SecurityMaster,
) -> _Lean:
    """Lean the targets toward yield (inside the bands) until the plan's estimated yield meets the
    stated income need; a few deterministic rounds, since the plan's own holdings and vehicles
    yield what they yield. No need, or a need already met, leaves the plan as it is."""
    need = mandate.income_need
    if need <= 0 or not total:
        return _Lean(plan, weights, {}, False)
    class_yields = {
        c: float(yields[f])
        for c, f in vehicles.items()
        if f in yields.index and pd.notna(yields[f]) and c in weights
    }
    leaned = dict(weights)
    exhausted = False
    for _ in range(LEAN_ROUNDS):
        after = after_trades(book, _trades_from(plan.trades), securities)
        gap = need - _yield(after, yields, total)
        if gap <= 1e-9:
            break
        step = lean_for_income(leaned, weights, class_yields, gap, mandate)
        exhausted = step.exhausted
        if not step.shifts:
            break
        leaned = step.weights
        moved = frozenset(c for c in leaned if abs(leaned[c] - weights.get(c, 0.0)) > 1e-12)
        plan = plan_for(leaned, moved)
    shifts = {
        c: leaned[c] - weights.get(c, 0.0)
        for c in leaned
        if abs(leaned[c] - weights.get(c, 0.0)) > 1e-12
    }
    return _Lean(plan, leaned, shifts, exhausted)


def _income_message(
    need: float,
    y_before: float,
    y_after: float,
    lean: _Lean,
    reserve: float,
    months: float,
) -> str:
    """The income check in words: met or short, what the lean moved, and why it stops."""
    moved = ", ".join(
        f"{c.replace('_', ' ')} {v * 100:+.1f} pts"
        for c, v in sorted(lean.shifts.items(), key=lambda kv: (-kv[1], kv[0]))
    )
    head = (
        f"estimated yield {y_before:.2%} before, {y_after:.2%} after, against a {need:.1%} "
        "income need"
    )
    leaned = f"; the targets lean toward yield inside the bands ({moved})" if moved else ""
    if y_after + 1e-9 >= need:
        text = f"Income target met (~{y_after:.1%}): {head}{leaned}"
    else:
        why = (
            "the higher-yielding sleeves have reached the top of their bands (or the lower-"
            "yielding ones the bottom), so more income needs wider bands or a more income-oriented "
            "profile"
            if lean.exhausted or not moved
            else "the funds kept and bought yield less than the sleeves' estimates"
        )
        text = f"Income target short by {need - y_after:.2%}: {head}{leaned}; {why}"
    return (
        text + f"; {reserve:.1%} of the household is kept in cash ({months:g} months of the need)"
    )


def _yield(frame: pd.DataFrame, yields: pd.Series, total: float) -> float:
    """Estimated yearly income over total value, from the reference yields (cash rows too)."""
    if not total or not len(frame):
        return 0.0
    y = frame["symbol"].map(yields).fillna(0.0).to_numpy(float)
    return float(np.sum(frame["value"].to_numpy(float) * y)) / total


__all__ = ["AssetClass", "rebalance"]
