"""Schwab "Positions" exports: single-account and all-accounts files, 2025 header spellings."""

from __future__ import annotations

from pathlib import Path

from portfolio.importers import read_holdings
from portfolio.models import Holdings, Position

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "import"


def by_symbol(holdings: Holdings) -> dict[tuple[str, str], Position]:
    return {(p.account, p.symbol): p for p in holdings.positions}


def test_single_account_padded_title_crlf_and_2025_headers() -> None:
    data = (FIXTURES / "schwab_single.csv").read_bytes()
    assert b"\r\n" in data and b',""' in data.splitlines()[0]
    h = read_holdings(data, "Individual-Positions-2025-06-30.csv")
    assert h.format == "schwab"
    assert h.accounts == ["Individual ...987"]
    pos = by_symbol(h)
    aapl = pos[("Individual ...987", "AAPL")]
    # `Qty (Quantity)` and `Mkt Val (Market Value)` are read by name; `Price Chng %` is not price.
    assert (aapl.quantity, aapl.price, aapl.market_value) == (10, 200, 2000)
    assert aapl.cost_basis == 1500
    assert aapl.lines == [4]


def test_cash_and_cash_investments_is_a_cash_position_not_a_summary() -> None:
    h = read_holdings(FIXTURES / "schwab_single.csv")
    cash = by_symbol(h)[("Individual ...987", "CASH")]
    assert cash.is_cash and cash.asset_class == "cash"
    assert (cash.quantity, cash.price, cash.market_value) == (1000, 1.0, 1000)
    assert h.total_value == 5000
    (total,) = [s for s in h.skipped if "Account Total" in s.reason]
    assert total.line == 8 and total.raw.startswith('"Account Total"')


def test_trailing_comma_gives_no_field_count_error() -> None:
    h = read_holdings(FIXTURES / "schwab_single.csv")
    assert not [i for i in h.issues if i.severity == "error"]


def test_security_type_only_when_reference_data_is_silent() -> None:
    h = read_holdings(FIXTURES / "schwab_single.csv")
    pos = by_symbol(h)
    assert pos[("Individual ...987", "VTI")].asset_class == "us_equity"  # reference data
    zzzq = pos[("Individual ...987", "ZZZQ")]
    assert zzzq.asset_class == "us_equity"  # Security Type "Equity"
    (warn,) = [i for i in h.issues if i.severity == "warning"]
    assert warn.message.startswith("ZZZQ is not in the reference data; kept")
    assert warn.line == 6


def test_all_accounts_file_labels_each_block() -> None:
    h = read_holdings(FIXTURES / "schwab_all.csv")
    assert h.format == "schwab"
    assert h.accounts == ["Individual_Brokerage ...123", "Roth Contributory IRA ...456"]
    pos = by_symbol(h)
    assert pos[("Individual_Brokerage ...123", "MSFT")].market_value == 2000
    assert pos[("Individual_Brokerage ...123", "CASH")].market_value == 500
    assert pos[("Roth Contributory IRA ...456", "BND")].quantity == 10
    reasons = {s.line: s.reason for s in h.skipped}
    assert "Account Total" in reasons[7] and "Account Total" in reasons[12]
    assert "Roth Contributory IRA ...456" in reasons[9]
    assert reasons[10] == "column header"
    assert h.cash_value == 500


def test_format_is_read_from_content_not_filename() -> None:
    data = (FIXTURES / "schwab_all.csv").read_bytes()
    assert read_holdings(data, "Portfolio_Positions_Jun-30-2025.csv").format == "schwab"


def test_account_headings_survive_blank_lines_before_the_header() -> None:
    text = (
        "Positions for All-Accounts as of 1:00 PM ET, 2025/06/30\n\n"
        "Joint ...111\n\n"
        "Symbol,Quantity,Price,Market Value\nAAPL,1,200,200\n"
        "Account Total,--,--,200\n\n"
        "IRA ...222\n\n"
        "Symbol,Quantity,Price,Market Value\nMSFT,1,500,500\n"
    )
    h = read_holdings(text)
    assert [(p.account, p.symbol) for p in h.positions] == [
        ("Joint ...111", "AAPL"),
        ("IRA ...222", "MSFT"),
    ]


def test_loose_text_above_a_plain_header_is_not_an_account() -> None:
    h = read_holdings("Holdings report\n\nSymbol,Quantity,Price\nAAPL,1,200\n")
    assert h.accounts == ["Account"]


def test_the_title_lines_date_is_the_books_as_of_date() -> None:
    """Schwab's title states the positions' date; it becomes the engine's default trade date."""
    from datetime import date
    from pathlib import Path

    from portfolio.importers import read_holdings

    samples = Path(__file__).resolve().parent.parent / "data" / "samples"
    for name in ("schwab_all_accounts.csv", "schwab_single_account.csv"):
        assert read_holdings(samples / name).as_of == date(2025, 6, 30), name
    text = (
        '"Positions for account Roth IRA ...9 as of 08:15 PM ET, 2025/01/17"\n\nSymbol,Quantity\n'
    )
    text += "VTI,10\n"
    assert read_holdings(text).as_of == date(2025, 1, 17)
    assert read_holdings("Symbol,Quantity\nVTI,10\n").as_of is None
