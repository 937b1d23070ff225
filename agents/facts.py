"""The agents' tools: deterministic figures from the `portfolio` package, shaped as FACTS.

Every number an agent may mention is computed here; the facts are plain JSON data so they can go
into a prompt, into the ledger, and into the offline analyst.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from agents.prompts import JSON_ONLY
from portfolio import risk_metrics as rm
from portfolio.book import enrich, positions_frame
from portfolio.lookthrough import class_values
from portfolio.market_data import MarketDataProvider
from portfolio.models import (
    EQUITY_CLASSES,
    AssetClass,
    ClientMandate,
    Holdings,
    ModelPortfolio,
    RebalanceProposal,
)
from portfolio.notes_parser import parse_notes
from portfolio.securities import SecurityMaster

HISTORY_DAYS = 3 * 252 + 30
HOLD_COLUMNS = [
    "value",
    "quantity",
    "asset_class",
    "sector",
    "is_cash",
    "is_fund",
    "known",
    "description",
    "yield",
    "weight",
]
MANDATE_FIELDS = (
    "risk_profile",
    "age",
    "horizon_years",
    "income_need",
    "esg_only",
    "excluded_categories",
    "excluded_symbols",
    "single_name_cap",
    "cash_floor",
)


def _r(x: Any, nd: int = 4) -> float | None:
    if x is None:
        return None
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return None if not np.isfinite(v) else round(v, nd)


def mandate_facts(mandate: ClientMandate) -> dict[str, Any]:
    data = mandate.model_dump(mode="json", include=set(MANDATE_FIELDS))
    data["screened_categories"] = sorted(mandate.screened_categories)
    return data


def holdings_frame(
    holdings: Holdings,
    securities: SecurityMaster,
    mandate: ClientMandate | None = None,
    prices: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """One row per symbol across accounts, from the engine's own enriched book.

    The crew and the engine never classify a holding differently: the same `book.enrich` (only
    swept cash is cash; a T-bill ETF or a purchased money-market fund is a cash-class holding;
    a CUSIP-only Treasury is a Treasury). `attrs["class_weights"]` holds the class weights with
    blended funds (VT) spread by look-through, as the proposal's current weights are.
    """
    book = enrich(
        positions_frame(holdings.positions), securities, mandate or ClientMandate(), prices
    )
    if not len(book):
        empty = pd.DataFrame(columns=HOLD_COLUMNS)
        empty.attrs["class_weights"] = {}
        return empty
    names = securities.frame["name"].reindex(book["symbol"]).fillna("").astype(str).to_numpy()
    desc = book["description"].fillna("").astype(str)
    book["description"] = desc.where(desc != "", names)
    agg = book.groupby("symbol", sort=False).agg(
        value=("value", "sum"),
        quantity=("quantity", "sum"),
        asset_class=("asset_class", "first"),
        sector=("sector", "first"),
        is_cash=("is_cash", "all"),
        is_fund=("is_fund", "any"),
        known=("known", "all"),
        description=("description", "first"),
        **{"yield": ("yield", "first")},
    )
    agg["sector"] = agg["sector"].where(agg["known"] | agg["is_cash"], "")
    total = float(agg["value"].sum())
    agg["weight"] = agg["value"] / total if total > 0 else 0.0
    out = agg.sort_values("value", ascending=False)
    by_class = class_values(book)
    out.attrs["class_weights"] = {
        str(c): float(v) / total for c, v in by_class.items() if total > 0 and abs(v) > 0
    }
    return out


def class_weights(hold: pd.DataFrame) -> dict[str, float]:
    """The class weights of a `holdings_frame`, look-through included."""
    if "class_weights" in hold.attrs:
        return dict(hold.attrs["class_weights"])
    return hold.groupby("asset_class")["weight"].sum().to_dict()


def profile_facts(
    notes: str, securities: SecurityMaster, today: date | None = None
) -> dict[str, Any]:
    parsed = parse_notes(notes, today=today, known_symbols=securities.frame.index)
    return {
        "task": "risk_profile",
        "today": (today or date.today()).isoformat(),
        "notes": notes,
        # Lot handling and share fractions are not the model's to judge, but they are the notes'.
        "rule_reading": {
            **mandate_facts(parsed.mandate),
            "tax_aware": parsed.mandate.tax_aware,
            "fractional": parsed.mandate.fractional,
        },
        "evidence": parsed.evidence,
        "warnings": parsed.warnings,
    }


def _proxy(
    cls: str, model: ModelPortfolio, securities: SecurityMaster, have: set[str]
) -> str | None:
    for s in model.sleeves:
        if s.asset_class == cls and s.vehicle in have:
            return s.vehicle
    f = securities.frame
    funds = f[(f["asset_class"] == cls) & f["is_fund"] & f["symbol"].isin(have)]
    return str(funds["symbol"].iloc[0]) if len(funds) else None


def _metrics_table(prices: pd.DataFrame) -> pd.DataFrame:
    tr = rm.trailing_returns(prices)
    out = pd.DataFrame(
        {
            "ret_1m": tr["1m"],
            "ret_3m": tr["3m"],
            "ret_12m": tr["12m"],
            "vol": rm.annualised_volatility(prices),
            "max_drawdown": rm.max_drawdown(prices),
            "drawdown_now": rm.current_drawdown(prices),
            "momentum_12_1": rm.momentum(prices),
        }
    )
    vol = out["vol"].where(out["vol"] > 1e-4)
    out["trend_score"] = (out["momentum_12_1"].fillna(0) + out["ret_3m"].fillna(0)) / vol
    return out


def market_facts(
    hold: pd.DataFrame,
    mandate: ClientMandate,
    model: ModelPortfolio,
    provider: MarketDataProvider,
    securities: SecurityMaster,
) -> dict[str, Any]:
    universe = list(
        dict.fromkeys([s.vehicle for s in model.sleeves] + list(securities.frame.index))
    )
    prices = provider.history(universe)
    have = set(prices.columns)
    classes = [s.asset_class for s in model.sleeves if s.asset_class != AssetClass.CASH]
    classes += [c for c in hold["asset_class"].unique() if c not in classes]
    classes = [c for c in classes if c not in (AssetClass.CASH, AssetClass.UNCLASSIFIED)]
    proxies = {c: p for c in classes if (p := _proxy(c, model, securities, have))}
    cls_table = _metrics_table(prices[list(dict.fromkeys(proxies.values()))]) if proxies else None
    asset_classes: dict[str, Any] = {}
    for cls, sym in proxies.items():
        row = cls_table.loc[sym] if cls_table is not None else None
        asset_classes[cls] = {"proxy": sym, **{k: _r(v) for k, v in row.items()}}

    held = [s for s in hold.index if s in have and not hold.loc[s, "is_cash"]]
    holdings_rows = []
    if held:
        tbl = _metrics_table(prices[held])
        for s in held[:12]:
            holdings_rows.append(
                {
                    "symbol": s,
                    "weight": _r(hold.loc[s, "weight"]),
                    "description": hold.loc[s, "description"],
                    **{k: _r(v) for k, v in tbl.loc[s].items()},
                }
            )
    eq, bd = proxies.get(AssetClass.US_EQUITY), proxies.get(AssetClass.US_BONDS)
    eq_bond = None
    if eq and bd:
        eq_bond = _r(rm.correlation_matrix(prices[[eq, bd]]).loc[eq, bd], 2)
    avg_corr = (
        _r(rm.average_pairwise_correlation(rm.correlation_matrix(prices[held])), 2)
        if len(held) > 1
        else None
    )
    eqm = asset_classes.get(AssetClass.US_EQUITY, {})
    regime = "neutral"
    if eqm:
        if (eqm["drawdown_now"] or 0) < -0.10 or (eqm["ret_3m"] or 0) < -0.05:
            regime = "risk_off"
        elif (
            (eqm["momentum_12_1"] or 0) > 0
            and (eqm["ret_3m"] or 0) > 0
            and (eqm["drawdown_now"] or 0) > -0.05
        ):
            regime = "risk_on"
    return {
        "task": "market_analysis",
        "data_source": provider.name,
        "sample_data": bool(provider.is_sample),
        "as_of": prices.index.max().date().isoformat() if len(prices) else None,
        "history_days": len(prices),
        "asset_classes": asset_classes,
        "holdings": holdings_rows,
        "missing_history": [s for s in hold.index if s not in have and not hold.loc[s, "is_cash"]],
        "signals": {
            "regime": regime,
            "equity_bond_correlation": eq_bond,
            "holdings_avg_correlation": avg_corr,
        },
        "mandate": mandate_facts(mandate),
    }


def _weights_for_model(model: ModelPortfolio, mandate: ClientMandate) -> dict[str, float]:
    out: dict[str, float] = {}
    for s in model.sleeves:
        v = s.esg_vehicle if mandate.esg_only else s.vehicle
        out[v] = out.get(v, 0.0) + s.weight
    return out


def risk_facts(
    hold: pd.DataFrame,
    mandate: ClientMandate,
    model: ModelPortfolio,
    provider: MarketDataProvider,
    securities: SecurityMaster,
) -> dict[str, Any]:
    weights = hold["weight"].to_dict()
    model_w = _weights_for_model(model, mandate)
    prices = provider.history(list(dict.fromkeys(list(weights) + list(model_w))))
    invested = {s: w for s, w in weights.items() if not hold.loc[s, "is_cash"]}
    pvol = rm.portfolio_volatility(weights, prices)
    mdd, ddnow = rm.portfolio_drawdown(weights, prices)
    mvol = rm.portfolio_volatility(model_w, prices)
    m_mdd, _ = rm.portfolio_drawdown(model_w, prices)
    held_hist = [s for s in invested if s in prices.columns]
    avg_corr = (
        rm.average_pairwise_correlation(rm.correlation_matrix(prices[held_hist]))
        if len(held_hist) > 1
        else None
    )
    vols = rm.annualised_volatility(prices[held_hist]) if held_hist else pd.Series(dtype=float)
    singles = hold[~hold["is_fund"] & ~hold["is_cash"]]
    single_weights = singles["weight"].to_dict()
    cap = mandate.single_name_cap
    breaches = [
        {"symbol": s, "weight": _r(w), "cap": cap}
        for s, w in single_weights.items()
        if cap is not None and w > cap + 1e-9
    ]
    screened = mandate.screened_categories
    screen_hits = []
    for s in hold.index:
        flags = securities.flags(s) & screened
        if flags or s in mandate.excluded_symbols:
            screen_hits.append({"symbol": s, "categories": sorted(flags) or ["excluded by name"]})
    # Funds whose index leaves in a category the mandate excludes (the gate's fund_screen rule).
    esg_ineligible = [
        s
        for s in hold.index
        if screened
        and hold.loc[s, "is_fund"]
        and not hold.loc[s, "is_cash"]
        and not securities.meets_exclusions(s, screened)
    ]
    eq_share = float(sum(w for c, w in class_weights(hold).items() if c in EQUITY_CLASSES))
    top = [
        {
            "symbol": s,
            "weight": _r(hold.loc[s, "weight"]),
            "sector": hold.loc[s, "sector"] or "Unknown",
            "is_fund": bool(hold.loc[s, "is_fund"] or hold.loc[s, "is_cash"]),
            "description": hold.loc[s, "description"],
            "volatility": _r(vols.get(s)),
        }
        for s in hold.index[:5]
    ]
    class_w = pd.Series(class_weights(hold), dtype=float).sort_values(ascending=False)
    return {
        "task": "risk_assessment",
        "total_value": _r(hold["value"].sum(), 2),
        "positions": len(hold),
        "cash_weight": _r(hold.loc[hold["is_cash"], "weight"].sum()),
        "portfolio": {
            "volatility": _r(pvol),
            "max_drawdown": _r(mdd),
            "drawdown_now": _r(ddnow),
            "hhi": _r(rm.hhi(invested)),
            "effective_positions": _r(rm.effective_positions(invested), 2),
            "avg_pairwise_correlation": _r(avg_corr, 2),
            "equity_share": _r(eq_share),
            "income_yield": _r(float((hold["weight"] * hold["yield"]).sum())),
            "single_stock_share": _r(float(singles["weight"].sum())),
            "largest_single_name": _r(float(singles["weight"].max()) if len(singles) else 0.0),
        },
        "model": {
            "profile": str(model.profile),
            "volatility": _r(mvol),
            "max_drawdown": _r(m_mdd),
            "equity_share": _r(model.equity_share),
            "targets": {k: _r(v) for k, v in model.weights().items()},
        },
        "top_positions": top,
        "sector_weights": {
            k: _r(v) for k, v in rm.sector_concentration(invested, hold["sector"].to_dict()).items()
        },
        "asset_class_weights": {k: _r(v) for k, v in class_w.items()},
        "single_name_breaches": breaches,
        "screen_breaches": screen_hits,
        "esg_ineligible_funds": esg_ineligible,
        "unknown_symbols": [s for s in hold.index if not hold.loc[s, "known"]],
        "missing_history": [s for s in invested if s not in prices.columns],
        "mandate": mandate_facts(mandate),
        "data_source": provider.name,
        "sample_data": bool(provider.is_sample),
    }


def trade_facts(proposal: RebalanceProposal) -> list[dict[str, Any]]:
    return [
        {
            "id": t.id,
            "account": t.account,
            "symbol": t.symbol,
            "action": t.action,
            "quantity": _r(t.quantity, 6),
            "price": _r(t.price),
            "value": _r(t.value, 2),
            "asset_class": t.asset_class,
            "reason": t.reason,
            "order_type": t.order_type,
            "status": t.compliance.status,
            "reasons": t.compliance.reasons,
            "rules": t.compliance.rules,
        }
        for t in proposal.trades
    ]


def strategy_facts(
    proposal: RebalanceProposal,
    market: dict[str, Any] | None,
    risk: dict[str, Any] | None,
    max_tilt: float,
) -> dict[str, Any]:
    views = {v["asset_class"]: v["stance"] for v in (market or {}).get("asset_class_views", [])}
    return {
        "task": "strategy",
        "reply": JSON_ONLY,  # the tilts only: the words come once the final plan is known
        "profile": str(proposal.profile),
        "max_tilt": max_tilt,
        "tiltable_classes": [
            s.asset_class for s in proposal.model.sleeves if s.asset_class != AssetClass.CASH
        ],
        "class_weights": {
            k: {
                "current": _r(v.current),
                "target": _r(v.target),
                "drift": _r(v.drift),
                "band": _r(v.band),
                "status": v.status,
            }
            for k, v in proposal.asset_class_weights.items()
        },
        "baseline_trades": trade_facts(proposal),
        "turnover": _r(proposal.turnover),
        "total_value": _r(proposal.total_value, 2),
        "cash_after": _r(proposal.cash_after, 2),
        "cash_paid_out": _r(proposal.cash_paid_out, 2),
        "cash_requests": cash_request_facts(proposal),
        "market_views": views,
        "market_scores": {
            c: m.get("trend_score") for c, m in (market or {}).get("metrics", {}).items()
        },
        "regime": (market or {}).get("regime"),
        "overall_risk": (risk or {}).get("overall_risk"),
    }


def cash_request_facts(proposal: RebalanceProposal) -> list[dict[str, Any]]:
    """The client's withdrawals and deposits as the engine planned them: met or short, from the
    cash already there or from which sales, and the engine's own sentence for each."""
    return [
        {
            "account": r.account,
            "kind": r.kind,
            "amount": _r(r.amount, 2),
            "note": r.note,
            "met": r.met,
            "from_cash": _r(r.from_cash, 2),
            "from_sales": _r(r.raised, 2),
            "sales": list(r.trades),
            "shortfall": _r(r.shortfall, 2),
            "words": r.message,
        }
        for r in proposal.cash_requests
    ]


def plan_facts(
    proposal: RebalanceProposal,
    baseline: RebalanceProposal,
    tilts_requested: dict[str, float],
    market: dict[str, Any] | None,
    risk: dict[str, Any] | None,
) -> dict[str, Any]:
    """The final plan, after the tilts: the only quantities the strategist's words may quote."""
    views = {v["asset_class"]: v["stance"] for v in (market or {}).get("asset_class_views", [])}
    return {
        "task": "plan",
        "profile": str(proposal.profile),
        "tilts_requested": tilts_requested,
        "tilts_applied": proposal.tilts,
        "trades": trade_facts(proposal),
        "turnover": _r(proposal.turnover),
        "total_value": _r(proposal.total_value, 2),
        "cash_after": _r(proposal.cash_after, 2),
        "cash_paid_out": _r(proposal.cash_paid_out, 2),
        "cash_requests": cash_request_facts(proposal),
        "class_weights": {
            k: {
                "current": _r(v.current),
                "target": _r(v.target),
                "after": _r(v.post_trade),
                "band": _r(v.band),
                "status": v.status,
            }
            for k, v in proposal.asset_class_weights.items()
        },
        "baseline": {"trades": len(baseline.trades), "turnover": _r(baseline.turnover)},
        "market_views": views,
        "overall_risk": (risk or {}).get("overall_risk"),
    }


def compliance_facts(proposal: RebalanceProposal) -> dict[str, Any]:
    return {
        "task": "compliance",
        "trades": trade_facts(proposal),
        "checks": [c.model_dump() for c in proposal.checks],
        "mandate": mandate_facts(proposal.mandate),
        "tilts": proposal.tilts,
        "cash_requests": cash_request_facts(proposal),
    }


_INSTEAD_OF = re.compile(r"bought instead of (\S+), sold at a loss")


def tax_facts(proposal: RebalanceProposal) -> dict[str, Any]:
    """The tax side of the plan, from the engine's figures only (approved trades).

    Realised gains count in taxable accounts only (a sale in an IRA, Roth or HSA shows zero);
    sales in tax-advantaged accounts are listed as gains deferred or never taxed; losses sold
    in taxable accounts are the losses harvested; buys made through a partner fund because the
    original was sold at a loss are the wash sales avoided (IRC section 1091).
    """
    types = {a.account: a.type for a in proposal.accounts}
    approved = proposal.approved_trades
    lots_sold = []
    short = long_ = harvested = 0.0
    sheltered: dict[str, float] = {}
    for t in approved:
        if t.action != "SELL":
            continue
        kind = types.get(t.account, "taxable")
        gain = (t.realized_gain or 0.0) if kind == "taxable" else 0.0
        st = (t.short_term_gain or 0.0) if kind == "taxable" else 0.0
        lots_sold.append(
            {
                "id": t.id,
                "account": t.account,
                "account_type": kind,
                "symbol": t.symbol,
                "quantity": _r(t.quantity, 6),
                "value": _r(t.value, 2),
                "realized_gain": _r(gain, 2),
                "short_term_gain": _r(st, 2),
                "long_term_gain": _r(gain - st, 2),
                "forced": t.forced,
                "why": t.reason,
                "wash_loss_disallowed": _r(t.wash_loss_disallowed, 2),
                "lots": [
                    {
                        "acquired": lt.acquired.isoformat() if lt.acquired else None,
                        "quantity": _r(lt.quantity, 6),
                    }
                    for lt in t.lots
                ],
            }
        )
        if kind == "taxable":
            short += st
            long_ += gain - st
            harvested += min(gain, 0.0)
        else:
            sheltered[kind] = sheltered.get(kind, 0.0) + t.value
    wash = [
        {"account": t.account, "bought": t.symbol, "instead_of": m.group(1)}
        for t in approved
        if t.action == "BUY" and (m := _INSTEAD_OF.search(t.reason))
    ]
    located: dict[str, dict[str, float]] = {}
    for t in approved:
        if t.action == "BUY":
            kind = types.get(t.account, "taxable")
            by = located.setdefault(t.asset_class, {})
            by[kind] = round(by.get(kind, 0.0) + t.value, 2)
    return {
        "task": "tax",
        "as_of": proposal.as_of.isoformat(),
        "accounts": [{"account": a.account, "type": a.type} for a in proposal.accounts],
        "lots_sold": lots_sold,
        "realized_short_term": _r(short, 2),
        "realized_long_term": _r(long_, 2),
        "realized_total": _r(proposal.realized_gains, 2),
        "losses_harvested": _r(harvested, 2),
        "sales_in_tax_advantaged": {k: _r(v, 2) for k, v in sorted(sheltered.items())},
        "max_gains": proposal.max_gains,
        "wash_sales_avoided": wash,
        "wash_loss_disallowed": _r(proposal.wash_loss_disallowed, 2),
        # Losses sold against the plan's own gains (the mandate's offset switch), in the
        # engine's words.
        "gains_offset": [c.message for c in proposal.checks if c.rule == "offset_harvest"],
        "location": located,
    }
