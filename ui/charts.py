"""Plotly figures an advisor reads at a glance, built from a `RebalanceProposal` (no Streamlit).

Colours are fixed across every chart: current in slate, target in grey, after-trade in teal,
anything out of policy in red.
"""

from __future__ import annotations

from collections.abc import Mapping

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from portfolio.labels import class_label
from portfolio.models import RebalanceProposal

CURRENT = "#4C6A92"
TARGET = "#A7B1BC"
AFTER = "#2A9D8F"
ALERT = "#D1495B"
BAND = "rgba(42,157,143,0.15)"
FONT = dict(family="Inter, Segoe UI, sans-serif", size=13)


CLASS_COLOURS = {
    "us_equity": "#264653",
    "us_small_cap": "#3D6B7D",
    "intl_equity": "#2A9D8F",
    "emerging_equity": "#8AB17D",
    "real_estate": "#B5838D",
    "us_bonds": "#E9C46A",
    "treasuries": "#F4A261",
    "tips": "#E76F51",
    "municipals": "#D4A373",
    "high_yield": "#BC6C25",
    "intl_bonds": "#CCA43B",
    "commodities": "#6D597A",
    "cash": "#A7B1BC",
    "unclassified": "#DDDDDD",
}


def label(cls: str) -> str:
    return class_label(cls, short=True)


def _layout(fig: go.Figure, title: str, height: int = 360) -> go.Figure:
    fig.update_layout(
        title=dict(text=title, x=0, font=dict(size=16)),
        font=FONT,
        height=height,
        margin=dict(l=10, r=10, t=50, b=10),
        legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1),
        plot_bgcolor="white",
        paper_bgcolor="white",
    )
    return fig


def _classes(p: RebalanceProposal) -> list[str]:
    return [
        c
        for c, w in p.asset_class_weights.items()
        if max(w.current, w.target, w.post_trade) > 0.0005
    ]


def allocation_bars(p: RebalanceProposal, after: Mapping[str, float] | None = None) -> go.Figure:
    """Current against target by asset class, and after-trade when given."""
    classes = _classes(p)
    x = [label(c) for c in classes]
    fig = go.Figure()
    fig.add_bar(
        name="Current",
        x=x,
        y=[p.asset_class_weights[c].current for c in classes],
        marker_color=CURRENT,
    )
    fig.add_bar(
        name="Target",
        x=x,
        y=[p.asset_class_weights[c].target for c in classes],
        marker_color=TARGET,
    )
    if after is not None:
        fig.add_bar(
            name="After trades",
            x=x,
            y=[after.get(c, 0.0) for c in classes],
            marker_color=AFTER,
        )
    fig.update_layout(barmode="group")
    fig.update_yaxes(tickformat=".0%", gridcolor="#EEE")
    return _layout(fig, "Asset classes: current vs target")


def allocation_donuts(p: RebalanceProposal, after: Mapping[str, float] | None = None) -> go.Figure:
    """A pair of donuts: today and the target (or after-trade when given)."""
    classes = _classes(p)
    left = {c: max(p.asset_class_weights[c].current, 0.0) for c in classes}
    right = {
        c: max(after.get(c, 0.0), 0.0) if after is not None else p.asset_class_weights[c].target
        for c in classes
    }
    fig = make_subplots(
        rows=1,
        cols=2,
        specs=[[{"type": "domain"}, {"type": "domain"}]],
        subplot_titles=["Today", "After trades" if after is not None else "Target"],
    )
    for col, values, name in ((1, left, "Today"), (2, right, "Target")):
        shown = [c for c in classes if values[c] > 0.0005]
        fig.add_pie(
            labels=[label(c) for c in shown],
            values=[values[c] for c in shown],
            hole=0.55,
            row=1,
            col=col,
            sort=False,
            name=name,
            marker=dict(colors=[CLASS_COLOURS.get(c, "#999") for c in shown]),
            texttemplate=["%{percent:.0%}" if values[c] >= 0.03 else "" for c in shown],
        )
    fig.update_traces(hovertemplate="%{label}: %{percent}<extra></extra>")
    fig = _layout(fig, "Allocation mix", height=420)
    fig.update_layout(legend=dict(orientation="h", yanchor="top", y=-0.02, xanchor="center", x=0.5))
    return fig


def drift_chart(p: RebalanceProposal, after: Mapping[str, float] | None = None) -> go.Figure:
    """Drift from target per class with the tolerance band shaded; out-of-band bars in red."""
    classes = [c for c in _classes(p) if c != "unclassified"]
    y = [label(c) for c in classes]
    fig = go.Figure()
    bands = [p.asset_class_weights[c].band for c in classes]
    fig.add_bar(
        name="Tolerance band",
        y=y,
        x=[2 * b for b in bands],
        base=[-b for b in bands],
        orientation="h",
        marker_color=BAND,
        hoverinfo="skip",
        width=0.8,
    )
    drift = [p.asset_class_weights[c].drift for c in classes]
    colours = [ALERT if abs(d) > b + 1e-9 else CURRENT for d, b in zip(drift, bands, strict=True)]
    fig.add_bar(
        name="Drift today",
        y=y,
        x=drift,
        orientation="h",
        marker_color=colours,
        width=0.35,
        hovertemplate="%{y}: %{x:+.1%}<extra></extra>",
    )
    if after is not None:
        post = [after.get(c, 0.0) - p.asset_class_weights[c].target for c in classes]
        fig.add_scatter(
            name="After trades",
            y=y,
            x=post,
            mode="markers",
            marker=dict(color=AFTER, size=12, symbol="diamond"),
            hovertemplate="%{y}: %{x:+.1%} after trades<extra></extra>",
        )
    fig.update_layout(barmode="overlay")
    fig.update_xaxes(tickformat="+.0%", zeroline=True, zerolinecolor="#888", gridcolor="#EEE")
    return _layout(fig, "Drift against tolerance bands", height=60 + 38 * max(len(y), 3))


def position_chart(
    p: RebalanceProposal, after: Mapping[str, float] | None = None, top: int = 20
) -> go.Figure:
    """Position weights against the single-name cap (funds are exempt and shown muted)."""
    by_symbol: dict[str, tuple[float, bool, bool]] = {}
    for pw in p.positions:
        w, fund, cash = by_symbol.get(pw.symbol, (0.0, pw.is_fund, pw.is_cash))
        by_symbol[pw.symbol] = (w + pw.weight, fund, cash)
    rows = sorted(by_symbol.items(), key=lambda kv: -kv[1][0])[:top]
    cap = p.mandate.single_name_cap
    colours = [
        TARGET if fund or cash else (ALERT if cap is not None and w > cap + 1e-9 else CURRENT)
        for _, (w, fund, cash) in rows
    ]
    fig = go.Figure()
    fig.add_bar(
        name="Today",
        x=[s for s, _ in rows],
        y=[w for _, (w, _, _) in rows],
        marker_color=colours,
        showlegend=False,
    )
    # The bars' colours carry meaning; the legend names them.
    for name, colour in (
        ("Single name", CURRENT),
        ("Above the cap", ALERT),
        ("Fund or cash (exempt)", TARGET),
    ):
        fig.add_scatter(
            x=[None],
            y=[None],
            mode="markers",
            name=name,
            marker=dict(symbol="square", size=12, color=colour),
        )
    if after is not None:
        syms = [s for s, _ in rows] + sorted(set(after) - {s for s, _ in rows})
        fig.add_scatter(
            name="After trades",
            x=syms,
            y=[after.get(s, 0.0) for s in syms],
            mode="markers",
            marker=dict(color=AFTER, size=11, symbol="diamond"),
        )
    if cap is not None:
        # The line is named in the legend: a label on the plot would sit over the bars.
        fig.add_hline(y=cap, line=dict(color=ALERT, dash="dash"))
        fig.add_scatter(
            x=[None],
            y=[None],
            mode="lines",
            name=f"Single-name cap {cap:.0%}",
            line=dict(color=ALERT, dash="dash"),
        )
    fig.update_yaxes(tickformat=".0%", gridcolor="#EEE")
    # Symbols are short but many: a fixed slant keeps twenty of them apart at any width.
    fig.update_xaxes(tickangle=-45, tickfont=dict(size=11), automargin=True)
    fig = _layout(fig, "Positions against the single-name cap (funds in grey are exempt)", 440)
    # The legend would wrap over the title: it goes at the foot of the figure, under the
    # slanted symbols (measured from the figure, not the plot, so the two never meet).
    fig.update_layout(
        legend=dict(
            orientation="h", yref="container", yanchor="bottom", y=0.0, xanchor="center", x=0.5
        ),
        margin=dict(l=10, r=10, t=50, b=90),
    )
    return fig


def sector_chart(
    sectors_now: Mapping[str, float], sectors_after: Mapping[str, float] | None
) -> go.Figure:
    """Sector exposure today and after trades (funds count as 'Diversified' and the like)."""
    names = sorted(
        set(sectors_now) | set(sectors_after or {}), key=lambda s: -sectors_now.get(s, 0.0)
    )
    fig = go.Figure()
    fig.add_bar(
        name="Today",
        y=names,
        x=[sectors_now.get(s, 0.0) for s in names],
        orientation="h",
        marker_color=CURRENT,
    )
    if sectors_after is not None:
        fig.add_bar(
            name="After trades",
            y=names,
            x=[sectors_after.get(s, 0.0) for s in names],
            orientation="h",
            marker_color=AFTER,
        )
    fig.update_layout(barmode="group")
    fig.update_xaxes(tickformat=".0%", gridcolor="#EEE")
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, "Sector exposure", height=80 + 40 * max(len(names), 3))
