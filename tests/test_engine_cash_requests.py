"""Cash requests: a deposit is invested without a sale; a withdrawal leaves its cash plus the floor
in its own account, raised cheapest tax first; what cannot be raised is said plainly."""

from __future__ import annotations

from datetime import date

import pytest

from portfolio.cash_requests import (
    CashRequestError,
    make_request,
    outcomes,
    parse_amount,
    parse_spec,
    validate,
)
from portfolio.models import ClientMandate, Holdings, Lot, Position, RebalanceProposal, Trade
from portfolio.proposal_pdf import build_proposal_pdf
from tests.test_engine_household import AS_OF, located, pos, px, run
from tests.test_proposal_pdf import document, render

WIDE = {"band_abs": 1.0, "band_rel": 10.0}  # nothing drifts out of band: only the request trades


def withdraw(account: str, amount: float, note: str = "") -> object:
    return make_request(account, amount, "withdrawal", note)


def deposit(account: str, amount: float) -> object:
    return make_request(account, amount, "deposit")


def cash_of(p: RebalanceProposal, account: str) -> tuple[float, float]:
    """(swept cash before the trades, after them), before the withdrawal is paid out."""
    summary = next(a for a in p.accounts if a.account == account)
    return summary.cash, summary.cash_after


def request_sales(p: RebalanceProposal) -> list[Trade]:
    ids = {i for r in p.cash_requests for i in r.trades}
    return [t for t in p.approved_trades if t.id in ids]


# -------------------------------------------------------------------------------------------
# Deposits
# -------------------------------------------------------------------------------------------


def test_deposit_is_invested_in_its_account_without_a_sale() -> None:
    p = run(*located(), cash_requests=[deposit("Joint Brokerage", 50_000)])
    assert p.trades, "new cash is invested"
    assert all(t.action == "BUY" for t in p.trades)
    assert {t.account for t in p.trades} == {"Joint Brokerage"}
    assert sum(t.value for t in p.approved_trades) <= 50_000 + 30_000 + 0.01
    [r] = p.cash_requests
    assert r.met and r.kind == "deposit" and "Joint Brokerage" in r.message
    joint = next(a for a in p.accounts if a.account == "Joint Brokerage")
    assert joint.deposit == 50_000
    # The household is valued after the deposit.
    assert p.total_value == pytest.approx(run(*located()).total_value + 50_000, abs=0.01)


def test_deposit_into_an_account_without_cash_row_is_invested() -> None:
    p = run(*located(), cash_requests=[deposit("Roth IRA", 40_000)])
    assert p.trades and all(t.action == "BUY" for t in p.trades)
    assert any(t.account == "Roth IRA" for t in p.trades)
    before, after = cash_of(p, "Roth IRA")
    assert before == pytest.approx(40_000) and 0 <= after < 40_000


# -------------------------------------------------------------------------------------------
# Withdrawals
# -------------------------------------------------------------------------------------------


def test_withdrawal_leaves_exactly_its_cash_plus_the_floor() -> None:
    mandate = ClientMandate(cash_floor=0.02, **WIDE)
    p = run(*located(), mandate=mandate, cash_requests=[withdraw("Rollover IRA", 20_000)])
    ira = next(a for a in p.accounts if a.account == "Rollover IRA")
    floor = 0.02 * ira.value  # the account's value after the withdrawal
    _, after = cash_of(p, "Rollover IRA")
    sales = request_sales(p)
    assert sales and all(t.account == "Rollover IRA" and t.action == "SELL" for t in sales)
    assert after >= 20_000 + floor - 0.005
    # Exactly: no more than one share of the last holding sold above what was needed.
    assert after - (20_000 + floor) < max(t.price for t in sales)
    [r] = p.cash_requests
    assert (
        r.met
        and r.trades == [t.id for t in sales]
        and r.raised == pytest.approx(20_000, abs=0.01)  # the sales' part of the request
    )
    assert "met" in r.message and "T" in r.message
    # Tax-advantaged: no tax on the sale.
    assert all(t.realized_gain == 0 for t in sales)


def test_withdrawal_from_cash_already_there_needs_no_sale() -> None:
    p = run(
        *located(),
        mandate=ClientMandate(**WIDE),
        cash_requests=[withdraw("Joint Brokerage", 25_000)],
    )
    assert not p.trades
    [r] = p.cash_requests
    assert r.met and r.trades == [] and r.from_cash == 25_000
    assert "cash already in the account" in r.message


def test_household_targets_use_the_value_after_the_withdrawal() -> None:
    base = run(*located())
    p = run(*located(), cash_requests=[withdraw("Rollover IRA", 50_000)])
    assert p.total_value == pytest.approx(base.total_value - 50_000, abs=0.01)
    targets = sum(w.target for w in p.asset_class_weights.values())
    assert targets == pytest.approx(1.0, abs=1e-6)
    ira = next(a for a in p.accounts if a.account == "Rollover IRA")
    assert ira.withdrawal == 50_000


def _with_lot(p: Position, basis_ratio: float, acquired: date) -> Position:
    lot = Lot(quantity=p.quantity, cost_basis=p.market_value * basis_ratio, acquired=acquired)
    return p.model_copy(update={"lots": [lot]})


def _taxable_book() -> list[Position]:
    """One taxable account, no cash: a loss, a long-term gain and a short-term gain (as of
    2025-06-30, a lot bought 2025-01-15 is held less than a year)."""
    return [
        _with_lot(pos("VEA", 30_000, "Individual"), 1.3, date(2021, 5, 3)),
        _with_lot(pos("BND", 60_000, "Individual"), 0.9, date(2019, 2, 1)),
        _with_lot(pos("VTI", 80_000, "Individual"), 0.8, date(2025, 1, 15)),
    ]


def test_withdrawal_sells_losses_then_long_term_gains_before_short_term() -> None:
    book = _taxable_book()
    vea, bnd = book[0], book[1]
    want = vea.market_value + 0.5 * bnd.market_value
    p = run(*book, mandate=ClientMandate(**WIDE), cash_requests=[withdraw("Individual", want)])
    sales = {t.symbol: t for t in request_sales(p)}
    assert set(sales) == {"VEA", "BND"}
    assert sales["VEA"].quantity == vea.quantity  # the loss goes first, in full
    assert 0 < sales["BND"].quantity < bnd.quantity
    assert sales["VEA"].realized_gain < 0 < sales["BND"].realized_gain
    assert all(t.short_term_gain == 0 for t in sales.values())
    assert p.short_term_gains == 0
    assert p.cash_requests[0].met


def test_withdrawal_reaches_short_term_gains_only_when_the_rest_is_sold() -> None:
    book = _taxable_book()
    want = sum(x.market_value for x in book[:2]) + 10_000
    p = run(*book, mandate=ClientMandate(**WIDE), cash_requests=[withdraw("Individual", want)])
    sales = {t.symbol: t for t in request_sales(p)}
    assert sales["VEA"].quantity == book[0].quantity
    assert sales["BND"].quantity == book[1].quantity
    assert 0 < sales["VTI"].value < 10_000 + px("VTI") + 0.01
    assert sales["VTI"].short_term_gain > 0
    assert not sales["VTI"].forced  # made for the request, not by a rule
    assert p.cash_requests[0].met


def test_a_lot_held_exactly_one_year_is_still_short_term() -> None:
    # IRS Publication 550: long-term is held MORE than one year. As of 2025-06-30, a lot bought
    # 2024-06-30 is short-term and goes after one bought 2024-06-29, at a larger gain even.
    book = [
        _with_lot(pos("VTI", 50_000, "Individual"), 0.90, date(2024, 6, 30)),
        _with_lot(pos("VEA", 50_000, "Individual"), 0.70, date(2024, 6, 29)),
    ]
    p = run(*book, mandate=ClientMandate(**WIDE), cash_requests=[withdraw("Individual", 20_000)])
    sales = request_sales(p)
    assert [t.symbol for t in sales] == ["VEA"]
    assert sales[0].short_term_gain == 0 and sales[0].realized_gain > 0


def test_no_cash_moves_between_accounts() -> None:
    # The Roth holds no cash; the taxable account holds plenty. The Roth must sell.
    p = run(*located(), mandate=ClientMandate(**WIDE), cash_requests=[withdraw("Roth IRA", 30_000)])
    sales = request_sales(p)
    assert sales and {t.account for t in sales} == {"Roth IRA"}
    _, roth_after = cash_of(p, "Roth IRA")
    assert roth_after >= 30_000 - 0.005
    joint_before, joint_after = cash_of(p, "Joint Brokerage")
    assert joint_after == pytest.approx(joint_before)  # untouched: no transfer


def test_buys_never_spend_a_withdrawal() -> None:
    # The IRA has cash for its withdrawal; a model's buy there that would spend it is vetoed.
    book = [*located(), pos("SPAXX", 40_000, "Rollover IRA", cash=True)]
    extra = Trade(
        id="M1",
        account="Rollover IRA",
        symbol="BND",
        action="BUY",
        quantity=300,
        price=px("BND"),
        value=round(300 * px("BND"), 2),
        reason="a model's idea",
    )
    p = run(
        *book,
        mandate=ClientMandate(**WIDE),
        cash_requests=[withdraw("Rollover IRA", 35_000)],
        extra_trades=[extra],
    )
    [m] = [t for t in p.trades if t.source == "model"]
    assert m.compliance.status == "VETOED" and "cash_floor" in m.compliance.rules
    assert "short of the $35,000.00 withdrawal" in m.compliance.reasons[0]
    assert p.cash_requests[0].met


def mostly_untradeable() -> list[Position]:
    """A Trust account that is mostly a bond the desk cannot trade (not in the reference data):
    no sale can raise a large withdrawal."""
    bond = Position(
        account="Trust",
        symbol="123456AB7",
        description="ACME CORP 5% 2030",
        quantity=100,
        price=1000.0,
        market_value=100_000,
        asset_class="us_bonds",
    )
    return [bond, pos("VTI", 20_000, "Trust"), pos("SPAXX", 5_000, "Trust", cash=True)]


def test_impossible_withdrawal_is_reported() -> None:
    book = mostly_untradeable()
    p = run(*book, mandate=ClientMandate(**WIDE), cash_requests=[withdraw("Trust", 60_000)])
    [r] = p.cash_requests
    assert not r.met and r.shortfall > 30_000
    assert "not met" in r.message and "short" in r.message and "the desk cannot trade" in r.message
    assert any(c.rule == "cash_request" and c.status == "fail" for c in p.checks)
    # What can be sold is sold for it.
    assert {t.symbol for t in request_sales(p)} == {"VTI"}


def test_two_withdrawals_and_a_deposit_together() -> None:
    p = run(
        *located(),
        mandate=ClientMandate(**WIDE),
        cash_requests=[
            withdraw("Rollover IRA", 10_000, "RMD"),
            withdraw("Rollover IRA", 5_000),
            deposit("Roth IRA", 7_000),
        ],
    )
    assert [r.met for r in p.cash_requests] == [True, True, True]
    assert p.cash_requests[0].note == "RMD"
    _, after = cash_of(p, "Rollover IRA")
    assert after >= 15_000 - 0.005


# -------------------------------------------------------------------------------------------
# The contract
# -------------------------------------------------------------------------------------------


def test_request_validation_says_what_is_wrong() -> None:
    holdings = Holdings(positions=located())
    with pytest.raises(CashRequestError, match=r"No account named 'IRA'.*Rollover IRA"):
        validate([withdraw("IRA", 1_000)], holdings)
    with pytest.raises(CashRequestError, match="more than the account holds"):
        validate([withdraw("Roth IRA", 200_000)], holdings)
    with pytest.raises(CashRequestError, match="withdrawals of"):
        validate([withdraw("Roth IRA", 60_000), withdraw("Roth IRA", 60_000)], holdings)
    # A deposit in the same plan makes room.
    validate([deposit("Roth IRA", 50_000), withdraw("Roth IRA", 140_000)], holdings)
    with pytest.raises(CashRequestError, match=r"more than zero|positive"):
        make_request("Roth IRA", 0, "withdrawal")
    with pytest.raises(CashRequestError, match="positive"):
        make_request("Roth IRA", float("nan"), "deposit")
    with pytest.raises(CashRequestError, match="withdrawal or deposit"):
        make_request("Roth IRA", 5, "transfer")
    with pytest.raises(CashRequestError, match="Name the account"):
        make_request("  ", 5, "deposit")
    with pytest.raises(CashRequestError):
        run(*located(), cash_requests=[withdraw("Nowhere", 5)])


def test_amounts_and_specs() -> None:
    assert parse_amount("$20,000.50") == 20_000.5
    assert parse_amount("20k") == 20_000
    assert parse_amount("1.5m") == 1_500_000
    for bad in ("", "-5", "abc", "0", "1e400", "5 dollars"):
        with pytest.raises(CashRequestError):
            parse_amount(bad)
    r = parse_spec("Joint = Brokerage=20,000", "withdrawal")
    assert (r.account, r.amount, r.kind) == ("Joint = Brokerage", 20_000, "withdrawal")
    with pytest.raises(CashRequestError, match="ACCOUNT=AMOUNT"):
        parse_spec("20000", "deposit")


def test_outcomes_follow_the_trades_that_will_run() -> None:
    p = run(*located(), mandate=ClientMandate(**WIDE), cash_requests=[withdraw("Roth IRA", 30_000)])
    [r] = p.cash_requests
    assert r.met
    kept = [t for t in p.approved_trades if t.id not in r.trades]
    again = outcomes(
        [withdraw("Roth IRA", 30_000)], p.positions, kept, p.mandate.cash_floor, r.trades
    )
    assert not again[0].met and again[0].shortfall == pytest.approx(30_000)


def test_proposal_json_carries_the_requests() -> None:
    p = run(*located(), cash_requests=[withdraw("Rollover IRA", 20_000, "distribution")])
    doc = p.model_dump(mode="json")
    [r] = doc["cash_requests"]
    assert r["account"] == "Rollover IRA" and r["kind"] == "withdrawal"
    assert r["amount"] == 20_000 and r["met"] is True and r["note"] == "distribution"
    assert RebalanceProposal.model_validate(doc).cash_requests[0].met
    assert p.as_of == AS_OF


def test_the_client_proposal_lists_the_requests(tmp_path) -> None:  # type: ignore[no-untyped-def]
    p = run(
        *located(),
        cash_requests=[
            withdraw("Rollover IRA", 20_000, "distribution"),
            deposit("Roth IRA", 5_000),
        ],
    )
    text, pages = render(build_proposal_pdf(document(p)), tmp_path)
    assert pages
    flat = " ".join(text.split())
    assert "Withdrawals and deposits" in flat
    assert "Withdrawal of $20,000.00 from Rollover IRA: met" in flat
    assert "Deposit of $5,000.00 into Roth IRA" in flat
