"""Each agent's structured result, drawn for an advisor: short text and tables, raw JSON a click
away. Unknown agents and keys fall back to a generic view, so a new field is never hidden."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from portfolio.labels import class_label
from portfolio.plain_words import check_message, rule_label, status_word

MANDATE_LABELS = {
    "risk_profile": "Risk profile",
    "age": "Age",
    "horizon_years": "Horizon (years)",
    "income_need": "Income need",
    "esg_only": "ESG-only",
    "excluded_categories": "Excluded categories",
    "excluded_symbols": "Excluded symbols",
    "single_name_cap": "Single-name cap",
    "cash_floor": "Cash floor",
    "band_abs": "Band, absolute",
    "band_rel": "Band, relative",
    "min_trade_value": "Minimum trade",
    "fractional": "Fractional shares",
    "tax_aware": "Tax-aware",
    "offset_gains": "Offset gains with harvested losses",
}
PERCENT_FIELDS = {"income_need", "single_name_cap", "cash_floor", "band_abs", "band_rel"}


def _fmt(key: str, v: Any) -> str:
    if v is None or v == []:
        return "—"
    if key in PERCENT_FIELDS and isinstance(v, int | float):
        return f"{v:.1%}"
    if key == "min_trade_value" and isinstance(v, int | float):
        return f"${v:,.0f}"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, list):
        return ", ".join(str(x).replace("_", " ") for x in v)
    return str(v).replace("_", " ")


def _table(rows: list[dict[str, Any]], **config: Any) -> None:
    if rows:
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", **config)


def _bullets(title: str, items: list[Any] | None) -> None:
    if items:
        st.markdown(f"**{title}**\n" + "\n".join(f"- {x}" for x in items))


def profiler(r: dict[str, Any]) -> None:
    mandate = r.get("mandate") or {}
    evidence = r.get("evidence") or {}
    rows = [
        {"Field": MANDATE_LABELS[k], "Value": _fmt(k, v)}
        | ({"From the notes": evidence.get(k, "")} if evidence else {})
        for k, v in mandate.items()
        if k in MANDATE_LABELS
    ]
    # The narrative says what matters; the field-by-field table is there when asked for, so it
    # does not push the agents still at work out of view.
    with st.expander(f"The mandate, field by field ({len(rows)} fields)"):
        _table(rows)
    _bullets("Assumptions", r.get("assumptions"))


def market(r: dict[str, Any]) -> None:
    if r.get("market_conditions"):
        st.markdown(f"**Conditions.** {r['market_conditions']}")
    c1, c2 = st.columns(2)
    with c1:
        _bullets("Opportunities", r.get("opportunities"))
    with c2:
        _bullets("Risks", r.get("risks"))
    views = r.get("asset_class_views") or []
    _table(
        [
            {
                "Asset class": class_label(str(v.get("asset_class", ""))),
                "View": v.get("stance", ""),
                "Why": v.get("rationale", ""),
            }
            for v in views
            if isinstance(v, dict)
        ]
    )
    source = r.get("data_source")
    if source:
        sample = " (sample data, not live prices)" if r.get("sample_data") else ""
        st.caption(f"Data: {source}{sample}, as of {r.get('as_of', '—')}.")


def risk(r: dict[str, Any]) -> None:
    m = r.get("metrics") or {}
    c = st.columns(4)
    c[0].metric("Overall risk", str(r.get("overall_risk", "—")))
    if "volatility" in m:
        c[1].metric("Volatility", f"{m['volatility']:.1%}")
    if "max_drawdown" in m:
        c[2].metric("Worst drawdown", f"{m['max_drawdown']:.1%}")
    if "hhi" in m:
        c[3].metric("Concentration (HHI)", f"{m['hhi']:.2f}")
    c1, c2 = st.columns(2)
    with c1:
        _bullets("Risk factors", r.get("risk_factors"))
    with c2:
        _bullets("Mitigations", r.get("mitigation_strategies"))
    if r.get("mandate_fit"):
        st.markdown(f"**Fit with the mandate.** {r['mandate_fit']}")


def strategist(r: dict[str, Any]) -> None:
    # Each tilt the strategist proposed and the evaluator's verdict on the engine's plan.
    _table(
        [
            {
                "Round": x.get("round"),
                "Tilts": ", ".join(
                    f"{class_label(k)} {v * 100:+.1f} pts"
                    for k, v in (x.get("tilts") or {}).items()
                )
                or "none",
                "Clears the bar": "yes" if x.get("cleared") else "no",
                "Verdict": x.get("verdict"),
            }
            for x in r.get("rounds") or []
        ]
    )
    _table(
        [
            {
                "#": t.get("id"),
                "Side": t.get("action"),
                "Symbol": t.get("symbol"),
                "Quantity": t.get("quantity"),
                "Order": t.get("order_type"),
                "Est. value": t.get("est_value"),
                "Compliance": t.get("compliance"),
                "Reason": t.get("reason"),
            }
            for t in r.get("trades") or []
        ],
        column_config={"Est. value": st.column_config.NumberColumn(format="dollar")},
    )
    applied = r.get("tilts_applied") or {}
    if applied:
        st.markdown(
            "**Tilts applied** (points of target weight): "
            + ", ".join(f"{class_label(k)} {v * 100:+.1f}" for k, v in applied.items())
        )
    if r.get("rationale"):
        st.markdown(f"**Rationale.** {r['rationale']}")
    if "turnover" in r:
        paid = r.get("cash_paid_out") or 0.0
        after = r.get("cash_after", 0) or 0.0
        cash = (
            f"cash after ${after:,.0f}, ${paid:,.0f} of it paid out to the client "
            f"(${after - paid:,.0f} kept)"
            if paid > 0.005
            else f"cash after ${after:,.0f}"
        )
        st.caption(f"Turnover {r['turnover']:.1%} · {cash}")


def tax(r: dict[str, Any]) -> None:
    """The tax agent's answer: its summary, and the engine's lots sold by account type."""
    if r.get("summary"):
        st.markdown(r["summary"])
    f = r.get("facts") or {}
    _table(
        [
            {
                "#": s.get("id"),
                "Sale": f"{s.get('quantity')} {s.get('symbol')}",
                "Account": s.get("account"),
                "Type": str(s.get("account_type", "")).replace("_", "-"),
                "Gain": s.get("realized_gain"),
                "Short-term": s.get("short_term_gain"),
            }
            for s in f.get("lots_sold") or []
        ]
    )
    _bullets("Points", r.get("points"))


def compliance(r: dict[str, Any]) -> None:
    if r.get("summary"):
        st.markdown(f"**{r.get('status', '')}.** {r['summary']}")
    _table(
        [
            {
                "#": v.get("trade_id"),
                "Trade": f"{v.get('action')} {v.get('symbol')}",
                "Verdict": v.get("status"),
                "Why": v.get("explanation") or "; ".join(v.get("reasons") or []),
            }
            for v in r.get("verdicts") or []
        ]
    )
    _table(
        [
            {
                "Check": rule_label(c.get("rule", "")),
                "Status": status_word(c.get("status", "")),
                "Detail": check_message(c.get("rule", ""), c.get("message", "")),
            }
            for c in r.get("checks") or []
        ]
    )


def generic(r: dict[str, Any]) -> None:
    for key, value in r.items():
        if value in (None, "", [], {}):
            continue
        st.markdown(f"**{key.replace('_', ' ').capitalize()}**")
        if isinstance(value, list) and value and all(isinstance(x, dict) for x in value):
            _table(value)
        elif isinstance(value, list):
            _bullets("", value)
        else:
            st.write(value)


RENDERERS: dict[str, Callable[[dict[str, Any]], None]] = {
    "risk_profiler": profiler,
    "market_analyst": market,
    "risk_assessor": risk,
    "strategist": strategist,
    "tax_agent": tax,
    "compliance_checker": compliance,
}


def render(agent: str, result: dict[str, Any]) -> None:
    try:
        RENDERERS.get(agent, generic)(result)
    except (KeyError, TypeError, ValueError, AttributeError):  # an unexpected shape
        generic(result)
