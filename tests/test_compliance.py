"""The compliance gate: every veto rule with its exact reason, execution order, portfolio checks,
and a language-model trade that breaks a rule going through the engine."""

from __future__ import annotations

import pytest

from portfolio.compliance import (
    MAX_EQUITY_SHARE,
    PROFILE_EQUITY_SHARE,
    check_portfolio,
    check_trades,
    glide_path_equity,
    suitability_flags,
)
from portfolio.engine import rebalance
from portfolio.models import (
    ClassWeight,
    ClientMandate,
    Holdings,
    Position,
    PositionWeight,
    Trade,
)
from portfolio.securities import load_securities

REF = load_securities()


def held(
    symbol: str, value: float, *, account: str = "A", quantity: float | None = None
) -> PositionWeight:
    is_cash = bool(REF.get(symbol) is not None and REF.get(symbol)["is_cash"]) or symbol == "CASH"
    price = 1.0 if is_cash else (REF.price(symbol) or 50.0)
    return PositionWeight(
        account=account,
        symbol=symbol,
        asset_class="cash" if is_cash else (REF.asset_class(symbol) or "unclassified"),
        quantity=quantity if quantity is not None else value / price,
        price=price,
        value=value,
        weight=0.0,
        is_cash=is_cash,
        is_fund=REF.is_fund(symbol),
        known=symbol in REF,
    )


def trade(
    action: str,
    symbol: str,
    quantity: float,
    *,
    price: float | None = None,
    value: float | None = None,
    account: str = "A",
    id: str = "T1",
) -> Trade:
    p = price if price is not None else (REF.price(symbol) or 50.0)
    return Trade(
        id=id,
        account=account,
        symbol=symbol,
        action=action,
        quantity=quantity,
        price=p,
        value=round(quantity * p, 2) if value is None else value,
        reason="test",
    )


# A $100,000 account: $40,000 VTI, $20,000 BND, $5,000 AAPL, $35,000 cash.
BOOK = [held("VTI", 40_000), held("BND", 20_000), held("AAPL", 5_000), held("SPAXX", 35_000)]


def judge(t: Trade, mandate: ClientMandate | None = None, book=BOOK) -> Trade:
    (out,) = check_trades([t], book, mandate or ClientMandate(), REF)
    return out


def vetoed(t: Trade, rule: str, reason: str, mandate: ClientMandate | None = None) -> None:
    out = judge(t, mandate)
    assert out.compliance.status == "VETOED"
    assert rule in out.compliance.rules
    assert reason in out.compliance.reasons


def test_a_plain_buy_within_every_rule_is_approved() -> None:
    out = judge(trade("BUY", "BND", 100))
    assert out.compliance.status == "APPROVED"
    assert out.compliance.reasons == ["within every rule"] and out.compliance.rules == []


def test_price_sanity() -> None:
    vetoed(
        trade("BUY", "VTI", 10, value=1_000.0),
        "price_sanity",
        "BUY VTI vetoed: value $1,000.00 is not quantity × price ($3,039.30)",
    )


def test_unknown_security() -> None:
    vetoed(
        trade("BUY", "ZZZZ", 10, price=50.0),
        "unknown_security",
        "BUY ZZZZ vetoed: not in the reference data, so never traded",
    )


def test_unknown_account() -> None:
    vetoed(
        trade("BUY", "BND", 10, account="Nope"),
        "unknown_account",
        "BUY BND vetoed: account 'Nope' is not in the holdings",
    )


def test_whole_shares() -> None:
    vetoed(
        trade("BUY", "BND", 10.5),
        "whole_shares",
        "BUY BND vetoed: the mandate trades whole shares only",
    )
    assert judge(trade("BUY", "BND", 10.5), ClientMandate(fractional=True)).compliance.status == (
        "APPROVED"
    )


def test_min_trade() -> None:
    vetoed(
        trade("BUY", "GOVT", 2),
        "min_trade",
        "BUY GOVT vetoed: $46.10 is below the $100 minimum trade",
    )


def test_no_shorts() -> None:
    vetoed(
        trade("SELL", "AAPL", 30),
        "no_shorts",
        f"SELL AAPL vetoed: sells 30 but only {5_000 / 205.17:g} held (no short sales)",
    )
    vetoed(
        trade("SELL", "MSFT", 1),
        "no_shorts",
        "SELL MSFT vetoed: sells 1 but only 0 held (no short sales)",
    )


def test_exclusion_by_esg_mandate_category_and_symbol() -> None:
    vetoed(
        trade("BUY", "MO", 10),
        "exclusion",
        "BUY MO vetoed: tobacco is excluded by the ESG mandate",
        ClientMandate(esg_only=True),
    )
    vetoed(
        trade("BUY", "LMT", 2),
        "exclusion",
        "BUY LMT vetoed: weapons is excluded by the client's exclusions",
        ClientMandate(excluded_categories=["weapons"]),
    )
    vetoed(
        trade("BUY", "TSLA", 1),
        "exclusion",
        "BUY TSLA vetoed: TSLA is on the client's exclusion list",
        ClientMandate(excluded_symbols=["tsla"]),
    )
    # Selling an excluded holding is exactly what the mandate wants.
    ok = judge(trade("SELL", "AAPL", 10), ClientMandate(excluded_symbols=["AAPL"]))
    assert ok.compliance.status == "APPROVED"


def test_esg_fund_rule() -> None:
    vetoed(
        trade("BUY", "VTI", 10),
        "esg_fund",
        "BUY VTI vetoed: not an ESG fund and the mandate is ESG-only",
        ClientMandate(esg_only=True),
    )
    for sym in ("ESGV", "GOVT", "AAPL"):  # ESG fund, government debt, screen-clean stock
        out = judge(trade("BUY", sym, 10), ClientMandate(esg_only=True))
        assert out.compliance.status == "APPROVED", sym


def test_single_name_cap_applies_to_stocks_not_funds() -> None:
    vetoed(
        trade("BUY", "AAPL", 10),  # $5,000 + $2,051.70 = 7.1% of $100,000
        "single_name_cap",
        "BUY AAPL vetoed: would be 7.1% of the portfolio, above the 5.0% single-name cap",
        ClientMandate(single_name_cap=0.05),
    )
    fund = judge(trade("BUY", "VTI", 20), ClientMandate(single_name_cap=0.05))
    assert fund.compliance.status == "APPROVED"


def test_cash_floor() -> None:
    vetoed(
        trade("BUY", "BND", 400),  # $29,276 leaves $5,724 of a $10,000 floor
        "cash_floor",
        "BUY BND vetoed: needs $29,276.00 but leaves cash at $5,724.00, below the $10,000.00 floor",
        ClientMandate(cash_floor=0.10),
    )
    vetoed(
        trade("BUY", "BND", 500),  # more than the cash there is, even with no floor
        "cash_floor",
        "BUY BND vetoed: needs $36,595.00 but leaves cash at -$1,595.00, below the $0.00 floor",
    )


def test_suitability() -> None:
    # Conservative allows 35% equity; the account already holds 45% (VTI and AAPL).
    vetoed(
        trade("BUY", "VEA", 20),
        "suitability",
        "BUY VEA vetoed: lifts equities to 46.1% of the household, above the 35% suitable for "
        "a conservative profile",
        ClientMandate(risk_profile="conservative"),
    )
    out = judge(trade("BUY", "BND", 20), ClientMandate(risk_profile="conservative"))
    assert out.compliance.status == "APPROVED"  # bonds never breach an equity ceiling
    assert list(MAX_EQUITY_SHARE.values()) == sorted(MAX_EQUITY_SHARE.values())


def test_several_rules_are_all_reported() -> None:
    out = judge(trade("BUY", "MO", 0.5, value=1.0), ClientMandate(esg_only=True))
    assert out.compliance.status == "VETOED"
    assert {"price_sanity", "whole_shares", "min_trade", "exclusion"} <= set(out.compliance.rules)
    assert all(r.startswith("BUY MO vetoed: ") for r in out.compliance.reasons)


def test_sells_are_judged_before_buys_so_they_can_fund_them() -> None:
    book = [held("VTI", 30_000), held("SPAXX", 1_000)]
    buy = trade("BUY", "BND", 200, id="T1")  # $14,638: needs the sale below
    sell = trade("SELL", "VTI", 50, id="T2")  # $15,196.50
    out = check_trades([buy, sell], book, ClientMandate(), REF)
    assert [t.id for t in out] == ["T1", "T2"]  # order kept
    assert [t.compliance.status for t in out] == ["APPROVED", "APPROVED"]


def test_a_vetoed_sale_funds_nothing() -> None:
    book = [held("VTI", 30_000), held("SPAXX", 1_000)]
    bad_sell = trade("SELL", "VTI", 500, id="T1")  # more than held
    buy = trade("BUY", "BND", 200, id="T2")
    out = check_trades([bad_sell, buy], book, ClientMandate(), REF)
    assert [t.compliance.status for t in out] == ["VETOED", "VETOED"]
    assert out[1].compliance.rules == ["cash_floor"]


def test_running_book_catches_two_buys_that_together_break_the_cap() -> None:
    mandate = ClientMandate(single_name_cap=0.08)
    first = trade("BUY", "AAPL", 10, id="T1")  # 7.1%
    second = trade("BUY", "AAPL", 10, id="T2")  # 9.1%
    out = check_trades([first, second], BOOK, mandate, REF)
    assert [t.compliance.status for t in out] == ["APPROVED", "VETOED"]
    assert out[1].compliance.rules == ["single_name_cap"]


# -------------------------------------------------------------------------------------------
# A language-model trade through the engine
# -------------------------------------------------------------------------------------------


def _balanced_holdings() -> Holdings:
    sizes = {
        "VTI": 105,
        "VB": 17,
        "VEA": 316,
        "VWO": 121,
        "BND": 260,
        "GOVT": 130,
        "SCHP": 150,
        "BNDX": 224,
    }
    positions = [
        Position(
            account="A",
            symbol=s,
            quantity=q,
            price=REF.price(s),
            market_value=round(q * REF.price(s), 2),
        )
        for s, q in sizes.items()
    ]
    positions.append(
        Position(
            account="A", symbol="SPAXX", quantity=3_000, price=1.0, market_value=3_000, is_cash=True
        )
    )
    return Holdings(positions=positions)


def test_model_trade_breaking_a_rule_is_vetoed_and_not_applied() -> None:
    holdings = _balanced_holdings()
    llm = [
        Trade(
            id="L1",
            account="A",
            symbol="MO",
            action="BUY",
            quantity=10,
            price=58.63,
            value=586.30,
            reason="Attractive dividend",
        ),
        Trade(
            id="L2",
            account="A",
            symbol="VTI",
            action="SELL",
            quantity=1_000,
            price=303.93,
            value=303_930.00,
            reason="Take profits",
        ),
    ]
    p = rebalance(holdings, ClientMandate(esg_only=True), extra_trades=llm)
    by_symbol = {t.symbol: t for t in p.trades if t.source == "model"}
    mo, vti = by_symbol["MO"], by_symbol["VTI"]
    assert mo.compliance.status == "VETOED"
    assert mo.compliance.reasons == ["BUY MO vetoed: tobacco is excluded by the ESG mandate"]
    assert vti.compliance.status == "VETOED"
    assert vti.compliance.reasons == [
        "SELL VTI vetoed: sells 1000 but only 105 held (no short sales)"
    ]
    assert "MO" not in p.post_trade_weights
    vti_before = sum(q.value for q in p.positions if q.symbol == "VTI")
    assert p.post_trade_weights["VTI"] == pytest.approx(vti_before / p.total_value)
    assert all(t.id.startswith("T") for t in p.trades)  # renumbered after the engine's own
    assert {c.rule: c.status for c in p.checks}["no_shorts"] == "pass"


def test_model_trade_within_the_rules_is_applied() -> None:
    holdings = _balanced_holdings()
    llm = [
        Trade(
            id="L1",
            account="A",
            symbol="VTI",
            action="SELL",
            quantity=5,
            price=303.93,
            value=1_519.65,
            reason="trim",
        )
    ]
    p = rebalance(holdings, ClientMandate(), extra_trades=llm)
    (t,) = [t for t in p.trades if t.source == "model"]
    assert t.compliance.status == "APPROVED"
    assert p.post_trade_weights["VTI"] == pytest.approx(100 * 303.93 / p.total_value)
    assert p.cash_after == pytest.approx(p.cash_value + 1_519.65, abs=0.01)


# -------------------------------------------------------------------------------------------
# check_portfolio
# -------------------------------------------------------------------------------------------


def statuses(checks) -> dict[str, str]:
    return {c.rule: c.status for c in checks}


def test_portfolio_checks_pass_on_a_clean_book() -> None:
    checks = check_portfolio(BOOK, ClientMandate(single_name_cap=0.05), REF)
    assert statuses(checks) == {
        "no_shorts": "pass",
        "exclusion": "pass",
        "single_name_cap": "pass",
        "cash_floor": "pass",
        "suitability": "pass",
    }
    suit = next(c for c in checks if c.rule == "suitability")
    assert (
        suit.message == "Equities are 45.0% of the portfolio; at most 75% suits a moderate profile"
    )


def test_portfolio_checks_fail_each_rule() -> None:
    book = [
        held("VTI", 70_000),
        held("NVDA", 20_000),
        held("MO", 9_000),
        held("BND", 2_000),
        held("AAPL", -1_000, quantity=-5),
        held("SPAXX", 0.0),
    ]
    mandate = ClientMandate(
        esg_only=True, single_name_cap=0.10, cash_floor=0.05, risk_profile="conservative"
    )
    checks = {c.rule: c for c in check_portfolio(book, mandate, REF)}
    assert checks["no_shorts"].status == "fail" and "AAPL (A)" in checks["no_shorts"].message
    assert checks["exclusion"].status == "fail"
    assert "MO (tobacco is excluded by the ESG mandate)" in checks["exclusion"].message
    assert checks["single_name_cap"].status == "fail"
    assert "NVDA 20.0%" in checks["single_name_cap"].message
    assert checks["cash_floor"].status == "fail"
    assert checks["suitability"].status == "fail"
    assert "suits a conservative profile" in checks["suitability"].message
    assert checks["esg_funds"].status == "warn" and "VTI" in checks["esg_funds"].message


def test_unknown_name_over_the_cap_is_a_warning_not_a_failure() -> None:
    book = [held("ZZZZ", 30_000), held("SPAXX", 70_000)]
    checks = {c.rule: c for c in check_portfolio(book, ClientMandate(single_name_cap=0.05), REF)}
    assert checks["single_name_cap"].status == "warn"
    assert "not in the reference data" in checks["single_name_cap"].message
    assert checks["unknown_security"].status == "warn"


def test_income_and_band_checks() -> None:
    book = [held("BND", 50_000), held("SPAXX", 50_000)]
    weights = {
        "us_bonds": ClassWeight(
            current=0.5, target=0.19, post_trade=0.5, drift=0.31, band=0.05, status="over"
        ),
        "cash": ClassWeight(
            current=0.5, target=0.5, post_trade=0.5, drift=0.0, band=0.05, status="in_band"
        ),
    }
    checks = {
        c.rule: c for c in check_portfolio(book, ClientMandate(income_need=0.10), REF, weights)
    }
    assert checks["income"].status == "warn"
    assert "against a 10.0% income need" in checks["income"].message
    assert checks["bands"].status == "warn"
    assert checks["bands"].message == "Still outside the band after trades: us_bonds"
    low = {c.rule: c for c in check_portfolio(book, ClientMandate(income_need=0.001), REF)}
    assert low["income"].status == "pass"


def test_empty_portfolio_fails_the_value_check() -> None:
    (check,) = check_portfolio([], ClientMandate(), REF)
    assert (check.rule, check.status) == ("value", "fail")


def test_a_made_up_price_is_vetoed_against_the_market() -> None:
    # A model proposes 100,000 NVDA "at $0.01": the value matches quantity x price, the price
    # does not match the market.
    t = trade("BUY", "NVDA", 100_000, price=0.01)
    vetoed(
        t, "price_sanity", "BUY NVDA vetoed: price $0.01 is 100% away from the market price $157.99"
    )


def test_a_held_position_is_priced_by_the_books_quote() -> None:
    quoted = held("VTI", 40_000).model_copy(update={"price": 300.0, "quantity": 40_000 / 300})
    ok = check_trades([trade("SELL", "VTI", 10, price=301.0)], [quoted], ClientMandate(), REF)
    assert ok[0].compliance.status == "APPROVED"  # within 10% of the book's own quote


def test_closing_out_a_fractional_holding_is_allowed_under_whole_shares() -> None:
    book = [held("AAPL", 25_000, quantity=121.8502), held("SPAXX", 1_000)]
    whole = ClientMandate()
    (close,) = check_trades([trade("SELL", "AAPL", 121.8502)], book, whole, REF)
    assert close.compliance.status == "APPROVED"
    (part,) = check_trades([trade("SELL", "AAPL", 20.5)], book, whole, REF)
    assert part.compliance.rules == ["whole_shares"]


def test_the_single_name_cap_counts_every_account_of_the_client() -> None:
    # AAPL is $4,000 in each of two $50,000 accounts: 8% of the client's $100,000.
    book = [
        held("AAPL", 4_000, account="A"),
        held("SPAXX", 46_000, account="A"),
        held("AAPL", 4_000, account="B"),
        held("SPAXX", 46_000, account="B"),
    ]
    cap = ClientMandate(single_name_cap=0.09)
    # 3 more shares ($615.51) make 8.6% of the client (9.2% of account A alone): within the cap.
    (small,) = check_trades([trade("BUY", "AAPL", 3, account="A")], book, cap, REF)
    assert small.compliance.status == "APPROVED"
    # 10 more ($2,051.70) make 10.1% of the client: vetoed.
    (big,) = check_trades([trade("BUY", "AAPL", 10, account="A")], book, cap, REF)
    assert big.compliance.rules == ["single_name_cap"]
    assert big.compliance.reasons == [
        "BUY AAPL vetoed: would be 10.1% of the portfolio, above the 9.0% single-name cap"
    ]


# ---------------------------------------------------------------------------------------------
# Screens per fund: a mandate's exclusion is met only by a fund that screens it
# ---------------------------------------------------------------------------------------------


def test_an_esg_aware_fund_is_vetoed_for_an_esg_mandate_with_what_it_does_not_screen() -> None:
    vetoed(
        trade("BUY", "ESGD", 10),
        "fund_screen",
        "BUY ESGD vetoed: its index (MSCI EAFE Extended ESG Focus Index) does not screen "
        "conventional weapons, fossil-fuel reserves, gambling, excluded by the ESG mandate",
        ClientMandate(esg_only=True),
    )
    for sym in ("ESGU", "ESGE", "ESML", "EAGG"):
        out = judge(trade("BUY", sym, 10), ClientMandate(esg_only=True))
        assert out.compliance.rules == ["fund_screen"], sym


def test_ftse_choice_and_government_funds_pass_an_esg_mandate() -> None:
    for sym in ("ESGV", "VSGX", "VCEB", "GOVT", "SCHP", "SGOV"):
        out = judge(trade("BUY", sym, 10), ClientMandate(esg_only=True))
        assert out.compliance.status == "APPROVED", (sym, out.compliance.reasons)


def test_explicit_category_exclusions_apply_to_funds_too() -> None:
    fossil = ClientMandate(excluded_categories=["fossil_fuels"])
    vetoed(
        trade("BUY", "VTI", 10),
        "fund_screen",
        "BUY VTI vetoed: its index does not screen thermal coal, oil sands, fossil-fuel reserves, "
        "excluded by the client's exclusions",
        fossil,
    )
    vetoed(
        trade("BUY", "ESGU", 10),
        "fund_screen",
        "BUY ESGU vetoed: its index (MSCI USA Extended ESG Focus Index) does not screen "
        "fossil-fuel reserves, excluded by the client's exclusions",
        fossil,
    )
    assert judge(trade("BUY", "ESGV", 10), fossil).compliance.status == "APPROVED"
    # Tobacco alone: the ESG Aware screens meet it.
    tobacco = ClientMandate(excluded_categories=["tobacco"])
    assert judge(trade("BUY", "ESGU", 10), tobacco).compliance.status == "APPROVED"
    assert judge(trade("BUY", "VTI", 10), tobacco).compliance.rules == ["fund_screen"]
    # No exclusions: a plain fund is fine.
    assert judge(trade("BUY", "VTI", 10)).compliance.status == "APPROVED"


def test_selling_a_fund_that_does_not_screen_is_allowed() -> None:
    book = [held("ESGD", 10_000), held("SPAXX", 5_000)]
    (out,) = check_trades([trade("SELL", "ESGD", 10)], book, ClientMandate(esg_only=True), REF)
    assert out.compliance.status == "APPROVED"


def test_held_funds_that_do_not_screen_are_a_warning_for_any_mandate_with_exclusions() -> None:
    book = [held("ESGU", 50_000), held("GOVT", 20_000), held("SPAXX", 30_000)]
    fossil = {
        c.rule: c
        for c in check_portfolio(book, ClientMandate(excluded_categories=["fossil_fuels"]), REF)
    }
    assert fossil["esg_funds"].status == "warn" and fossil["esg_funds"].message.endswith("ESGU")
    tobacco = {
        c.rule: c
        for c in check_portfolio(book, ClientMandate(excluded_categories=["tobacco"]), REF)
    }
    assert tobacco["esg_funds"].status == "pass"
    assert "esg_funds" not in statuses(check_portfolio(book, ClientMandate(), REF))


# ---------------------------------------------------------------------------------------------
# Suitability review (FINRA Rule 2111 profile factors): warnings, not vetoes
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("profile", "horizon", "flagged"),
    [
        ("aggressive", 3.0, True),
        ("aggressive", 2.5, True),
        ("aggressive", 3.5, False),
        ("moderately_aggressive", 3.0, True),
        ("moderately_aggressive", 4.0, False),
        ("moderate", 1.0, False),
        ("aggressive", None, False),
    ],
)
def test_growth_profile_with_a_short_horizon(profile: str, horizon, flagged: bool) -> None:
    flags = suitability_flags(ClientMandate(risk_profile=profile, horizon_years=horizon))
    assert bool(flags) is flagged
    if flagged:
        assert f"{horizon:g}-year horizon" in flags[0]


def test_glide_path_points() -> None:
    assert glide_path_equity(25) == pytest.approx(0.90)
    assert glide_path_equity(40) == pytest.approx(0.90)
    assert glide_path_equity(52.5) == pytest.approx(0.70)
    assert glide_path_equity(65) == pytest.approx(0.50)
    assert glide_path_equity(72) == pytest.approx(0.30)
    assert glide_path_equity(95) == pytest.approx(0.30)


@pytest.mark.parametrize(
    ("profile", "age", "flagged"),
    [
        ("aggressive", 58, False),  # glide path 61.2%: 90% is 28.8 points above
        ("aggressive", 59, True),  # glide path 59.6%: 30.4 points above
        ("aggressive", 85, True),
        ("moderately_aggressive", 65, False),  # exactly 30 points above 50%
        ("moderately_aggressive", 66, True),
        ("moderate", 90, False),  # 60% against 30%: at the margin, not over it
        ("conservative", 25, False),  # less risk than the age allows is the client's choice
        ("aggressive", 25, False),
    ],
)
def test_profile_against_age(profile: str, age: int, flagged: bool) -> None:
    flags = suitability_flags(ClientMandate(risk_profile=profile, age=age))
    assert bool(flags) is flagged, flags
    if flagged:
        assert f"at age {age}" in flags[0]


def test_profile_equity_shares_match_the_models() -> None:
    from portfolio.model_portfolios import load_model

    for profile, share in PROFILE_EQUITY_SHARE.items():
        assert load_model(profile).equity_share == pytest.approx(share), profile


def test_suitability_review_is_a_warning_on_the_checks_not_a_veto() -> None:
    mandate = ClientMandate(risk_profile="aggressive", age=80, horizon_years=2)
    checks = {c.rule: c for c in check_portfolio(BOOK, mandate, REF)}
    review = checks["suitability_review"]
    assert review.status == "warn"
    assert review.message.startswith("For the advisor's review: An aggressive profile with a 2")
    assert "at age 80" in review.message
    # Trades are still judged on their own rules.
    assert judge(trade("BUY", "VTI", 10), mandate).compliance.status == "APPROVED"
    # Nothing to review: no check at all.
    assert "suitability_review" not in statuses(check_portfolio(BOOK, ClientMandate(age=40), REF))


# ---------------------------------------------------------------------------------------------
# Income and unknown holdings
# ---------------------------------------------------------------------------------------------


def test_income_check_uses_the_reference_yields_and_names_what_counts_at_zero() -> None:
    book = [held("BND", 50_000), held("CASH", 50_000)]
    checks = {c.rule: c for c in check_portfolio(book, ClientMandate(income_need=0.02), REF)}
    # 3.75% on half the book, swept cash at 0%: 1.875%, short of 2%.
    assert checks["income"].status == "warn"
    assert checks["income"].message == (
        "Estimated yield 1.88% against a 2.0% income need; 0.13% short, so the rest of the "
        "income is paid from the cash reserve and sales rather than from yield; CASH counted at 0%"
    )
    met = {c.rule: c for c in check_portfolio(book, ClientMandate(income_need=0.0187), REF)}
    assert met["income"].status == "pass"


def test_unknown_holdings_are_named_with_their_class() -> None:
    bond = held("912810FS2", 30_000).model_copy(update={"asset_class": "treasuries"})
    checks = {
        c.rule: c for c in check_portfolio([bond, held("ZZZQ", 1_000), *BOOK], ClientMandate(), REF)
    }
    assert checks["unknown_security"].message == (
        "Not in the reference data, counted at their value and never traded: "
        "912810FS2 (treasuries), ZZZQ (unclassified)"
    )
