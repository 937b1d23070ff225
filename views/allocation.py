"""Allocation: current against target, drift against the bands, positions against the cap,
sectors; and the same after the proposed trades once a proposal exists."""

from __future__ import annotations

import streamlit as st

from portfolio.exposure import sector_weights
from portfolio.post_trade import weights_after
from ui import charts, services, state
from ui.proposal import preview, run_proposal

st.title("Allocation")

proposed = run_proposal()  # a run's proposal survives a reload; loaded holdings do not
if proposed is None and state.holdings() is None:
    st.info("Load a client's holdings on **Client & holdings** first.")
    st.stop()

p = proposed or preview()
if p is None:
    st.warning("No holdings with a value to chart.")
    st.stop()

after_classes = after_symbols = None
if proposed is not None:
    after_classes, after_symbols = weights_after(proposed.positions, proposed.approved_trades)
    st.caption(
        f"After-trade view: the {len(proposed.approved_trades)} trade(s) the compliance "
        "gate approved in the current run."
    )
else:
    st.caption("Run the crew on **Rebalance** to see the after-trade view.")

out = [c for c, w in p.asset_class_weights.items() if w.status != "in_band"]
# "Moderately conservative" is longer than a metric's column: the profile gets more room, and
# its value wraps rather than being cut to "Moderately c…".
st.html(
    "<style>.st-key-alloc_profile [data-testid='stMetricValue'] * "
    "{white-space: normal !important; overflow: visible !important;}</style>"
)
c = st.columns([1, 1, 1, 1.6])
c[0].metric("Portfolio value", f"${p.total_value:,.0f}")
cash_class = p.asset_class_weights.get("cash")  # swept cash and cash-class holdings (SGOV, SWVXX)
c[1].metric("Cash", f"{cash_class.current:.1%}" if cash_class else "—")
c[2].metric("Classes out of band", len(out))
c[3].container(key="alloc_profile").metric("Profile", str(p.profile).replace("_", " ").capitalize())

left, right = st.columns(2)
left.plotly_chart(charts.allocation_bars(p, after_classes), key="bars")
right.plotly_chart(charts.allocation_donuts(p, after_classes), key="donuts")
left, right = st.columns(2)
left.plotly_chart(charts.drift_chart(p, after_classes), key="drift")
right.plotly_chart(charts.position_chart(p, after_symbols), key="positions")
now_symbols: dict[str, float] = {}
for pw in p.positions:
    now_symbols[pw.symbol] = now_symbols.get(pw.symbol, 0.0) + pw.weight
sec = services.securities()
st.plotly_chart(
    charts.sector_chart(
        sector_weights(now_symbols, sec),
        sector_weights(after_symbols, sec) if after_symbols else None,
    ),
    key="sectors",
)
