"""Interactive Brokers activity statements: Open Positions, Cash Report, everything else skipped."""

from __future__ import annotations

from pathlib import Path

import pytest

from portfolio.importers import read_holdings
from portfolio.models import Holdings

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "import"


@pytest.fixture(scope="module")
def holdings() -> Holdings:
    return read_holdings(FIXTURES / "ibkr.csv")


def test_positions_and_account(holdings: Holdings) -> None:
    assert holdings.format == "ibkr"
    assert holdings.accounts == ["U7654321"]
    assert [p.symbol for p in holdings.positions] == ["AAPL", "BND", "CASH"]


def test_lot_rows_become_lots(holdings: Holdings) -> None:
    aapl = holdings.positions[0]
    assert (aapl.quantity, aapl.market_value, aapl.cost_basis) == (30, 6000, 4500)
    assert [(lot.quantity, lot.cost_basis, lot.line) for lot in aapl.lots] == [
        (20, 2800, 10),
        (10, 1700, 11),
    ]
    assert aapl.lines == [9, 10, 11]


def test_ending_cash_from_base_currency_summary(holdings: Holdings) -> None:
    cash = holdings.positions[-1]
    assert cash.is_cash and cash.market_value == 1500.5 and cash.lines == [19]
    per_currency = next(s for s in holdings.skipped if s.line == 20)
    assert "one currency" in per_currency.reason


def test_other_sections_are_skipped_by_name(holdings: Holdings) -> None:
    reasons = {s.line: s.reason for s in holdings.skipped}
    assert reasons[16] == "not holdings (section Trades)"
    assert reasons[22] == "not holdings (section Codes)"
    assert "SubTotal" in reasons[13] and "Total" in reasons[14]


def test_foreign_currency_is_flagged() -> None:
    text = (
        "Open Positions,Header,DataDiscriminator,Asset Category,Currency,Symbol,Quantity,Mult,"
        "Close Price,Value\n"
        "Open Positions,Data,Summary,Stocks,EUR,SAP,10,1,200,2000\n"
        "Open Positions,Data,Summary,Equity and Index Options,USD,AAPL  250117C00200000,1,100,"
        "5.5,550\n"
    )
    h = read_holdings(text)
    assert any("EUR" in i.message for i in h.issues)
    option = next(p for p in h.positions if p.symbol.startswith("AAPL "))
    assert option.market_value == 550 and option.price == 550  # multiplier folded into price
    assert not [i for i in h.issues if i.severity == "info"]


def test_account_column_wins_over_account_information() -> None:
    text = (
        "Account Information,Header,Field Name,Field Value\n"
        "Account Information,Data,Account,U1\n"
        "Open Positions,Header,DataDiscriminator,Account,Asset Category,Currency,Symbol,Quantity,"
        "Close Price,Value\n"
        "Open Positions,Data,Summary,U2,Stocks,USD,AAPL,1,200,200\n"
        "Open Positions,Data,Summary,,Stocks,USD,MSFT,1,500,500\n"
    )
    h = read_holdings(text)
    assert [(p.account, p.symbol) for p in h.positions] == [("U2", "AAPL"), ("U1", "MSFT")]


def test_statement_without_open_positions_is_unreadable() -> None:
    from portfolio.models import UnreadableFileError

    text = "Statement,Header,Field Name,Field Value\nStatement,Data,Title,Activity Statement\n"
    with pytest.raises(UnreadableFileError, match="Open Positions"):
        read_holdings(text, "statement.csv")
