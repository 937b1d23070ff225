"""The allocation charts carry the engine's numbers: right traces, right values, policy breaches
in red, the single-name cap where the mandate puts it."""

from __future__ import annotations

import pytest
from conftest import SAMPLES

from portfolio.engine import rebalance
from portfolio.exposure import sector_weights
from portfolio.importers import read_holdings
from portfolio.models import RebalanceProposal
from portfolio.notes_parser import parse_notes
from portfolio.post_trade import weights_after
from portfolio.securities import SecurityMaster, load_securities
from ui import charts


@pytest.fixture(scope="module")
def sec() -> SecurityMaster:
    return load_securities()


@pytest.fixture(scope="module")
def proposal(sec: SecurityMaster) -> RebalanceProposal:
    """Seed client 001: ESG-only, moderate, 5% single-name cap, NVDA 8% and AAPL 7% today."""
    path = SAMPLES / "seed001_esg_moderate.csv"
    holdings = read_holdings(path.read_bytes(), filename=path.name, securities=sec)
    notes = (SAMPLES / "seed001_notes.txt").read_text(encoding="utf-8")
    mandate = parse_notes(notes, known_symbols=sec.frame.index).mandate
    return rebalance(holdings, mandate, securities=sec)


@pytest.fixture(scope="module")
def after(proposal: RebalanceProposal) -> tuple[dict[str, float], dict[str, float]]:
    return weights_after(proposal.positions, proposal.approved_trades)


def trace(fig, name: str):  # type: ignore[no-untyped-def]
    return next(t for t in fig.data if t.name == name)


def test_the_seed_client_is_out_of_policy(proposal: RebalanceProposal) -> None:
    """The facts the charts below must show, straight from the engine."""
    assert proposal.mandate.single_name_cap == pytest.approx(0.05)
    assert proposal.total_value == pytest.approx(500_000)
    us = proposal.asset_class_weights["us_equity"]
    assert us.current > us.target + us.band
    assert proposal.approved_trades


def test_allocation_bars_current_target_after(proposal: RebalanceProposal, after) -> None:  # type: ignore[no-untyped-def]
    fig = charts.allocation_bars(proposal)
    assert [t.name for t in fig.data] == ["Current", "Target"]
    shown = [
        c
        for c, w in proposal.asset_class_weights.items()
        if max(w.current, w.target, w.post_trade) > 0.0005
    ]
    current, target = trace(fig, "Current"), trace(fig, "Target")
    assert list(current.x) == [charts.label(c) for c in shown]
    assert list(current.y) == [proposal.asset_class_weights[c].current for c in shown]
    assert list(target.y) == [proposal.asset_class_weights[c].target for c in shown]
    assert sum(target.y) == pytest.approx(1.0, abs=1e-6)
    assert "US equity" in current.x and "Cash" in current.x
    assert current.marker.color == charts.CURRENT and target.marker.color == charts.TARGET
    assert fig.layout.barmode == "group"
    assert fig.layout.yaxis.tickformat == ".0%"

    classes, _ = after
    with_after = charts.allocation_bars(proposal, classes)
    post = trace(with_after, "After trades")
    assert list(post.y) == [classes.get(c, 0.0) for c in shown]
    assert post.marker.color == charts.AFTER
    # After the approved trades every class is back near its target.
    for c, y in zip(shown, post.y, strict=True):
        w = proposal.asset_class_weights[c]
        assert abs(y - w.target) <= w.band + 1e-9, c


def test_donuts_today_and_target(proposal: RebalanceProposal, after) -> None:  # type: ignore[no-untyped-def]
    fig = charts.allocation_donuts(proposal)
    today, target = fig.data
    assert (today.type, target.type) == ("pie", "pie")
    assert today.hole == target.hole == 0.55
    w = proposal.asset_class_weights
    assert dict(zip(today.labels, today.values, strict=True))["US equity"] == pytest.approx(
        w["us_equity"].current
    )
    assert dict(zip(target.labels, target.values, strict=True))["US equity"] == pytest.approx(
        w["us_equity"].target
    )
    # Slices under 3% carry no label, so small classes do not clutter the ring.
    for values, labels in ((today.values, today.texttemplate),):
        for v, t in zip(values, labels, strict=True):
            assert (t == "") == (v < 0.03)
    assert [a.text for a in fig.layout.annotations] == ["Today", "Target"]
    classes, _ = after
    assert [a.text for a in charts.allocation_donuts(proposal, classes).layout.annotations] == [
        "Today",
        "After trades",
    ]


def test_drift_bands_shaded_and_out_of_band_in_red(proposal: RebalanceProposal, after) -> None:  # type: ignore[no-untyped-def]
    fig = charts.drift_chart(proposal)
    band, drift = trace(fig, "Tolerance band"), trace(fig, "Drift today")
    labels = list(drift.y)
    by_label = {charts.label(c): w for c, w in proposal.asset_class_weights.items()}
    for i, name in enumerate(labels):
        w = by_label[name]
        assert band.base[i] == pytest.approx(-w.band)
        assert band.x[i] == pytest.approx(2 * w.band)
        assert drift.x[i] == pytest.approx(w.drift)
        out = abs(w.drift) > w.band + 1e-9
        assert drift.marker.color[i] == (charts.ALERT if out else charts.CURRENT), name
        assert (w.status != "in_band") == out, name
    assert drift.marker.color[labels.index("US equity")] == charts.ALERT
    assert band.marker.color == charts.BAND
    assert fig.layout.barmode == "overlay"

    classes, _ = after
    post = trace(charts.drift_chart(proposal, classes), "After trades")
    assert post.mode == "markers"
    for name, x in zip(post.y, post.x, strict=True):
        assert abs(x) <= by_label[name].band + 1e-9, name


def test_positions_against_the_cap(proposal: RebalanceProposal, after) -> None:  # type: ignore[no-untyped-def]
    fig = charts.position_chart(proposal)
    bars = trace(fig, "Today")
    colour = dict(zip(bars.x, bars.marker.color, strict=True))
    weight = dict(zip(bars.x, bars.y, strict=True))
    assert weight["NVDA"] == pytest.approx(0.08) and weight["AAPL"] == pytest.approx(0.07)
    assert colour["NVDA"] == colour["AAPL"] == charts.ALERT  # above the 5% cap
    assert weight["MSFT"] == pytest.approx(0.05) and colour["MSFT"] == charts.CURRENT  # at it
    assert colour["VT"] == charts.TARGET  # a fund: exempt, muted
    assert list(bars.y) == sorted(bars.y, reverse=True)
    (cap,) = fig.layout.shapes
    assert cap.y0 == cap.y1 == pytest.approx(0.05)
    assert cap.line.color == charts.ALERT and cap.line.dash == "dash"
    # Named in the legend, not written over the bars.
    assert not fig.layout.annotations
    assert trace(fig, "Single-name cap 5%").line.dash == "dash"
    assert fig.layout.xaxis.tickangle == -45

    _, symbols = after
    post = trace(charts.position_chart(proposal, symbols), "After trades")
    got = dict(zip(post.x, post.y, strict=True))
    for s in ("NVDA", "AAPL", "MSFT"):
        assert got[s] <= 0.05 + 1e-9, s
    assert set(symbols) <= set(post.x)


def test_no_cap_line_without_a_cap(proposal: RebalanceProposal) -> None:
    uncapped = proposal.model_copy(
        update={"mandate": proposal.mandate.model_copy(update={"single_name_cap": None})}
    )
    fig = charts.position_chart(uncapped)
    assert not fig.layout.shapes
    assert charts.ALERT not in trace(fig, "Today").marker.color


def test_sector_exposure(proposal: RebalanceProposal, after, sec: SecurityMaster) -> None:  # type: ignore[no-untyped-def]
    now: dict[str, float] = {}
    for p in proposal.positions:
        now[p.symbol] = now.get(p.symbol, 0.0) + p.weight
    sectors_now = sector_weights(now, sec)
    _, symbols = after
    sectors_after = sector_weights(symbols, sec)
    fig = charts.sector_chart(sectors_now, sectors_after)
    today, post = trace(fig, "Today"), trace(fig, "After trades")
    assert set(today.y) == set(sectors_now) | set(sectors_after)
    assert dict(zip(today.y, today.x, strict=True)) == pytest.approx(
        {s: sectors_now.get(s, 0.0) for s in today.y}
    )
    assert dict(zip(post.y, post.x, strict=True)) == pytest.approx(
        {s: sectors_after.get(s, 0.0) for s in post.y}
    )
    assert today.x[0] == max(today.x)  # largest exposure on top
    assert fig.layout.yaxis.autorange == "reversed"
    assert sum(today.x) == pytest.approx(sum(sectors_now.values()))
    assert [t.name for t in charts.sector_chart(sectors_now, None).data] == ["Today"]


def test_every_figure_serialises_for_the_browser(proposal: RebalanceProposal, after) -> None:  # type: ignore[no-untyped-def]
    classes, symbols = after
    for fig in (
        charts.allocation_bars(proposal, classes),
        charts.allocation_donuts(proposal, classes),
        charts.drift_chart(proposal, classes),
        charts.position_chart(proposal, symbols),
    ):
        assert fig.to_json()
        assert fig.layout.title.text
