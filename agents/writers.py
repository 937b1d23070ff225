"""How the offline analyst writes: each agent's narrative and JSON answer from its FACTS alone.

These are also the deterministic fallbacks when a provider's answer cannot be used. Every figure
quoted comes from the facts; the judgement rules (stance thresholds, risk levels) are stated in
the text so an advisor can see why.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agents.facts import MANDATE_FIELDS
from portfolio.labels import class_label
from portfolio.models import EQUITY_CLASSES
from portfolio.plain_words import check_message, rule_label, status_word

LABELS: dict[str, str] = {
    "us_equity": "US equities",
    "us_small_cap": "US small caps",
    "intl_equity": "international equities",
    "emerging_equity": "emerging-market equities",
    "us_bonds": "US bonds",
    "treasuries": "Treasuries",
    "tips": "TIPS",
    "municipals": "municipal bonds",
    "high_yield": "high-yield bonds",
    "intl_bonds": "international bonds",
    "real_estate": "real estate",
    "commodities": "commodities",
    "cash": "cash",
    "unclassified": "unclassified holdings",
}
EQUITY = EQUITY_CLASSES
STANCE_THRESHOLD = 0.5  # risk-adjusted trend score (12-1 momentum + 3-month return) / volatility
TILT_STEP = 0.02


def label(cls: str) -> str:
    return LABELS.get(cls, cls.replace("_", " "))


def pct(x: float | None, nd: int = 1, sign: bool = False) -> str:
    if x is None:
        return "n/a"
    return f"{x * 100:+.{nd}f}%" if sign else f"{x * 100:.{nd}f}%"


def money(x: float | None) -> str:
    return "n/a" if x is None else f"${x:,.0f}"


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


# ---- risk profiler ------------------------------------------------------------------------------

_FIELD_WORDS = {
    "risk_profile": "risk profile",
    "age": "age",
    "horizon_years": "horizon",
    "income_need": "income need",
    "esg_only": "ESG-only",
    "single_name_cap": "single-name cap",
    "cash_floor": "cash floor",
}


def _fmt_field(name: str, value: Any) -> str:
    if name == "risk_profile":
        return str(value).replace("_", " ")
    if name == "horizon_years":
        return f"{value:g} years"
    if name in ("income_need", "single_name_cap", "cash_floor"):
        return pct(value, 1).replace(".0%", "%")
    if name == "esg_only":
        return "yes" if value else "no"
    return str(value)


def write_profile(f: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    m, ev = f["rule_reading"], f.get("evidence", {})
    read = [
        f'{_FIELD_WORDS[k]} {_fmt_field(k, m[k])} ("{ev[k]}")'
        for k in _FIELD_WORDS
        if k in ev and m.get(k) is not None
    ]
    excl = [
        f'{k.split(":", 1)[1].replace("_", " ")} ("{v}")'
        for k, v in ev.items()
        if k.startswith("exclude:")
    ]
    assumptions: list[str] = []
    if "risk_profile" not in ev:
        assumptions.append("No risk tolerance stated; using the moderate profile.")
    if "horizon_years" not in ev:
        assumptions.append("No time horizon stated.")
    if "income_need" not in ev:
        assumptions.append("No income need stated; assuming none.")
    if "single_name_cap" not in ev:
        assumptions.append("No single-name limit stated; none applied.")
    if "cash_floor" not in ev:
        assumptions.append("No cash reserve stated; no cash floor applied.")
    parts = []
    if read:
        parts.append("From the notes I read " + "; ".join(read) + ".")
    else:
        parts.append("The notes state none of the usual mandate terms I look for.")
    if excl:
        parts.append("Exclusions: " + "; ".join(excl) + ".")
    if m.get("esg_only"):
        parts.append("ESG-only means every exclusion screen applies and only ESG funds are bought.")
    if assumptions:
        parts.append("Where the notes are silent: " + " ".join(assumptions))
    parts.extend(f"Note: {w}" for w in f.get("warnings", []))
    parts.append("The advisor should confirm or correct this mandate before approving trades.")
    answer = {k: m.get(k) for k in MANDATE_FIELDS}
    answer["assumptions"] = assumptions
    return " ".join(parts), answer


# ---- market analyst -----------------------------------------------------------------------------


def stance_for(score: float | None) -> str:
    if score is None:
        return "neutral"
    if score > STANCE_THRESHOLD:
        return "overweight"
    if score < -STANCE_THRESHOLD:
        return "underweight"
    return "neutral"


def _class_line(cls: str, m: dict[str, Any]) -> str:
    return (
        f"{label(cls)} ({m['proxy']}) {pct(m['ret_12m'], sign=True)} over 12 months and "
        f"{pct(m['ret_3m'], sign=True)} over 3, volatility {pct(m['vol'])}, "
        f"{pct(-(m['drawdown_now'] or 0))} below peak"
    )


def write_market(f: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    classes: dict[str, dict[str, Any]] = f.get("asset_classes", {})
    sig = f.get("signals", {})
    regime = sig.get("regime", "neutral")
    src = f.get("data_source", "price history")
    sample = " (synthetic sample data, not live prices)" if f.get("sample_data") else ""
    paras = [
        f"Measured on {src}{sample}, {f.get('history_days', 0)} trading days to {f.get('as_of')}."
    ]
    eq = classes.get("us_equity")
    regime_words = {"risk_on": "risk-on", "risk_off": "risk-off", "neutral": "neutral"}[regime]
    if eq:
        conditions = (
            f"{_cap(regime_words)}: US equities {pct(eq['ret_3m'], sign=True)} over 3 months at "
            f"{pct(eq['vol'])} volatility, {pct(-(eq['drawdown_now'] or 0))} below their high "
            f"after a {pct(-(eq['max_drawdown'] or 0))} maximum drawdown"
        )
    else:
        conditions = f"{_cap(regime_words)} conditions"
    if sig.get("equity_bond_correlation") is not None:
        conditions += f"; equity-bond correlation {sig['equity_bond_correlation']:.2f}"
    paras.append(conditions + ".")
    views = []
    for cls, m in classes.items():
        stance = stance_for(m.get("trend_score"))
        why = (
            f"12-1 momentum {pct(m['momentum_12_1'], sign=True)}, 3-month {pct(m['ret_3m'], sign=True)}, "  # noqa: E501
            f"volatility {pct(m['vol'])}; trend score {m['trend_score']:+.2f}"
            if m.get("trend_score") is not None
            else "not enough history for a trend"
        )
        views.append({"asset_class": cls, "stance": stance, "rationale": why})
    ranked = sorted(
        (c for c in classes if classes[c].get("trend_score") is not None),
        key=lambda c: classes[c]["trend_score"],
        reverse=True,
    )
    if ranked:
        best = ", ".join(_class_line(c, classes[c]) for c in ranked[:2])
        worst = ", ".join(_class_line(c, classes[c]) for c in ranked[-2:][::-1])
        paras.append(f"Strongest trends: {best}. Weakest: {worst}.")
    opportunities = [
        f"{_cap(label(v['asset_class']))}: {v['rationale']}"
        for v in views
        if v["stance"] == "overweight"
    ]
    risks = [
        f"{_cap(label(v['asset_class']))}: {v['rationale']}"
        for v in views
        if v["stance"] == "underweight"
    ]
    hold = f.get("holdings", [])
    if hold:
        hot = max(hold, key=lambda h: h.get("vol") or 0)
        paras.append(
            "Among the holdings, "
            + "; ".join(
                f"{h['symbol']} {pct(h['ret_12m'], sign=True)} over 12 months at {pct(h['vol'])} volatility"  # noqa: E501
                for h in hold[:4]
            )
            + "."
        )
        if (hot.get("vol") or 0) > 0.30:
            risks.append(f"{hot['symbol']} is running at {pct(hot['vol'])} annualised volatility")
        for h in hold:
            if (h.get("momentum_12_1") or 0) > 0.15 and (h.get("weight") or 0) > 0:
                opportunities.append(
                    f"{h['symbol']} shows strong 12-1 momentum ({pct(h['momentum_12_1'], sign=True)})"  # noqa: E501
                )
    corr = sig.get("holdings_avg_correlation")
    if corr is not None and corr > 0.5:
        risks.append(f"Holdings move together: average pairwise correlation {corr:.2f}")
        paras.append(
            f"The holdings' average pairwise correlation is {corr:.2f}, so they offer little diversification."  # noqa: E501
        )
    if f.get("missing_history"):
        risks.append("No price history for " + ", ".join(f["missing_history"]) + "; not measured")
    if f.get("sample_data"):
        risks.append("Figures come from the bundled synthetic sample history, not live markets")
    answer = {
        "market_conditions": conditions,
        "regime": regime,
        "opportunities": opportunities,
        "risks": risks,
        "asset_class_views": views,
    }
    return " ".join(paras), answer


# ---- risk assessor ------------------------------------------------------------------------------


def concentrated(p: dict[str, Any]) -> bool:
    """Single stocks carry the concentration risk; a broad index fund is already diversified."""
    largest = p.get("largest_single_name") or 0
    return largest > 0.15 or (
        (p.get("single_stock_share") or 0) > 0.4 and (p.get("hhi") or 0) > 0.1
    )


def risk_level(f: dict[str, Any]) -> str:
    """HIGH: volatility over 1.5x the model's, concentrated single stocks, a screened holding or
    several cap breaches. ELEVATED: over 1.15x, or one cap breach. LOW: under 0.7x."""
    p, mdl = f["portfolio"], f["model"]
    ratio = (p["volatility"] or 0) / mdl["volatility"] if mdl.get("volatility") else 1.0
    breaches = f.get("single_name_breaches", [])
    if ratio > 1.5 or concentrated(p) or f.get("screen_breaches") or len(breaches) > 1:
        return "HIGH"
    if ratio > 1.15 or breaches:
        return "ELEVATED"
    if ratio < 0.7:
        return "LOW"
    return "MODERATE"


def write_risk(f: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    p, mdl, mandate = f["portfolio"], f["model"], f["mandate"]
    level = risk_level(f)
    profile = str(mdl["profile"]).replace("_", " ")
    factors: list[str] = []
    mitig: list[str] = []
    paras = [
        f"Estimated volatility is {pct(p['volatility'])} a year against {pct(mdl['volatility'])} for "  # noqa: E501
        f"the {profile} model; holding today's weights through the history, the worst fall would "
        f"have been {pct(-(p['max_drawdown'] or 0))} (the model's: {pct(-(mdl['max_drawdown'] or 0))})."  # noqa: E501
    ]
    if (p["volatility"] or 0) > 1.15 * (mdl["volatility"] or 0):
        factors.append(
            f"Volatility {pct(p['volatility'])} vs {pct(mdl['volatility'])} for the {profile} model"
        )
    top = f.get("top_positions", [])
    if top:
        paras.append(
            f"{f['positions']} positions; largest: "
            + ", ".join(
                f"{t['symbol']} {pct(t['weight'])}" + (" (fund)" if t.get("is_fund") else "")
                for t in top[:4]
            )
            + f". Single stocks are {pct(p.get('single_stock_share'))} of the portfolio"
            + (f" (HHI {p['hhi']:.2f})." if concentrated(p) else ".")
        )
    if concentrated(p):
        factors.append(
            f"Concentrated in single stocks: largest {pct(p.get('largest_single_name'))}, "
            f"HHI {p['hhi']:.2f}, about {p['effective_positions']:.0f} effective positions"
        )
        mitig.append("Spread the equity exposure across the model's broad index funds")
    breach_words = [
        f"{b['symbol']} at {pct(b['weight'])} is above the {pct(b['cap'])} single-name cap"
        for b in f.get("single_name_breaches", [])
    ]
    breach_words += [
        f"{s['symbol']} is excluded by the mandate ({', '.join(s['categories'])})"
        for s in f.get("screen_breaches", [])
    ]
    if f.get("esg_ineligible_funds"):
        breach_words.append(
            "funds whose index does not screen every category the mandate excludes: "
            + ", ".join(f["esg_ineligible_funds"])
        )
    if breach_words:
        paras.append("Against the mandate: " + "; ".join(breach_words) + ".")
    sectors = f.get("sector_weights", {})
    big = [
        (s, w)
        for s, w in sectors.items()
        if w and w > 0.30 and s not in ("Diversified", "Fixed Income", "Cash")
    ]
    for s, w in big:
        factors.append(f"{s} is {pct(w)} of the portfolio")
        paras.append(f"{s} makes up {pct(w)} of the portfolio.")
    if big:
        mitig.append("Reduce sector concentration toward the model's diversified sleeves")
    eq_gap = (p.get("equity_share") or 0) - (mdl.get("equity_share") or 0)
    if abs(eq_gap) > 0.05:
        factors.append(
            f"Equities {pct(p['equity_share'])} vs {pct(mdl['equity_share'])} in the {profile} model"  # noqa: E501
        )
        mitig.append(
            "Rebalance to the model's stock/bond split" + (" by adding bonds" if eq_gap > 0 else "")
        )
    factors.extend(_cap(w) for w in breach_words)
    if f.get("single_name_breaches"):
        mitig.append("Trim single names to the mandate's cap")
    if f.get("screen_breaches"):
        mitig.append("Sell holdings the mandate's screens exclude")
    if f.get("esg_ineligible_funds"):
        mitig.append("Switch to funds whose index screens every excluded category")
    need, yld = mandate.get("income_need") or 0, p.get("income_yield") or 0
    if need > 0:
        paras.append(f"Income: the portfolio yields about {pct(yld)} against a {pct(need)} need.")
        if yld < need:
            factors.append(f"Yield {pct(yld)} is below the {pct(need)} income need")
            mitig.append("Add income-producing bonds within the model's bond sleeves")
    corr = p.get("avg_pairwise_correlation")
    if corr is not None and corr > 0.5:
        factors.append(f"Holdings are highly correlated (average {corr:.2f})")
    if (p.get("drawdown_now") or 0) < -0.10:
        factors.append(f"Currently {pct(-p['drawdown_now'])} below its peak")
    if f.get("unknown_symbols"):
        factors.append(
            "Not in the reference data, so not measured or traded: "
            + ", ".join(f["unknown_symbols"])
        )
    if not factors:
        factors.append(f"Risk is in line with the {profile} model")
    if not mitig:
        mitig.append("Keep to the model and rebalance when a class drifts out of its band")
    fit = (
        f"{level.title()} risk for a {profile} mandate"
        + (
            f" with a {mandate['horizon_years']:g}-year horizon"
            if mandate.get("horizon_years")
            else ""
        )
        + "."
    )
    paras.append(f"Overall: {level}. {fit}")
    answer = {
        "overall_risk": level,
        "risk_factors": factors,
        "mitigation_strategies": mitig,
        "mandate_fit": fit,
    }
    return " ".join(paras), answer


# ---- strategist ---------------------------------------------------------------------------------


def choose_tilts(f: dict[str, Any]) -> dict[str, float]:
    """±2 points toward the analyst's two strongest stances, on the model's own sleeves only.

    When risk is already elevated or high, only tilts that lower risk are kept (less equity, more
    bonds), since the engine renormalises and any other tilt would add risk back.
    """
    risky = f.get("overall_risk") in ("ELEVATED", "HIGH")
    scores = f.get("market_scores", {})
    candidates = []
    for cls in f.get("tiltable_classes", []):
        stance = f.get("market_views", {}).get(cls)
        if stance not in ("overweight", "underweight"):
            continue
        delta = TILT_STEP if stance == "overweight" else -TILT_STEP
        adds_risk = (cls in EQUITY) == (delta > 0)
        if risky and adds_risk:
            continue
        candidates.append((abs(scores.get(cls) or 0.0), cls, delta))
    candidates.sort(key=lambda c: (-c[0], c[1]))
    return {cls: delta for _, cls, delta in candidates[:2]}


def write_strategy(f: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    trades = f.get("baseline_trades", [])
    sells = [t for t in trades if t["action"] == "SELL"]
    buys = [t for t in trades if t["action"] == "BUY"]
    profile = str(f.get("profile", "")).replace("_", " ")
    paras = []
    if trades:
        paras.append(
            f"The engine's baseline plan for the {profile} model has {len(trades)} trades, turnover "  # noqa: E501
            f"{pct(f.get('turnover'))}: sells {money(sum(t['value'] for t in sells))}"
            + (
                " (" + ", ".join(f"{t['symbol']} {t['quantity']:g}" for t in sells[:4]) + ")"
                if sells
                else ""
            )
            + f", buys {money(sum(t['value'] for t in buys))}"
            + (
                " (" + ", ".join(f"{t['symbol']} {t['quantity']:g}" for t in buys[:4]) + ")"
                if buys
                else ""
            )
            + "."
        )
    else:
        paras.append(
            f"Every asset class is within its band of the {profile} model, so the engine proposes no trades."  # noqa: E501
        )
    out_of_band = [
        f"{label(c)} {pct(w['current'])} vs target {pct(w['target'])}"
        for c, w in f.get("class_weights", {}).items()
        if w.get("status") != "in_band"
    ]
    if out_of_band:
        paras.append("Out of band: " + "; ".join(out_of_band[:5]) + ".")
    tilts = choose_tilts(f)
    if tilts:
        paras.append(
            "Tactical tilts from the market view: "
            + ", ".join(f"{label(c)} {d * 100:+.0f} points" for c, d in tilts.items())
            + "; the engine re-sizes the trades and the compliance gate checks them."
        )
    elif f.get("overall_risk") in ("ELEVATED", "HIGH"):
        paras.append("No tilts: with risk already elevated the plan sticks to the model's targets.")
    else:
        paras.append("No tilts: no asset class shows a trend strong enough to lean on.")
    rationale = " ".join(paras[1:]) if len(paras) > 1 else paras[0]
    return " ".join(paras), {"tilts": tilts, "rationale": rationale}


def qty(q: float) -> str:
    """A quantity as the ticket shows it: thousands separated, no trailing zeros."""
    return f"{q:,.4f}".rstrip("0").rstrip(".")


PLAN_LISTED = 8  # names listed per side; the rest are counted


def side_totals(trades: list[dict[str, Any]], action: str) -> list[tuple[str, float, float]]:
    """(symbol, quantity, value) per symbol on one side, summed across accounts, largest first."""
    out: dict[str, list[float]] = {}
    for t in trades:
        if t["action"] == action:
            q_v = out.setdefault(t["symbol"], [0.0, 0.0])
            q_v[0] += t["quantity"]
            q_v[1] += t["value"]
    return sorted(((s, q, v) for s, (q, v) in out.items()), key=lambda r: (-r[2], r[0]))


def _side_words(verb: str, rows: list[tuple[str, float, float]]) -> str:
    listed = ", ".join(f"{s} {qty(q)}" for s, q, _ in rows[:PLAN_LISTED])
    more = f" and {len(rows) - PLAN_LISTED} more" if len(rows) > PLAN_LISTED else ""
    return f"{verb} {money(sum(v for *_, v in rows))} ({listed}{more})"


REQUESTS_LISTED = 4  # the client's cash requests told one by one; the rest are counted


def _request_words(requests: list[dict[str, Any]]) -> list[str]:
    """The client's withdrawals and deposits, in the engine's own sentences (met or short)."""
    if not requests:
        return []
    said = [r["words"].rstrip(".") + "." for r in requests[:REQUESTS_LISTED]]
    short = [r for r in requests if not r.get("met")]
    rest = len(requests) - REQUESTS_LISTED
    if rest > 0:
        said.append(
            f"And {rest} more request(s); "
            + (f"{len(short)} of all {len(requests)} are short." if short else "all are met.")
        )
    lead = "The client asked for money to move: " if len(requests) > 1 else "The client asked: "
    return [lead + " ".join(said)]


def write_plan(f: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The final plan in words: what trades (its quantities, after any tilt) and, apart, why."""
    trades = f.get("trades", [])
    profile = str(f.get("profile", "")).replace("_", " ")
    applied = f.get("tilts_applied") or {}
    weights = f.get("class_weights", {})
    paras = []
    if trades:
        sides = [
            _side_words(verb, rows)
            for verb, rows in (
                ("sells", side_totals(trades, "SELL")),
                ("buys", side_totals(trades, "BUY")),
            )
            if rows
        ]
        paras.append(
            f"The plan for the {profile} model has {len(trades)} trades, turnover "
            f"{pct(f.get('turnover'))}: " + "; ".join(sides) + "."
        )
    else:
        paras.append(f"The plan for the {profile} model has no trades.")
    base = f.get("baseline") or {}
    if applied:
        paras.append(
            "These quantities include the tactical tilts ("
            + ", ".join(f"{label(c)} {d * 100:+.0f} points" for c, d in applied.items())
            + f"); without them the engine's plan had {base.get('trades', 0)} trades and "
            f"turnover {pct(base.get('turnover'))}."
        )
    elif f.get("tilts_requested"):
        paras.append("The tilts asked for fell outside the model's sleeves, so none was applied.")
    after_out = [
        label(c)
        for c, w in weights.items()
        if w.get("after") is not None
        and abs(w["after"] - w["target"]) > (w.get("band") or 0) + 1e-9
    ]
    paras += _request_words(f.get("cash_requests") or [])
    if trades:
        paid = f.get("cash_paid_out") or 0.0
        kept = (f.get("cash_after") or 0.0) - paid
        cash = (
            f"cash is {money(f.get('cash_after'))}, of which {money(paid)} is paid out to the "
            f"client, leaving {money(kept)},"
            if paid > 0.005
            else f"cash is {money(f.get('cash_after'))}"
        )
        paras.append(
            f"After the trades {cash} and "
            + (
                "every asset class is within its band."
                if not after_out
                else "still outside its band: " + ", ".join(after_out) + "."
            )
        )
    # The rationale says why, which the narrative above does not.
    out_of_band = [
        f"{label(c)} at {pct(w['current'])} against a {pct(w['target'])} target"
        for c, w in weights.items()
        if w.get("status") != "in_band"
    ]
    why = []
    if out_of_band:
        why.append(
            "Rebalancing because " + "; ".join(out_of_band[:4]) + " are outside their bands."
        )
    elif trades:
        why.append(
            "The asset classes are within their bands; the trades carry out the mandate's rules "
            "(screens, single-name cap, cash floor)."
        )
    else:
        why.append("Every asset class is within its band and the mandate is met.")
    views = f.get("market_views", {})
    if applied:
        why.append(
            "The tilts lean on the market analyst's strongest trends ("
            + ", ".join(f"{label(c)} {views.get(c, 'neutral')}" for c in applied)
            + ")."
        )
    elif f.get("overall_risk") in ("ELEVATED", "HIGH"):
        why.append("No tilt: with risk already elevated the plan keeps to the model's targets.")
    return " ".join(paras), {"rationale": " ".join(why)}


# ---- compliance checker -------------------------------------------------------------------------


def explain_verdict(t: dict[str, Any]) -> str:
    if t["status"] == "VETOED":
        return "Vetoed: " + "; ".join(r.split(" vetoed: ", 1)[-1] for r in t.get("reasons", []))
    return "Approved: passes the screens, the single-name cap, the cash floor and suitability."


def write_compliance(f: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    trades = f.get("trades", [])
    vetoed = [t for t in trades if t["status"] == "VETOED"]
    failing = [c for c in f.get("checks", []) if c["status"] != "pass"]
    if not trades:
        summary = "No trades to check."
    else:
        summary = (
            f"{len(trades) - len(vetoed)} of {len(trades)} trades approved by the compliance gate"
        )
        summary += f"; {len(vetoed)} vetoed." if vetoed else "."
    paras = [summary]
    for t in vetoed:
        paras.append(
            f"{t['id']} {t['action']} {t['quantity']:g} {t['symbol']}: {explain_verdict(t)}."
        )
    for c in failing:
        what = rule_label(c["rule"])
        message = check_message(c["rule"], c["message"]).rstrip(".")
        lead = f"{what} not met" if c["status"] == "fail" else what
        paras.append(f"After the trades, {lead}: {message}.")
    if trades and not failing:
        paras.append("After the approved trades the portfolio passes every mandate check.")
    paras.append("The gate's verdicts are final; the advisor decides whether to execute.")
    explanations = {t["id"]: explain_verdict(t) for t in trades}
    if failing:
        summary += f" {len(failing)} after-trade check(s) need attention: " + ", ".join(
            f"{rule_label(c['rule'])} ({status_word(c['status']).lower()})" for c in failing
        )
        summary += "."
    return " ".join(paras), {"summary": summary, "explanations": explanations}


_TYPE_WORDS = {
    "taxable": "taxable",
    "tax_deferred": "tax-deferred",
    "tax_free": "tax-free",
}


def write_tax(f: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The tax side of the plan in words; every figure is one the engine computed."""
    sold = f.get("lots_sold", [])
    points: list[str] = []
    taxable = [s for s in sold if s["account_type"] == "taxable"]
    sheltered = f.get("sales_in_tax_advantaged", {})
    if not sold:
        summary = "No sale in this plan, so nothing is realised."
    else:
        summary = (
            f"{len(sold)} sale(s): realised gains {money(f.get('realized_total'))} in taxable "
            f"accounts (short-term {money(f.get('realized_short_term'))}, long-term "
            f"{money(f.get('realized_long_term'))})."
        )
    for s in taxable:
        gain = s.get("realized_gain") or 0.0
        kind = "a loss of" if gain < 0 else "a gain of"
        forced = " (required by the mandate)" if s.get("forced") else ""
        lots = s.get("lots") or []
        which = (
            " from the lots bought "
            + ", ".join(
                f"{lt['acquired'] or 'on an unknown date'} ({lt['quantity']:g})" for lt in lots
            )
            if lots
            else ""
        )
        points.append(
            f"{s['id']} sells {s['quantity']:g} {s['symbol']} in {s['account']}{forced}{which}, "
            f"realising {kind} {money(abs(gain))}: {s['why']}."
        )
    for kind, value in sheltered.items():
        words = "deferred" if kind == "tax_deferred" else "never taxed"
        points.append(
            f"Sales of {money(value)} in {_TYPE_WORDS.get(kind, kind)} accounts realise nothing "
            f"now: their gains are {words}."
        )
    if (f.get("wash_loss_disallowed") or 0.0) > 0:
        points.append(
            f"{money(f['wash_loss_disallowed'])} of losses are disallowed by shares bought in the "
            "30 days before (wash-sale rule, IRC section 1091), and counted in the gains above."
        )
    if (f.get("losses_harvested") or 0.0) < 0:
        points.append(f"Losses harvested: {money(abs(f['losses_harvested']))}.")
    points += [f"{text}." for text in f.get("gains_offset", [])]
    for w in f.get("wash_sales_avoided", []):
        points.append(
            f"{w['bought']} is bought in {w['account']} instead of {w['instead_of']}, which is "
            "sold at a loss in this plan (wash-sale rule, IRC section 1091)."
        )
    for cls, by in f.get("location", {}).items():
        where = ", ".join(f"{money(v)} in {_TYPE_WORDS.get(k, k)}" for k, v in by.items())
        points.append(f"{class_label(cls)} bought: {where}.")
    if f.get("max_gains") is not None:
        points.append(f"The household's gains budget is {money(f['max_gains'])}.")
    return " ".join([summary, *points]), {"summary": summary, "points": points}


WRITERS: dict[str, Callable[[dict[str, Any]], tuple[str, dict[str, Any]]]] = {
    "risk_profile": write_profile,
    "market_analysis": write_market,
    "risk_assessment": write_risk,
    "strategy": write_strategy,
    "plan": write_plan,
    "tax": write_tax,
    "compliance": write_compliance,
}


def write_answer(facts: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    task = facts.get("task")
    if task not in WRITERS:
        raise ValueError(f"unknown task {task!r}")
    return WRITERS[task](facts)
