"""The rebalance engine, rule by rule, on hand-built books with figures worked out by hand."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from datetime import date

import pytest

from portfolio.engine import rebalance
from portfolio.models import (
    EQUITY_CLASSES,
    ClientMandate,
    Holdings,
    Lot,
    Position,
    RebalanceProposal,
    Trade,
)
from portfolio.securities import load_securities
from portfolio.targets import band_width

REF = load_securities()
AS_OF = date(2025, 6, 30)

# The moderate model (data/models.csv) by its plain vehicles.
MODERATE = {
    "VTI": 0.32,
    "VB": 0.04,
    "VEA": 0.18,
    "VWO": 0.06,
    "BND": 0.19,
    "GOVT": 0.03,
    "SCHP": 0.04,
    "BNDX": 0.11,
}


def px(symbol: str) -> float:
    price = REF.price(symbol)
    assert price is not None
    return price


def pos(
    symbol: str,
    quantity: float,
    *,
    account: str = "A",
    price: float | None = None,
    cash: bool = False,
    asset_class: str = "unclassified",
    lots: Iterable[Lot] = (),
) -> Position:
    p = 1.0 if cash and price is None else (price if price is not None else px(symbol))
    return Position(
        account=account,
        symbol=symbol,
        quantity=quantity,
        price=p,
        market_value=round(quantity * p, 2),
        is_cash=cash,
        asset_class=asset_class,
        lots=list(lots),
    )


def book(*positions: Position) -> Holdings:
    return Holdings(positions=list(positions))


def balanced(account: str = "A", size: float = 100_000.0) -> list[Position]:
    """A moderate book at its model weights (whole shares) with 3% in a money-market fund."""
    out = [pos(s, round(w * size / px(s)), account=account) for s, w in MODERATE.items()]
    return [*out, pos("SPAXX", 0.03 * size, account=account, cash=True)]


def trades(p: RebalanceProposal, action: str | None = None, symbol: str | None = None) -> list:
    return [
        t
        for t in p.trades
        if (action is None or t.action == action) and (symbol is None or t.symbol == symbol)
    ]


def after_by_account(p: RebalanceProposal) -> dict[str, dict[str, float]]:
    """Value per (account, symbol) after the approved trades, worked out from the proposal alone;
    cash is pooled per account under the key 'cash'."""
    out: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for q in p.positions:
        out[q.account]["cash" if q.is_cash else q.symbol] += q.value
    for t in p.approved_trades:
        sign = 1 if t.action == "BUY" else -1
        out[t.account][t.symbol] += sign * t.value
        out[t.account]["cash"] -= sign * t.value
    return out


def class_of(symbol: str) -> str:
    return "cash" if symbol == "cash" else (REF.asset_class(symbol) or "unclassified")


def class_weights_after(p: RebalanceProposal, account: str) -> dict[str, float]:
    vals = after_by_account(p)[account]
    total = sum(vals.values())
    out: dict[str, float] = defaultdict(float)
    for s, v in vals.items():
        out[class_of(s)] += v / total
    return out


# -------------------------------------------------------------------------------------------
# The seed clients
# -------------------------------------------------------------------------------------------


def four_tech() -> Holdings:
    return book(
        pos("AAPL", 121.8502, price=205.17),
        pos("GOOGL", 141.8601, price=176.23),
        pos("MSFT", 50.2603, price=497.41),
        pos("AMZN", 113.9523, price=219.39),
    )


def esg_client() -> Holdings:
    return book(
        pos("VT", 2707.3020, price=129.28),
        pos("NVDA", 253.1806, price=157.99),
        pos("AAPL", 170.5902, price=205.17),
        pos("MSFT", 50.2603, price=497.41),
        pos("SWVXX", 50_000, cash=True),
    )


def test_four_tech_client_is_diversified_into_every_sleeve() -> None:
    p = rebalance(four_tech(), ClientMandate())
    assert p.total_value == pytest.approx(100_000.0, abs=0.05)
    assert p.cash_value == 0.0
    sells = {t.symbol: t for t in trades(p, "SELL")}
    assert set(sells) == {"AAPL", "GOOGL", "MSFT", "AMZN"}
    # US equity must fall from 100% to its 32% target: 68% of each name, rounded to a share.
    assert sells["AAPL"].quantity == 83
    assert sells["AAPL"].value == pytest.approx(83 * 205.17, abs=0.005)
    for t in sells.values():
        assert t.quantity == round(0.68 * 25_000 / t.price)
        assert "above its 32.0% target" in t.reason
    buys = {t.symbol: t for t in trades(p, "BUY")}
    assert set(buys) == {"VB", "VEA", "VWO", "BND", "GOVT", "SCHP", "BNDX"}
    # 18% of $100,000 at $56.97 is 315.95 shares: 315 whole ones, then the cash that whole-share
    # rounding left behind buys one more of the buys furthest from their aim.
    assert buys["VEA"].quantity == 316
    assert all(t.compliance.status == "APPROVED" for t in p.trades)
    cw = p.asset_class_weights
    assert cw["us_equity"].current == pytest.approx(1.0)
    assert cw["us_equity"].status == "over"
    for cls, w in cw.items():
        assert abs(w.post_trade - w.target) <= w.band, cls
    assert sum(p.post_trade_weights.values()) == pytest.approx(1.0, abs=1e-9)
    assert p.cash_after == pytest.approx(100_000 * 0.03, abs=300)  # the model's 3% cash sleeve


def test_esg_client_trims_caps_and_buys_only_esg_vehicles() -> None:
    mandate = ClientMandate(esg_only=True, single_name_cap=0.05, income_need=0.03)
    p = rebalance(esg_client(), mandate)
    assert p.total_value == pytest.approx(500_000.0, abs=0.05)
    # SWVXX is a purchased money-market fund, not swept cash: a holding of the cash class that
    # the plan sells by an order when it needs the money.
    assert p.cash_value == 0.0
    assert p.asset_class_weights["cash"].current == pytest.approx(0.10)
    (swvxx,) = trades(p, "SELL", "SWVXX")
    assert "not swept cash" in swvxx.reason
    nvda = trades(p, "SELL", "NVDA")[0]
    # $40,000 down to the 5% cap of $25,000: ceil(15,000 / 157.99) = 95 shares.
    assert nvda.quantity == 95
    assert nvda.value == pytest.approx(15_009.05)
    assert nvda.reason == "Trim to the 5.0% single-name cap (was 8.0% of the portfolio)"
    aapl = trades(p, "SELL", "AAPL")[0]
    assert aapl.quantity == math.ceil(10_000 / 205.17)
    assert not trades(p, "SELL", "MSFT")  # exactly at the cap: nothing to trim
    for t in trades(p, "BUY"):
        assert REF.is_esg_fund(t.symbol) or class_of(t.symbol) in {"treasuries", "tips"}, t.symbol
    after = after_by_account(p)["A"]
    total = sum(after.values())
    for s in ("NVDA", "AAPL", "MSFT"):
        assert after[s] <= 0.05 * total + 0.01
    rules = {c.rule: c for c in p.checks}
    assert rules["single_name_cap"].status == "pass"
    assert rules["income"].status in {"pass", "warn"}
    assert rules["esg_funds"].status == "warn" and "VT" in rules["esg_funds"].message
    # No ESG vehicle exists for international bonds: its weight moves to US bonds, and says so.
    # The 3% income need then leans US bonds up by at most 90% of their 5-point band.
    lean = p.income_lean.get("us_bonds", 0.0)
    assert 0.0 < lean <= 0.9 * 0.05 + 1e-9
    assert p.asset_class_weights["us_bonds"].target == pytest.approx(0.30 + lean)
    assert any("intl bonds" in c.message for c in p.checks if c.rule == "engine_note")


# -------------------------------------------------------------------------------------------
# Exclusions
# -------------------------------------------------------------------------------------------


def test_esg_mandate_sells_all_tobacco_with_the_reason() -> None:
    p = rebalance(book(*balanced(), pos("MO", 100)), ClientMandate(esg_only=True))
    (mo,) = trades(p, symbol="MO")
    assert mo.action == "SELL" and mo.quantity == 100
    assert mo.value == pytest.approx(5_863.0)
    assert mo.reason == "Sell all: tobacco is excluded by the ESG mandate"
    assert "MO" not in p.post_trade_weights
    assert {c.rule: c.status for c in p.checks}["exclusion"] == "pass"


def test_explicit_category_and_symbol_exclusions() -> None:
    mandate = ClientMandate(excluded_categories=["weapons"], excluded_symbols=["aapl"])
    p = rebalance(book(*balanced(), pos("LMT", 20), pos("AAPL", 30), pos("XOM", 10)), mandate)
    (lmt,) = trades(p, symbol="LMT")
    assert (lmt.action, lmt.quantity) == ("SELL", 20)
    assert lmt.reason == "Sell all: weapons is excluded by the client's exclusions"
    (aapl,) = trades(p, symbol="AAPL")
    assert (aapl.action, aapl.quantity) == ("SELL", 30)
    assert aapl.reason == "Sell all: AAPL is on the client's exclusion list"
    # Fossil fuels are not screened by this mandate: XOM is only touched for the band, if at all.
    assert all("excluded" not in t.reason for t in trades(p, symbol="XOM"))


def test_excluded_vehicle_is_never_bought() -> None:
    mandate = ClientMandate(excluded_symbols=["VTI", "BND"])
    p = rebalance(book(pos("SPAXX", 100_000, cash=True)), mandate)
    bought = {t.symbol for t in trades(p, "BUY")}
    assert not bought & {"VTI", "BND"}
    assert {"ESGV", "VCEB"} <= bought  # the sleeve's other vehicle stands in


def test_held_excluded_fund_is_not_used_to_buy_its_class() -> None:
    mandate = ClientMandate(excluded_categories=["fossil_fuels"])
    p = rebalance(book(pos("XLE", 10), pos("SPAXX", 100_000, cash=True)), mandate)
    assert [t.action for t in trades(p, symbol="XLE")] == ["SELL"]
    # VTI's index keeps oil and gas producers, so the sleeve is bought through ESGV, which
    # screens fossil fuels (data/fund_screens.csv); the gate approves every buy.
    assert {t.symbol for t in trades(p, "BUY") if t.asset_class == "us_equity"} == {"ESGV"}
    assert not p.vetoed_trades


def test_excluded_holding_is_closed_out_even_below_the_minimum_trade() -> None:
    mandate = ClientMandate(excluded_symbols=["F"], min_trade_value=100)
    p = rebalance(book(*balanced(), pos("F", 5)), mandate)  # 5 x $10.85 = $54.25
    (sale,) = trades(p, symbol="F")
    assert (sale.action, sale.quantity, sale.value) == ("SELL", 5, 54.25)
    assert sale.compliance.status == "APPROVED"
    assert {c.rule: c.status for c in p.checks}["exclusion"] == "pass"


def test_a_cap_trim_below_the_minimum_trade_is_reported_not_made() -> None:
    mandate = ClientMandate(single_name_cap=0.05, min_trade_value=5_000)
    p = rebalance(book(*balanced(), pos("NVDA", 36)), mandate)  # $5,688: a little above 5%
    assert not trades(p, "SELL", "NVDA")
    notes = [c.message for c in p.checks if c.rule == "engine_note"]
    assert any("NVDA in A" in m and "minimum trade" in m for m in notes)


# -------------------------------------------------------------------------------------------
# Caps, bands, cash
# -------------------------------------------------------------------------------------------


def test_single_name_cap_trims_stocks_but_not_funds() -> None:
    holdings = book(
        pos("VTI", 200),  # $60,786: a fund far above any single-name cap
        pos("NVDA", 60),  # $9,479.40
        pos("BND", 300),
        pos("SPAXX", 2_000, cash=True),
    )
    p = rebalance(holdings, ClientMandate(single_name_cap=0.05, band_abs=1.0, band_rel=10))
    total = p.total_value
    (nvda,) = trades(p, symbol="NVDA")
    assert nvda.quantity == math.ceil((60 * 157.99 - 0.05 * total) / 157.99)
    assert nvda.reason.startswith("Trim to the 5.0% single-name cap")
    assert not trades(p, symbol="VTI")  # bands this wide trigger nothing else
    assert after_by_account(p)["A"]["NVDA"] <= 0.05 * total


def test_in_band_book_makes_no_trades() -> None:
    p = rebalance(book(*balanced()), ClientMandate())
    assert p.trades == []
    assert p.turnover == 0.0
    assert all(w.status == "in_band" for w in p.asset_class_weights.values())
    assert p.cash_after == p.cash_value


def test_small_drift_inside_band_is_left_alone_but_outside_is_fixed() -> None:
    # 5/25 rule: emerging markets' band is min(5%, 25% x 6%) = 1.5 points.
    inside = [q for q in balanced() if q.symbol != "VWO"] + [pos("VWO", round(0.07e5 / 49.5))]
    p = rebalance(book(*inside), ClientMandate())
    assert not trades(p, symbol="VWO")
    outside = [q for q in balanced() if q.symbol != "VWO"] + [pos("VWO", round(0.12e5 / 49.5))]
    p = rebalance(book(*outside), ClientMandate())
    (vwo,) = trades(p, symbol="VWO")
    assert vwo.action == "SELL"
    assert "above its 6.0% target by more than the ±1.5% band" in vwo.reason
    assert abs(class_weights_after(p, "A")["emerging_equity"] - 0.06) < 0.015
    assert band_width(0.06, ClientMandate()) == pytest.approx(0.015)
    assert band_width(0.0, ClientMandate()) == pytest.approx(0.05)


def test_cash_floor_is_raised_by_sales_and_never_breached() -> None:
    holdings = book(pos("VTI", 100), pos("BND", 200))  # no cash at all
    mandate = ClientMandate(cash_floor=0.10, risk_profile="aggressive")
    p = rebalance(holdings, mandate)
    assert p.cash_value == 0.0
    assert p.cash_after >= 0.10 * p.total_value
    sells = sum(t.value for t in trades(p, "SELL"))
    buys = sum(t.value for t in trades(p, "BUY"))
    assert buys <= sells - 0.10 * p.total_value + 0.01  # sells fund the buys and the floor
    assert p.asset_class_weights["cash"].target == pytest.approx(0.10)


def test_buys_never_spend_cash_below_zero() -> None:
    p = rebalance(
        book(pos("SPAXX", 1_000, cash=True), pos("ZZZZ", 100, price=50.0)), ClientMandate()
    )
    spent = sum(t.value for t in trades(p, "BUY"))
    assert spent <= 1_000
    assert p.cash_after >= 0


def test_whole_shares_by_default_and_fractional_on_request() -> None:
    cash = book(pos("SPAXX", 10_000, cash=True))
    whole = rebalance(cash, ClientMandate())
    assert whole.trades and all(t.quantity == int(t.quantity) for t in whole.trades)
    assert trades(whole, "BUY", "VTI")[0].quantity == 10  # floor(3,200 / 303.93)
    frac = rebalance(cash, ClientMandate(fractional=True))
    spent = {t.symbol: t.value for t in trades(frac, "BUY")}
    # Fractional shares hit each sleeve's dollar target to the cent.
    for sym, w in MODERATE.items():
        assert spent[sym] == pytest.approx(w * 10_000, abs=0.01), sym
    assert frac.cash_after == pytest.approx(300.0, abs=0.05)
    assert any(t.quantity != int(t.quantity) for t in frac.trades)


def test_no_trade_below_the_minimum_value() -> None:
    p = rebalance(book(pos("SPAXX", 10_000, cash=True)), ClientMandate(min_trade_value=1_000))
    assert p.trades
    assert all(t.value >= 1_000 for t in p.trades)
    # Small-cap (4%) and emerging (6%) sleeves of a $10,000 account are below $1,000.
    assert not trades(p, symbol="VB") and not trades(p, symbol="VWO")


def test_prefers_the_fund_already_held_in_a_class() -> None:
    holdings = book(pos("ITOT", 10), pos("SCHZ", 10), pos("SPAXX", 100_000, cash=True))
    p = rebalance(holdings, ClientMandate())
    bought = {t.symbol for t in trades(p, "BUY")}
    assert {"ITOT", "SCHZ"} <= bought
    assert not bought & {"VTI", "BND"}


def test_esg_mandate_does_not_buy_more_of_a_plain_fund_it_holds() -> None:
    holdings = book(pos("VTI", 10), pos("SPAXX", 100_000, cash=True))
    p = rebalance(holdings, ClientMandate(esg_only=True))
    us = [t for t in trades(p, "BUY") if t.asset_class == "us_equity"]
    assert [t.symbol for t in us] == ["ESGV"]


# -------------------------------------------------------------------------------------------
# Tax lots
# -------------------------------------------------------------------------------------------

MSFT = 497.41


def msft_lots() -> list[Lot]:
    return [
        Lot(quantity=50, cost_basis=50 * 100.0, acquired=date(2020, 1, 2)),  # long-term
        Lot(quantity=50, cost_basis=50 * 300.0, acquired=date(2025, 3, 3)),  # short-term gain
        Lot(quantity=50, cost_basis=50 * 450.0, acquired=date(2022, 1, 3)),  # long-term
    ]


def test_tax_aware_sells_long_term_lots_first_and_short_term_gains_only_to_reach_the_band() -> None:
    lots = [
        Lot(quantity=40, cost_basis=40 * 100.0, acquired=date(2020, 1, 2)),  # long-term
        Lot(quantity=60, cost_basis=60 * 300.0, acquired=date(2025, 3, 3)),  # short-term gain
        Lot(quantity=50, cost_basis=50 * 450.0, acquired=date(2022, 1, 3)),  # long-term
    ]
    holdings = book(pos("MSFT", 150, lots=lots), pos("SPAXX", 1_000, cash=True))
    p = rebalance(holdings, ClientMandate(), as_of=AS_OF)
    (sale,) = trades(p, "SELL", "MSFT")
    # A sale at a gain stops inside the band: US equity at its 32% target plus 90% of its 5-point
    # band is $27,598 of the $75,611.50 book, so 95 of the 150 shares are to go (101 to target).
    # The 90 long-term shares go first; without 5 of the short-term ones the class would stay
    # out of its band, so those 5 are sold too, and no more.
    assert sale.quantity == 95
    short = 5 * (MSFT - 300)
    long_ = 50 * (MSFT - 450) + 40 * (MSFT - 100)
    assert sale.short_term_gain == pytest.approx(short, abs=0.01)
    assert sale.realized_gain == pytest.approx(long_ + short, abs=0.01)
    assert p.realized_gains == pytest.approx(sale.realized_gain, abs=0.01)
    us = p.asset_class_weights["us_equity"]
    assert abs(us.post_trade - us.target) <= us.band
    notes = [c.message for c in p.checks if c.rule == "engine_note"]
    assert any(
        "short-term gains realised to bring US equity back toward its band" in m for m in notes
    )


def test_a_sale_toward_target_stops_before_short_term_gains_once_inside_the_band() -> None:
    lots = [
        Lot(quantity=98, cost_basis=98 * 650.0, acquired=date(2020, 1, 2)),  # long-term loss
        Lot(quantity=52, cost_basis=52 * 300.0, acquired=date(2025, 3, 3)),  # short-term gain
    ]
    holdings = book(pos("MSFT", 150, lots=lots), pos("SPAXX", 1_000, cash=True))
    p = rebalance(holdings, ClientMandate(), as_of=AS_OF)
    (sale,) = trades(p, "SELL", "MSFT")
    # The loss lot is sold toward target, as a loss is; the gain lot would only be sold as far
    # as the band needs, and after the loss lot's 98 shares the class is inside its band: no
    # short-term gain is realised, and no sale was cut short for one.
    assert sale.quantity == 98
    assert sale.short_term_gain == 0.0
    assert sale.realized_gain == pytest.approx(98 * (MSFT - 650), abs=0.01)
    us = p.asset_class_weights["us_equity"]
    assert abs(us.post_trade - us.target) <= us.band
    notes = [c.message for c in p.checks if c.rule == "engine_note"]
    assert not any("sale limited" in m for m in notes)


@pytest.mark.parametrize(
    ("account", "cost", "to_edge"),
    [
        ("Joint", 100.0, True),  # a taxable gain: only as far as the band needs
        ("Joint", 600.0, False),  # a taxable loss costs nothing: on to target
        ("Rollover IRA", 100.0, False),  # no tax in an IRA: on to target
    ],
)
def test_taxable_gains_stop_inside_the_band_free_sales_reach_target(
    account: str, cost: float, to_edge: bool
) -> None:
    lot = Lot(quantity=150, cost_basis=150 * cost, acquired=date(2020, 1, 2))
    holdings = book(
        pos("MSFT", 150, account=account, lots=[lot]),
        pos("SPAXX", 1_000, account=account, cash=True),
    )
    p = rebalance(holdings, ClientMandate(fractional=True, min_trade_value=0.0), as_of=AS_OF)
    us = p.asset_class_weights["us_equity"]
    assert us.current - us.target > us.band  # out of band before
    expected = us.target + (0.9 * us.band if to_edge else 0.0)
    assert us.post_trade == pytest.approx(expected, abs=1e-4)
    if to_edge:
        assert p.realized_gains == pytest.approx(trades(p, "SELL", "MSFT")[0].realized_gain)
        assert p.realized_gains > 0
    cash = p.asset_class_weights["cash"]
    assert abs(cash.post_trade - cash.target) <= cash.band + 1e-9


def test_first_in_first_out_without_tax_awareness() -> None:
    holdings = book(pos("MSFT", 150, lots=msft_lots()), pos("SPAXX", 1_000, cash=True))
    p = rebalance(holdings, ClientMandate(tax_aware=False), as_of=AS_OF)
    (sale,) = trades(p, "SELL", "MSFT")
    assert sale.quantity == 101
    expected = 50 * (MSFT - 100) + 50 * (MSFT - 450) + 1 * (MSFT - 300)
    assert sale.realized_gain == pytest.approx(expected, abs=0.01)
    assert sale.short_term_gain == pytest.approx(MSFT - 300, abs=0.01)


def test_cap_forces_short_term_gain_when_it_must() -> None:
    holdings = book(
        pos("MSFT", 150, lots=msft_lots()), pos("VTI", 3_000), pos("SPAXX", 1_000, cash=True)
    )
    p = rebalance(holdings, ClientMandate(single_name_cap=0.01), as_of=AS_OF)
    (sale,) = trades(p, "SELL", "MSFT")
    total = p.total_value
    forced = math.ceil((150 * MSFT - 0.01 * total) / MSFT)
    assert forced > 100  # more than the long-term lots hold
    # Only the forced units are sold: the band's further discretionary sale would be short-term.
    assert sale.quantity == forced
    short_units = sale.quantity - 100
    assert sale.short_term_gain == pytest.approx(short_units * (MSFT - 300), abs=0.01)
    assert p.short_term_gains == pytest.approx(sale.short_term_gain, abs=0.01)
    assert after_by_account(p)["A"]["MSFT"] <= 0.01 * total + 0.01


def test_gains_unknown_without_cost_basis() -> None:
    lots = [Lot(quantity=150, cost_basis=None, acquired=date(2020, 1, 2))]
    p = rebalance(book(pos("MSFT", 150, lots=lots)), ClientMandate(), as_of=AS_OF)
    (sale,) = trades(p, "SELL", "MSFT")
    assert sale.realized_gain is None and p.realized_gains == 0.0


# -------------------------------------------------------------------------------------------
# Tilts, unknown symbols, several accounts, conservation
# -------------------------------------------------------------------------------------------


def test_tilts_are_clamped_to_five_points_and_only_on_model_sleeves() -> None:
    tilts = {"us_equity": 0.20, "intl_equity": -0.50, "cash": 0.10, "commodities": 0.05}
    p = rebalance(book(pos("SPAXX", 100_000, cash=True)), ClientMandate(), tilts=tilts)
    assert p.tilts == {"us_equity": 0.05, "intl_equity": -0.05}
    cw = p.asset_class_weights
    assert cw["us_equity"].target == pytest.approx(0.37)
    assert cw["intl_equity"].target == pytest.approx(0.13)
    assert cw["cash"].target == pytest.approx(0.03)
    assert "commodities" not in cw


def test_unknown_symbols_are_kept_and_never_traded() -> None:
    holdings = book(
        pos("ZZZZ", 1_000, price=50.0, asset_class="us_equity"),
        pos("QQQX", 10, price=20.0),
        pos("SPAXX", 10_000, cash=True),
    )
    mandate = ClientMandate(single_name_cap=0.05, excluded_symbols=["ZZZZ"])
    p = rebalance(holdings, mandate)
    assert p.unknown_symbols == ["QQQX", "ZZZZ"]
    assert not [t for t in p.trades if t.symbol in {"ZZZZ", "QQQX"}]
    assert p.post_trade_weights["ZZZZ"] == pytest.approx(50_000 / p.total_value)
    assert {c.rule: c.status for c in p.checks}["unknown_security"] == "warn"
    assert {q.symbol: q.asset_class for q in p.positions}["ZZZZ"] == "us_equity"
    # ZZZZ's $50,000 is frozen: only the $10,000 cash is invested, to the model.
    assert sum(t.value for t in trades(p, "BUY")) <= 10_000


def test_per_account_rebalances_each_account_on_its_own() -> None:
    holdings = book(
        *balanced("IRA"),
        pos("SPAXX", 60_000, account="Joint", cash=True),
        pos("AAPL", 200, account="Joint"),
        pos("PM", 50, account="Roth"),
        pos("VTI", 30, account="Roth"),
    )
    mandate = ClientMandate(esg_only=True, single_name_cap=0.10)
    p = rebalance(holdings, mandate, per_account=True)
    assert not p.household
    by_acct = {a: [t for t in p.trades if t.account == a] for a in ("IRA", "Joint", "Roth")}
    assert by_acct["Joint"] and by_acct["Roth"]
    assert [t.reason for t in by_acct["Roth"] if t.symbol == "PM"] == [
        "Sell all: tobacco is excluded by the ESG mandate"
    ]
    before = defaultdict(float)
    for q in p.positions:
        before[q.account] += q.value
    for acct, vals in after_by_account(p).items():
        assert sum(vals.values()) == pytest.approx(before[acct], abs=0.01)  # nothing moves across
        assert vals["cash"] >= 0
        weights = class_weights_after(p, acct)
        for cls, w in p.asset_class_weights.items():
            if cls in {"cash", "intl_bonds"}:
                continue
            slack = 300 / before[acct]  # one whole share of the dearest vehicle
            assert abs(weights.get(cls, 0.0) - w.target) <= w.band + slack, (acct, cls)
        equity = sum(v for c, v in weights.items() if c in EQUITY_CLASSES)
        assert equity <= 0.75


def test_value_is_conserved_and_post_trade_weights_sum_to_one() -> None:
    holdings = book(
        *balanced("A", 37_000),
        pos("NVDA", 400, account="B"),
        pos("TSLA", 50, account="B"),
        pos("SPAXX", 5_000, account="B", cash=True),
    )
    p = rebalance(holdings, ClientMandate(single_name_cap=0.2, cash_floor=0.05))
    total = sum(sum(v.values()) for v in after_by_account(p).values())
    assert total == pytest.approx(p.total_value, abs=0.02)
    assert sum(p.post_trade_weights.values()) == pytest.approx(1.0, abs=1e-9)
    cls_post = sum(w.post_trade for w in p.asset_class_weights.values())
    assert cls_post == pytest.approx(1.0, abs=1e-9)
    for t in p.trades:
        assert t.value == pytest.approx(t.quantity * t.price, abs=0.005)
    turnover = sum(t.value for t in p.approved_trades) / 2 / p.total_value
    assert p.turnover == pytest.approx(turnover)


def test_price_override_remarks_the_book() -> None:
    p = rebalance(
        book(pos("VTI", 100), pos("SPAXX", 1000, cash=True)), ClientMandate(), prices={"vti": 400.0}
    )
    vti = next(q for q in p.positions if q.symbol == "VTI")
    assert vti.price == 400.0 and vti.value == pytest.approx(40_000.0)
    assert p.total_value == pytest.approx(41_000.0)


def test_empty_book_gives_an_empty_proposal() -> None:
    p = rebalance(Holdings(), ClientMandate())
    assert p.trades == [] and p.total_value == 0.0 and p.post_trade_weights == {}


def test_model_buy_of_a_cash_fund_counts_as_cash_after_trades() -> None:
    extra = Trade(
        id="X1",
        account="A",
        symbol="SGOV",
        action="BUY",
        quantity=10,
        price=100.47,
        value=1004.70,
        reason="park cash",
    )
    p = rebalance(book(*balanced()), ClientMandate(), extra_trades=[extra])
    (sgov,) = trades(p, symbol="SGOV")
    assert sgov.compliance.status == "APPROVED" and sgov.source == "model"
    # SGOV is a cash equivalent in the reference data: cash's weight is unchanged by the swap.
    cw = p.asset_class_weights
    assert cw["cash"].post_trade == pytest.approx(cw["cash"].current)
    assert "unclassified" not in cw


def test_cap_is_trimmed_across_the_clients_accounts_pro_rata() -> None:
    # NVDA: $15,799 in A and $15,799 in B of a ~$237k client: 13.3%, against a 5% cap.
    holdings = book(
        *balanced("A"), pos("NVDA", 100, account="A"), *balanced("B"), pos("NVDA", 100, account="B")
    )
    p = rebalance(holdings, ClientMandate(single_name_cap=0.05))
    sells = {t.account: t for t in trades(p, "SELL", "NVDA")}
    assert set(sells) == {"A", "B"}
    assert abs(sells["A"].quantity - sells["B"].quantity) <= 1  # pro rata to equal holdings
    assert p.post_trade_weights["NVDA"] <= 0.05 + 2 * 157.99 / p.total_value
    assert "of the portfolio" in sells["A"].reason


def test_a_tiny_account_is_not_sold_into_cash() -> None:
    # One VTI share and $20 of cash: every buy would be below the $100 minimum trade.
    p = rebalance(book(pos("VTI", 1), pos("SPAXX", 20, cash=True)), ClientMandate())
    assert p.trades == []


def test_buy_reasons_speak_of_the_book_after_the_required_sales() -> None:
    mandate = ClientMandate(excluded_symbols=["AAPL", "MSFT", "GOOGL"])
    p = rebalance(four_tech(), mandate)
    (vti,) = [t for t in trades(p, "BUY") if t.asset_class == "us_equity"]
    assert "after the required sales, below its" in vti.reason


def test_a_made_up_model_price_never_reaches_the_ticket_as_approved() -> None:
    bogus = Trade(
        id="X",
        account="A",
        symbol="NVDA",
        action="BUY",
        quantity=100_000,
        price=0.01,
        value=1_000.0,
        reason="model says so",
    )
    p = rebalance(four_tech(), ClientMandate(single_name_cap=0.3), extra_trades=[bogus])
    (t,) = [t for t in p.trades if t.source == "model"]
    assert t.compliance.status == "VETOED" and "price_sanity" in t.compliance.rules
    assert "NVDA" not in p.post_trade_weights


def test_planner_works_on_a_slice_of_a_book() -> None:
    # A frame cut from a larger one keeps its index; the cap arithmetic must not depend on it.
    from portfolio.book import enrich, positions_frame
    from portfolio.model_portfolios import load_model
    from portfolio.planner import buy_vehicles, plan_trades
    from portfolio.targets import target_weights

    mandate = ClientMandate(single_name_cap=0.05)
    holdings = book(*balanced("A"), pos("NVDA", 100, account="B"), *balanced("B"))
    frame = positions_frame(holdings.positions)
    part = frame[frame["account"] == "B"]
    assert part.index[0] > 0
    model = load_model(mandate.risk_profile)
    plan = plan_trades(
        enrich(part, REF, mandate),
        mandate,
        target_weights(model, mandate),
        buy_vehicles(model, mandate, REF),
        REF.frame,
        as_of=REF.as_of,
    )
    nvda = plan.trades[plan.trades["symbol"] == "NVDA"]
    assert list(nvda["action"]) == ["SELL"]


def test_cusip_only_treasury_counts_as_treasuries_and_no_bond_is_bought_beside_it() -> None:
    """A Treasury the reference data lacks, held by CUSIP, counts in the treasuries weight."""
    bond = Position(
        account="A",
        symbol="912810FS2",
        description="US TREASURY BOND 4.5% 02/15/2036",
        quantity=400.0,
        price=100.0,
        market_value=40_000.0,
    )
    p = rebalance(book(bond, pos("VTI", 200), pos("SPAXX", 20_000, cash=True)), ClientMandate())
    assert p.asset_class_weights["treasuries"].current == pytest.approx(
        40_000 / p.total_value, rel=1e-9
    )
    assert "unclassified" not in p.asset_class_weights
    # A third of the book is Treasuries: the plan buys no more Treasuries, TIPS or US bonds.
    assert not [t for t in trades(p, "BUY") if t.asset_class in ("treasuries", "tips", "us_bonds")]
    # Counted, the Treasury is never traded (the reference data has no price for it).
    assert not trades(p, symbol="912810FS2")
    assert sum(w.value for w in p.positions if w.symbol == "912810FS2") == 40_000.0
